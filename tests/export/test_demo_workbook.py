"""The demo night's workbook (written by the streamed exports inside the real night) reads back
cell for cell as the cell-at-a-time reference writer writes the same tables, and each sheet
holds exactly its CSV's rows."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipeline.export import WORKBOOK_NAME
from tests.export.reference import reference_workbook
from tests.export.test_streamed_exports import _same_workbooks

pytestmark = pytest.mark.e2e  # a whole demo night (shared with the other demo tests)


def parquet_tables(exports: Path, names: list[str]) -> dict[str, pd.DataFrame]:
    """The night's tables back from its Parquet files, as Python values (Decimal, date, str)."""
    tables = {}
    for name in names:
        table = pq.read_table(exports / f"{name}.parquet")
        tables[name] = pd.DataFrame(
            {c: pd.Series(table.column(c).to_pylist(), dtype=object) for c in table.column_names}
        )
    return tables


def check_exports(exports: Path, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    names = load_workbook(exports / WORKBOOK_NAME, read_only=True).sheetnames
    assert names and {f"{n}.csv" for n in names} <= {p.name for p in exports.glob("*.csv")}
    for name in names:
        with (exports / f"{name}.csv").open(newline="") as fh:
            assert (
                sum(1 for _ in csv.reader(fh)) - 1
                == pq.read_metadata(exports / f"{name}.parquet").num_rows
            ), name
    reference = reference_workbook(parquet_tables(exports, names), tmp_path / "reference.xlsx")
    _same_workbooks(exports / WORKBOOK_NAME, reference)


def test_demo_workbook_equals_the_reference(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    out, proc = demo_run
    assert proc.returncode == 0, proc.stderr[-2000:]
    check_exports(out / "exports", tmp_path)
