"""Tables handed to the exports as reconciliation makes them (``reconcile(sink=...)``) make the
same files as the whole result written at the end, and the workbook lists its sheets in the
export order whatever order the tables came in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from pipeline.export import WORKBOOK_NAME, ExportWriter, write_exports
from pipeline.export.xlsx import XlsxBook
from pipeline.reconcile import TABLES, ReconcileResult
from tests.export.test_streamed_exports import _cells
from tests.reconcile.conftest import scenario_result


def _frame(tag: str, rows: int) -> pd.DataFrame:
    return pd.DataFrame({"trace_number": [f"{tag}{i}" for i in range(rows)], "row": range(rows)})


def test_tables_handed_over_early_write_the_same_exports(
    result: ReconcileResult, tmp_path: Path
) -> None:
    whole = write_exports(result, tmp_path / "whole")
    with ExportWriter(tmp_path / "early", TABLES) as writer:
        early = scenario_result(sink=writer)
        writer.write_all(early.tables)
        paths = writer.finish()

    # the large tables nothing reads again went to the writer, the rest stayed in the result
    assert set(early.handed_over) == {
        "eligibility_summary",
        "reconciliation",
        "ar_claims",
        "payment_posting",
        "pms_posting",
    }
    assert list(early.tables) == [n for n in TABLES if n not in early.handed_over]
    for name, frame in early.tables.items():
        pd.testing.assert_frame_equal(frame, result.tables[name], obj=name)
    assert early.summary == result.summary
    assert early.letters == result.letters

    assert [p.name for p in paths] == [p.name for p in whole]
    for name in TABLES:
        ours, theirs = tmp_path / "early" / f"{name}.csv", tmp_path / "whole" / f"{name}.csv"
        assert ours.read_bytes() == theirs.read_bytes(), name
        mine = pq.read_table(tmp_path / "early" / f"{name}.parquet")
        assert mine.equals(pq.read_table(tmp_path / "whole" / f"{name}.parquet")), name
    book, reference = tmp_path / "early" / WORKBOOK_NAME, tmp_path / "whole" / WORKBOOK_NAME
    assert load_workbook(book).sheetnames == list(TABLES)
    assert _cells(book) == _cells(reference)


def test_sheets_are_listed_in_the_export_order_whatever_order_they_came_in(
    tmp_path: Path,
) -> None:
    frames = {"a": _frame("A", 3), "b": _frame("B", 0), "c": _frame("C", 2), "x": _frame("X", 1)}
    with ExportWriter(tmp_path, ["a", "b", "c"]) as writer:
        for name in ("x", "c", "a", "b"):  # "x" is not in the order: it goes last
            writer(name, frames[name])
        paths = writer.finish()
    assert [p.name for p in paths] == [
        *(f"{n}.{ext}" for n in "abcx" for ext in ("csv", "parquet")),
        WORKBOOK_NAME,
    ]
    wb = load_workbook(tmp_path / WORKBOOK_NAME)
    assert wb.sheetnames == ["a", "b", "c", "x"]
    for name, frame in frames.items():
        rows = list(wb[name].iter_rows(values_only=True))
        assert rows[0] == ("trace_number", "row")
        assert [r[0] for r in rows[1:]] == frame["trace_number"].tolist(), name
        assert wb[name].auto_filter.ref == (f"A1:B{len(frame) + 1}" if len(frame) else None)


def test_a_table_handed_over_twice_is_refused(tmp_path: Path) -> None:
    with ExportWriter(tmp_path, ["a"]) as writer:
        writer("a", _frame("A", 1))
        with pytest.raises(ValueError, match="'a' handed over twice"):
            writer("a", _frame("A", 2))
        writer.finish()
    assert load_workbook(tmp_path / WORKBOOK_NAME)["a"].max_row == 2  # the first one's rows


def test_a_night_that_fails_on_the_way_leaves_the_last_exports_as_they_were(
    tmp_path: Path,
) -> None:
    with ExportWriter(tmp_path, ["a", "b"]) as writer:
        writer.write_all({"a": _frame("A", 1), "b": _frame("B", 1)})
    last = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert set(last) == {"a.csv", "a.parquet", "b.csv", "b.parquet", WORKBOOK_NAME}

    with pytest.raises(RuntimeError), ExportWriter(tmp_path, ["a", "b"]) as writer:
        writer("a", _frame("NEW", 3))  # written before reconciliation failed
        raise RuntimeError("reconciliation failed")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == last  # nothing of its own


def test_the_folder_of_a_night_killed_on_the_way_goes_with_the_next_writer(
    tmp_path: Path,
) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    abandoned = tmp_path / f".writing-{int(gone.stdout)}-x1"
    running = tmp_path / f".writing-{os.getpid()}-x2"  # a live writer's: kept
    for folder in (abandoned, running):
        folder.mkdir()
        (folder / "pms_posting.csv").write_text("half\n")
    with ExportWriter(tmp_path, ["a"]) as writer:
        writer("a", _frame("A", 1))
    assert not abandoned.exists()
    assert (running / "pms_posting.csv").read_text() == "half\n"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [
        "a.csv",
        "a.parquet",
        WORKBOOK_NAME,
    ]


def test_arranging_sheets_needs_each_sheet_once(tmp_path: Path) -> None:
    with XlsxBook(tmp_path / "w.xlsx") as book:
        for name in ("one", "two"):
            with book.sheet(name, ["h"], [8.0], 0):
                pass
        with pytest.raises(ValueError, match=r"not an order of sheets 1\.\.2"):
            book.arrange([1, 1])
        book.arrange([2, 1])
    assert load_workbook(tmp_path / "w.xlsx").sheetnames == ["two", "one"]
