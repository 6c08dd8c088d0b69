"""CSV / Parquet / Excel exports read back exactly (Decimal, not float noise)."""

from __future__ import annotations

import csv
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
