"""The streamed exports read back exactly as the cell-at-a-time writers (tests/export/reference.py)
wrote them: same sheets, values, types and number formats, same CSV bytes, same Parquet; and the
parts only a big night reaches — chunks, Excel's row limit — keep every row."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from pipeline.export import WORKBOOK_NAME, tables, write_exports
from pipeline.export.tables import is_money, write_csv, write_workbook
from pipeline.reconcile import ReconcileResult
from pipeline.reconcile.inputs import records
from tests.export.reference import reference_arrow_column, reference_csv, reference_workbook

D = Decimal


def tricky() -> pd.DataFrame:
    """Every kind of value a result table can hold, and the ones it should not but might."""
    return pd.DataFrame(
        {
            "paid_amount": [D("1.005"), D("-0.004"), None, D("588"), D("9.6"), D("2.675")],
            "charge_amount": [D("1"), 2, None, D("3.5"), 4, D("0")],  # ints among Decimals
            "units": [D("1.5"), D("2"), None, D("0.125"), D("3"), D("1")],
            "coinsurance_rate": [D("0.2"), D("0.15"), None, D("0"), D("1"), D("0.3")],
            "reason": ["=SUM(A1)", "+1", "a & b <c>", "", None, "tab\there\x01"],
            "mixed": ["x", D("1.234"), date(2026, 1, 2), True, 7, ["CO", "45"]],
            "deadline": [
                date(2026, 5, 19),
                None,
                date(2026, 1, 1),
                date(2027, 2, 28),
                None,
                date(2026, 12, 31),
            ],
            "posted_at": [datetime(2026, 5, 19, 13, 45, 30), None, None, None, None, None],
            "appealable": [True, False, None, True, False, True],
            "claims": [1, 2, 3, 4, 5, 6],
            "ratio": [0.5, float("nan"), 1.25, None, 2.0, -1.5],  # floats: text, as before
            "codes": [("CO", "45"), None, ["PR", "1"], None, (), ("OA",)],
            "note": [pd.NA, "ok", pd.NaT, "-3", "@x", " lead and trail "],
        }
    )


def _cells(path: Path) -> dict[str, list[list[tuple[object, str, str]]]]:
    """Every sheet as rows of (value, type, number format); empty cells as (None, '', fmt)."""
    wb = load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        out[ws.title] = [
            [
                (None, "", c.number_format)
                if c.value is None
                else (c.value, c.data_type, c.number_format)
                for c in row
            ]
            for row in ws.iter_rows()
        ]
    return out


def _layout(path: Path) -> dict[str, object]:
    wb = load_workbook(path)
    return {
        ws.title: (
            ws.freeze_panes,
            ws.auto_filter.ref,
            str(ws.print_title_rows).replace("$", ""),
            ws.print_options.gridLines,
            ws.sheet_properties.pageSetUpPr.fitToPage,
            (ws.page_setup.orientation, str(ws.page_setup.paperSize)),
            (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight),
            {k: d.width for k, d in ws.column_dimensions.items()},
            ws.max_row,
            ws.max_column,
        )
        for ws in wb.worksheets
    }


def _same_workbooks(ours: Path, reference: Path) -> None:
    assert load_workbook(ours).sheetnames == load_workbook(reference).sheetnames
    assert _cells(ours) == _cells(reference)
    assert _layout(ours) == _layout(reference)


def _same_parquet(frame: pd.DataFrame, path: Path) -> None:
    table = pq.read_table(path)
    rows = records(frame)
    for column in frame.columns:
        expected = reference_arrow_column([r[str(column)] for r in rows], is_money(str(column)))
        assert table.schema.field(str(column)).type == expected.type, column
        assert table.column(str(column)).to_pylist() == expected.to_pylist(), column


def test_tricky_values_read_back_as_the_reference_wrote_them(tmp_path: Path) -> None:
    frame = tricky()
    ours = write_workbook({"t": frame}, tmp_path / "ours.xlsx")
    # openpyxl refused a control character outright; the stream drops it (test below)
    cleaned = frame.replace({"reason": {"tab\there\x01": "tab\there"}})
    _same_workbooks(ours, reference_workbook({"t": cleaned}, tmp_path / "ref.xlsx"))
    csv_path = write_csv(frame, tmp_path / "ours.csv")
    assert csv_path.read_bytes() == reference_csv(frame, tmp_path / "ref.csv").read_bytes()
    tables.write_parquet(frame, tmp_path / "ours.parquet")
    _same_parquet(frame, tmp_path / "ours.parquet")


def test_text_cells_are_escaped_and_never_formulas(tmp_path: Path) -> None:
    frame = tricky()
    ws = load_workbook(write_workbook({"t": frame}, tmp_path / "t.xlsx"))["t"]
    reason = [ws.cell(row=r, column=5) for r in range(2, 8)]
    assert [(c.value, c.data_type) for c in reason[:3]] == [
        ("=SUM(A1)", "s"),
        ("+1", "s"),
        ("a & b <c>", "s"),
    ]
    assert reason[5].value == "tab\there"  # a control character XML cannot hold is dropped
    assert ws.cell(row=7, column=13).value == " lead and trail "  # spaces kept


def test_half_cents_round_up_in_every_file(tmp_path: Path) -> None:
    frame = pd.DataFrame({"paid_amount": [D("2.675"), D("1.005"), D("-0.005")]})
    result = ReconcileResult(as_of=date(2026, 1, 1), tables={"t": frame})
    write_exports(result, tmp_path)
    want = ["2.68", "1.01", "-0.01"]
    assert (tmp_path / "t.csv").read_text().split()[1:] == want
    parquet = pq.read_table(tmp_path / "t.parquet").column("paid_amount").to_pylist()
    assert [str(v) for v in parquet] == want
    ws = load_workbook(tmp_path / WORKBOOK_NAME)["t"]
    assert [str(ws.cell(row=r, column=1).value) for r in (2, 3, 4)] == want


def test_scenario_exports_equal_the_reference(result: ReconcileResult, tmp_path: Path) -> None:
    write_exports(result, tmp_path / "ours")
    _same_workbooks(
        tmp_path / "ours" / WORKBOOK_NAME,
        reference_workbook(result.tables, tmp_path / "ref.xlsx"),
    )
    for name, frame in result.tables.items():
        ours = (tmp_path / "ours" / f"{name}.csv").read_bytes()
        assert ours == reference_csv(frame, tmp_path / f"{name}.csv").read_bytes(), name
        _same_parquet(frame, tmp_path / "ours" / f"{name}.parquet")


def test_small_chunks_write_the_same_files(
    result: ReconcileResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_exports(result, tmp_path / "whole")
    monkeypatch.setattr(tables, "CHUNK_CELLS", 2)  # a row at a time
    monkeypatch.setattr(tables, "PARQUET_ROW_GROUP", 3)
    write_exports(result, tmp_path / "chunks")
    for name in result.tables:
        for suffix in ("csv",):
            whole = (tmp_path / "whole" / f"{name}.{suffix}").read_bytes()
            assert whole == (tmp_path / "chunks" / f"{name}.{suffix}").read_bytes(), name
        whole_table = pq.read_table(tmp_path / "whole" / f"{name}.parquet")
        assert whole_table.equals(pq.read_table(tmp_path / "chunks" / f"{name}.parquet")), name
    assert _cells(tmp_path / "whole" / WORKBOOK_NAME) == _cells(tmp_path / "chunks" / WORKBOOK_NAME)


def test_text_made_a_row_at_a_time_writes_the_same_bytes(
    result: ReconcileResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tables_with_tricky = {**result.tables, "tricky": tricky()}
    whole = ReconcileResult(as_of=result.as_of, tables=tables_with_tricky)
    write_exports(whole, tmp_path / "whole")
    monkeypatch.setattr(tables, "PIECE_CELLS", 2)  # CSV and sheet text a row at a time
    write_exports(whole, tmp_path / "pieces")
    for name in tables_with_tricky:
        for suffix in ("csv", "parquet"):  # Parquet batches are CHUNK_CELLS: the same bytes
            ours = (tmp_path / "pieces" / f"{name}.{suffix}").read_bytes()
            assert ours == (tmp_path / "whole" / f"{name}.{suffix}").read_bytes(), name
    with (
        zipfile.ZipFile(tmp_path / "whole" / WORKBOOK_NAME) as a,
        zipfile.ZipFile(tmp_path / "pieces" / WORKBOOK_NAME) as b,
    ):
        assert a.namelist() == b.namelist()
        assert all(a.read(n) == b.read(n) for n in a.namelist())  # every part, byte for byte


def test_a_table_past_the_sheet_limit_continues_on_further_sheets(tmp_path: Path) -> None:
    frame = pd.DataFrame({"line": range(7), "paid_amount": [D(n) for n in range(7)]})
    path = write_workbook(
        {"pms_posting": frame, "deposits": frame.head(2)}, tmp_path / "w.xlsx", sheet_rows=3
    )
    wb = load_workbook(path)
    assert wb.sheetnames == ["pms_posting", "pms_posting (2)", "pms_posting (3)", "deposits"]
    back = []
    for ws in wb.worksheets[:3]:
        rows = list(ws.iter_rows(values_only=True))
        assert rows[0] == ("line", "paid_amount")  # every part has the header
        assert ws.print_title_rows in ("1:1", "$1:$1") and ws.freeze_panes == "A2"
        assert ws.page_setup.orientation == "landscape"
        back += [r[0] for r in rows[1:]]
    assert back == list(range(7))  # every row, once, in order
    assert [len(list(ws.iter_rows())) for ws in wb.worksheets] == [4, 4, 2, 3]


def test_an_empty_table_is_a_header_row(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"trace_number": pd.Series([], dtype=object), "paid_amount": pd.Series([], dtype=object)}
    )
    result = ReconcileResult(as_of=date(2026, 1, 1), tables={"unmatched": frame})
    write_exports(result, tmp_path)
    assert (tmp_path / "unmatched.csv").read_bytes() == b"trace_number,paid_amount\r\n"
    table = pq.read_table(tmp_path / "unmatched.parquet")
    assert table.num_rows == 0 and table.schema.field("paid_amount").type == pa.string()
    ws = load_workbook(tmp_path / WORKBOOK_NAME)["unmatched"]
    assert [c.value for c in ws[1]] == ["trace_number", "paid_amount"] and ws.max_row == 1


# CT_Worksheet's sequence (ECMA-376 Part 1, 18.3.1.99): Excel refuses a sheet whose parts are
# out of this order, where openpyxl would read it anyway.
_SHEET_ORDER = [
    "sheetPr",
    "dimension",
    "sheetViews",
    "sheetFormatPr",
    "cols",
    "sheetData",
    "autoFilter",
    "printOptions",
    "pageMargins",
    "pageSetup",
]


def test_every_part_is_well_formed_and_in_schema_order(tmp_path: Path) -> None:
    import zipfile

    from lxml import etree

    path = write_workbook({"t": tricky(), "empty": tricky().head(0)}, tmp_path / "t.xlsx")
    with zipfile.ZipFile(path) as book:
        names = set(book.namelist())
        assert {"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/styles.xml"} <= names
        for name in names:
            root = etree.fromstring(book.read(name))  # raises on malformed XML
            if name.startswith("xl/worksheets/"):
                children = [etree.QName(child).localname for child in root]
                assert children == sorted(children, key=_SHEET_ORDER.index), name
