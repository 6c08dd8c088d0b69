"""The pandas-free Arrow column builders give exactly what ``pyarrow.array`` gives."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.parse.arrow import arrow_column
from tests.parse.make_samples import SAMPLES

DECIMAL = pa.decimal128(38, 10)


def _same(values: Any, arrow_type: pa.DataType) -> None:
    ours = arrow_column(values, arrow_type)
    assert ours.equals(pa.array(values, type=arrow_type))
    ours.validate(full=True)


@pytest.mark.parametrize(
    "values",
    [
        ("", "", ""),
        ("PCN1", "", "Müller", "PCN1", "日本"),  # non-ASCII: UTF-8 lengths, not characters
        ("a\x1fb", "c"),  # the separator inside a value
        (None, "x", None),
        (None, None),
        ("only",),
    ],
)
def test_strings(values: tuple[Any, ...]) -> None:
    _same(values, pa.string())


def test_decimals_share_objects_and_keep_nulls() -> None:
    fifty, zero = D("50"), D("0.00")
    values = (fifty, None, zero, fifty, D("-12.50"), D("1E+3"), D("50.0"), None)
    _same(values, DECIMAL)
    assert arrow_column(values, DECIMAL).to_pylist()[6] == D("50")


@pytest.mark.parametrize(
    "values",
    [
        (D("0.00000000001"),),  # more places than the column keeps
        (D("NaN"),),
        (D("1E+40"),),  # more digits than decimal128(38, 10) holds
    ],
)
def test_decimals_pyarrow_refuses_are_still_refused(values: tuple[D, ...]) -> None:
    with pytest.raises(pa.ArrowInvalid):
        pa.array(values, type=DECIMAL)
    with pytest.raises(pa.ArrowInvalid):
        arrow_column(values, DECIMAL)


def test_integers_and_booleans() -> None:
    _same((1, None, 3, 2**40), pa.int64())
    _same((None, None), pa.int64())
    _same((True, None, False, True), pa.bool_())
    _same((1.0, 2), pa.int64())  # not all ints: pyarrow's converter decides


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.none() | st.text(max_size=6), min_size=1, max_size=40),
    st.lists(
        st.none() | st.decimals(min_value=-(10**12), max_value=10**12, places=2, allow_nan=False),
        min_size=1,
        max_size=40,
    ),
    st.lists(st.none() | st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=40),
)
def test_any_column_matches_pyarrow(
    texts: list[str | None], amounts: list[D | None], numbers: list[int | None]
) -> None:
    _same(tuple(texts), pa.string())
    _same(tuple(amounts), DECIMAL)
    _same(tuple(numbers), pa.int64())


def test_parse_to_parquet_never_imports_pandas(tmp_path: Path) -> None:
    """A quarter of a second of start-up: pyarrow.array would import pandas."""
    script = (
        "import sys; from pathlib import Path; from pipeline.parse.commands import parse_command;"
        f"assert parse_command([Path({str(SAMPLES / 'remit_oon.835')!r})], "
        f"out=Path({str(tmp_path)!r}), fmt='parquet') == 0;"
        "assert 'pandas' not in sys.modules, 'pandas imported'"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "remit_claims.parquet").exists()
