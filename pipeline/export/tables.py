"""Result tables → CSV (decimal strings), Parquet (decimal128) and one Excel workbook.

One amount type everywhere: money is :class:`~decimal.Decimal` with scale 2 to the file (half
up) — CSV always writes two decimals (``9.60``, ``588.00``), Parquet ``decimal128(18, 2)``,
Excel a number (openpyxl writes the Decimal's own digits, never a float round trip) in a
currency format. Rates, units and percents are not money: they keep their own scale.

Text that a spreadsheet would run as a formula — any cell starting with ``=``, ``+``, ``-``,
``@`` (or a tab / carriage return), which an 835 or the practice data may well contain — is
written as text: CSV prefixes a ``'``, Excel stores a string cell. The workbook prints
landscape, fitted to the page width, with the header row repeated on every page.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from pipeline.reconcile.expected import cents
from pipeline.reconcile.inputs import records

__all__ = [
    "WORKBOOK_NAME",
    "column_kind",
    "is_money",
    "safe_text",
    "write_csv",
    "write_exports",
    "write_parquet",
]

WORKBOOK_NAME = "claimflow.xlsx"
CURRENCY_FORMAT = '"$"#,##0.00;[Red]-"$"#,##0.00'
_RATE_COLUMNS = {"coinsurance_rate", "in_network_coinsurance", "out_of_network_coinsurance"}
# Decimal columns that are counts, units, days or percents (by name or name part), not money.
_PLAIN_NAMES = frozenset(
    {"claims", "denials", "lines", "count", "remittances", "priority_score", "quantity"}
)
_PLAIN_PARTS = ("units", "percent", "_days", "days_")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def is_money(column: str) -> bool:
    """A Decimal column that holds dollars (not a rate, units or a percent)."""
    return (
        column not in _RATE_COLUMNS
        and column not in _PLAIN_NAMES
        and not any(part in column for part in _PLAIN_PARTS)
    )


def safe_text(text: str) -> str:
    """Text a spreadsheet would read as a formula gets a leading ``'``."""
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def _decimal_text(value: Decimal, money: bool) -> str:
    return f"{cents(value):.2f}" if money else format(value, "f")


def _cell_text(value: object, money: bool = True) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return _decimal_text(value, money)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return str(value)


def _csv_cell(value: object, money: bool) -> str:
    text = _cell_text(value, money)
    return text if isinstance(value, (Decimal, int, date)) else safe_text(text)


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    money = {str(c): is_money(str(c)) for c in frame.columns}
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(list(frame.columns))
        for row in records(frame):
            writer.writerow([_csv_cell(row[c], money[str(c)]) for c in frame.columns])
    return path


def column_kind(values: Iterable[object]) -> str:
    """decimal | date | bool | int | text, from the non-empty values."""
    kinds = set()
    for v in values:
        if v is None:
            continue
        if isinstance(v, bool):
            kinds.add("bool")
        elif isinstance(v, Decimal):
            kinds.add("decimal")
        elif isinstance(v, datetime):
            kinds.add("text")
        elif isinstance(v, date):
            kinds.add("date")
        elif isinstance(v, int):
            kinds.add("int")
        else:
            kinds.add("text")
    if kinds == {"int", "decimal"}:
        return "decimal"
    return kinds.pop() if len(kinds) == 1 else "text"


def _arrow_column(values: list[Any], money: bool = True) -> pa.Array:
    kind = column_kind(values)
    if kind == "decimal":
        scale = 2
        if not money:  # a rate or units: its own digits, at least two
            scale = max(
                (max(-int(Decimal(v).as_tuple().exponent), 2) for v in values if v is not None),
                default=2,
            )
        quantum = Decimal(1).scaleb(-scale)
        fixed = [None if v is None else Decimal(v).quantize(quantum) for v in values]
        return pa.array(fixed, type=pa.decimal128(18, scale))
    if kind == "date":
        return pa.array(values, type=pa.date32())
    if kind == "bool":
        return pa.array(values, type=pa.bool_())
    if kind == "int":
        return pa.array(values, type=pa.int64())
    return pa.array([None if v is None else _cell_text(v) for v in values], type=pa.string())


def write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    rows = records(frame)
    arrays = [_arrow_column([r[c] for r in rows], is_money(str(c))) for c in frame.columns]
    table = pa.Table.from_arrays(arrays, names=[str(c) for c in frame.columns])
    pq.write_table(table, path)
    return path


def _number_format(column: str, kind: str) -> str | None:
    if kind == "date":
        return "yyyy-mm-dd"
    if kind != "decimal":
        return None
    if column in _RATE_COLUMNS:
        return "0%"
    if not is_money(column):
        return "0.##"
    return CURRENCY_FORMAT


def _write_sheet(wb: Workbook, name: str, frame: pd.DataFrame) -> None:
    ws = wb.create_sheet(title=name[:31])
    columns = [str(c) for c in frame.columns]
    ws.append(columns)
    for cell in ws[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="1F5F99")
        cell.alignment = Alignment(vertical="center")
    rows = records(frame)
    money = {c: is_money(c) for c in columns}
    for r, row in enumerate(rows, start=2):
        for i, column in enumerate(columns, start=1):
            cell = ws.cell(row=r, column=i, value=_excel_value(row[column], money[column]))
            if isinstance(cell.value, str) and cell.value.startswith(_FORMULA_START):
                cell.data_type = "s"  # text, never a formula
    for i, column in enumerate(columns, start=1):
        values = [r[column] for r in rows]
        kind = column_kind(values)
        fmt = _number_format(column, kind)
        letter = get_column_letter(i)
        if fmt:
            for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                cell.number_format = fmt
        longest = max([len(column), *(len(_cell_text(v, money[column])) for v in values[:500])])
        ws.column_dimensions[letter].width = min(max(longest + 2, 8), 60)
    ws.freeze_panes = "A2"
    if rows:
        ws.auto_filter.ref = ws.dimensions
    _print_setup(ws)


def _print_setup(ws: Any) -> None:
    """Landscape, every column on the page width, the header row on every page."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_LETTER
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    ws.print_options.gridLines = True


def _excel_value(value: object, money: bool = True) -> object:
    if isinstance(value, Decimal):
        return cents(value) if money else value  # its own digits (no float repr)
    if value is None or isinstance(value, (bool, int, date, datetime)):
        return value
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return str(value)


def write_workbook(tables: Mapping[str, pd.DataFrame], path: Path) -> Path:
    wb = Workbook()
    if wb.active is not None:
        wb.remove(wb.active)
    for name, frame in tables.items():
        _write_sheet(wb, name, frame)
    wb.save(path)
    return path


def write_exports(result: Any, out_dir: Path) -> list[Path]:
    """Every table of ``result`` (a ReconcileResult) as CSV and Parquet, plus the workbook."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    tables: Mapping[str, pd.DataFrame] = result.tables
    for name, frame in tables.items():
        written.append(write_csv(frame, out_dir / f"{name}.csv"))
        written.append(write_parquet(frame, out_dir / f"{name}.parquet"))
    written.append(write_workbook(tables, out_dir / WORKBOOK_NAME))
    return written
