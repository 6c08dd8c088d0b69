"""CSV / Parquet / Excel exports read back exactly (Decimal, not float noise)."""

from __future__ import annotations

import csv
import re
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from pipeline.export import WORKBOOK_NAME, write_exports
from pipeline.reconcile import TABLES, ReconcileResult

REQUIRED = {
    "payment_posting",
    "reconciliation",
    "flags",
    "underpayments",
    "denials",
    "appeal_worklist",
    "ar_aging",
    "eligibility_summary",
    "patient_estimates",
}


@pytest.fixture(scope="module")
def exported(result: ReconcileResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("exports")
    written = write_exports(result, out)
    assert len(written) == 2 * len(result.tables) + 1
    return out


def test_every_table_as_csv_and_parquet(result: ReconcileResult, exported: Path) -> None:
    assert set(result.tables) >= REQUIRED and set(TABLES) == set(result.tables)
    for name in result.tables:
        assert (exported / f"{name}.csv").is_file()
        assert (exported / f"{name}.parquet").is_file()


def test_csv_amounts_are_decimal_strings(exported: Path) -> None:
    with (exported / "flags.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    a2 = next(r for r in rows if r["patient_control_number"] == "A2" and r["flag"] == "underpaid")
    assert (a2["expected_amount"], a2["paid_amount"], a2["amount_at_stake"]) == (
        "147.59",
        "130.00",
        "17.59",
    )
    assert a2["line_control_number"] == "A2-1" and a2["deadline"] == "2026-05-19"
    pr = next(r for r in rows if r["flag"] == "patient_responsibility")
    assert pr["line_control_number"] == ""  # claim level


def test_parquet_keeps_decimals(result: ReconcileResult, exported: Path) -> None:
    table = pq.read_table(exported / "flags.parquet")
    assert pa.types.is_decimal(table.schema.field("amount_at_stake").type)
    assert pa.types.is_date32(table.schema.field("deadline").type)
    back = table.to_pandas()
    original = result.tables["flags"]
    assert list(back.amount_at_stake) == list(original.amount_at_stake)
    posting = pq.read_table(exported / "payment_posting.parquet").to_pandas()
    assert sum(posting.paid_amount, Decimal(0)) == sum(
        result.tables["payment_posting"].paid_amount, Decimal(0)
    )


def test_workbook_has_every_sheet_with_exact_money(result: ReconcileResult, exported: Path) -> None:
    wb = load_workbook(exported / WORKBOOK_NAME)
    assert wb.sheetnames == list(result.tables)
    for name, frame in result.tables.items():
        ws = wb[name]
        header = [c.value for c in ws[1]]
        assert header == list(frame.columns), name
        assert ws.max_row == len(frame) + 1, name
    ws = wb["flags"]
    col = [c.value for c in ws[1]].index("amount_at_stake") + 1
    sheet_values = [ws.cell(row=r, column=col).value for r in range(2, ws.max_row + 1)]
    for cell_value, original in zip(
        sheet_values, result.tables["flags"].amount_at_stake, strict=True
    ):
        assert isinstance(cell_value, (int, float))  # a number, not text
        assert Decimal(str(cell_value)) == original  # exact to the cent
    assert "$" in ws.cell(row=2, column=col).number_format
    aging = wb["ar_aging"]
    assert [c.value for c in aging["A"]][-1] == "TOTAL"
    deadline_col = [c.value for c in ws[1]].index("deadline") + 1
    assert ws.cell(row=3, column=deadline_col).number_format == "yyyy-mm-dd"


def _csv(exported: Path, name: str) -> list[dict[str, str]]:
    with (exported / f"{name}.csv").open() as fh:
        return list(csv.DictReader(fh))


MONEY = ("charge_amount", "paid_amount", "amount_at_stake", "expected_allowed", "ar_balance")


def test_money_has_two_decimals_in_every_file(exported: Path) -> None:
    # Before: 588 and 9.6 in CSV, decimal128(18, 0) for charge_amount in Parquet.
    for name in ("reconciliation", "flags", "ar_claims", "deposits", "payment_posting"):
        for row in _csv(exported, name):
            for column in MONEY:
                value = row.get(column) or ""
                if value:
                    assert re.fullmatch(r"-?\d+\.\d\d", value), (name, column, value)
        schema = pq.read_table(exported / f"{name}.parquet").schema
        for column in MONEY:
            if column in schema.names and pa.types.is_decimal(schema.field(column).type):
                assert schema.field(column).type == pa.decimal128(18, 2), (name, column)
    assert pq.read_table(exported / "reconciliation.parquet").schema.field(
        "charge_amount"
    ).type == pa.decimal128(18, 2)


def test_eligibility_amounts_are_numbers_in_excel(exported: Path) -> None:
    ws = load_workbook(exported / WORKBOOK_NAME)["eligibility_summary"]
    header = [c.value for c in ws[1]]
    cell = ws.cell(row=2, column=header.index("in_network_deductible_remaining") + 1)
    assert isinstance(cell.value, (int, float)) and "$" in cell.number_format


def test_workbook_print_setup(exported: Path) -> None:
    wb = load_workbook(exported / WORKBOOK_NAME)
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0), ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws.print_title_rows in ("1:1", "$1:$1"), ws.title


def test_cells_that_look_like_formulas_are_written_as_text(tmp_path: Path) -> None:
    import pandas as pd

    from pipeline.export.tables import write_csv, write_workbook

    evil = ['=HYPERLINK("http://x","pay")', "+1+2", "-3+4", "@SUM(A1)", "plain"]
    frame = pd.DataFrame({"reason": evil, "amount": [Decimal("-1.5")] * 5})
    with (write_csv(frame, tmp_path / "t.csv")).open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["reason"] for r in rows] == [f"'{t}" for t in evil[:4]] + ["plain"]
    assert {r["amount"] for r in rows} == {"-1.50"}  # a negative number stays a number
    ws = load_workbook(write_workbook({"t": frame}, tmp_path / "t.xlsx"))["t"]
    for r, text in enumerate(evil, start=2):
        cell = ws.cell(row=r, column=1)
        assert (cell.value, cell.data_type) == (text, "s")  # the text itself, never a formula
        assert ws.cell(row=r, column=2).value == -1.5


def test_pms_posting_file_adds_up_per_line_and_per_deposit(result: ReconcileResult) -> None:
    pms = result.tables["pms_posting"]
    lines = pms[pms.line_control_number != ""]
    posting = result.tables["payment_posting"]
    charged = posting[posting.entry == "line"].groupby(["claim_key", "line_control_number"])
    for (key, lcn), group in charged:
        rows = lines[(lines.claim_key == key) & (lines.line_control_number == lcn)]
        assert sum(rows.amount, Decimal(0)) == sum(group.charge_amount, Decimal(0)), (key, lcn)
    deposits = result.tables["deposits"].set_index("trace_number")
    for trace, group in pms[pms.record_type.isin(["PAY", "PLB"])].groupby("check_number"):
        assert sum(group.amount, Decimal(0)) == deposits.loc[trace, "posted_total"], trace
