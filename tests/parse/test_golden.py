"""Each sample in sample_edi/x12 parses to its golden tables, cell by cell."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from pipeline.parse import COLUMNS, parse_file
from tests.parse.make_samples import GOLDEN, SAMPLES, SAMPLES_BUILDERS

NAMES = sorted(SAMPLES_BUILDERS)


def _as_csv_strings(frame: pd.DataFrame) -> pd.DataFrame:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    buffer.seek(0)
    return pd.read_csv(buffer, dtype=str, keep_default_na=False)


@pytest.mark.parametrize("name", NAMES)
def test_sample_file_is_what_the_generator_writes(name: str) -> None:
    # The committed sample must be reproducible from make_samples.py.
    assert (SAMPLES / name).read_text(encoding="ascii") == SAMPLES_BUILDERS[name]()


@pytest.mark.parametrize("name", NAMES)
def test_sample_matches_golden_tables(name: str) -> None:
    result = parse_file(SAMPLES / name, name=f"sample_edi/x12/{name}")
    folder = GOLDEN / name.replace(".", "_")
    assert sorted(result.tables) == sorted(p.stem for p in folder.glob("*.csv"))
    for table, frame in result.tables.items():
        assert list(frame.columns) == COLUMNS[table]
        got = _as_csv_strings(frame)
        expected = pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)
        assert list(got.columns) == list(expected.columns), table
        assert len(got) == len(expected), f"{table}: {len(got)} rows, golden has {len(expected)}"
        for i in range(len(expected)):
            for column in expected.columns:
                assert got.at[i, column] == expected.at[i, column], (
                    f"{name} {table} row {i} column {column}: "
                    f"{got.at[i, column]!r} != golden {expected.at[i, column]!r}"
                )


def test_amounts_are_decimal_objects_in_memory() -> None:
    result = parse_file(SAMPLES / "remit_oon.835")
    claims = result.tables["remit_claims"]
    assert all(isinstance(v, Decimal) for v in claims["charge_amount"])
    assert claims["charge_amount"].tolist()[3] == Decimal("-300")
    plb = result.tables["remit_provider_adjustments"]
    assert plb["amount"].tolist() == [Decimal("-12.50"), Decimal("-3.00"), Decimal("10.00")]


def test_golden_folder_has_no_stale_samples() -> None:
    folders = {p.name for p in GOLDEN.iterdir() if p.is_dir()}
    assert folders == {n.replace(".", "_") for n in NAMES}
    assert all(isinstance(p, Path) for p in SAMPLES.iterdir())
