"""Result tables → CSV (decimal strings), Parquet (decimal128) and one Excel workbook.

Money stays :class:`~decimal.Decimal` to the file: CSV writes ``format(d, "f")``; Parquet
gets ``decimal128(18, scale)`` with the column's largest scale; Excel gets a number (openpyxl
writes the Decimal's own digits) with a currency format — never a float round trip.
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

from pipeline.reconcile.inputs import records

__all__ = ["WORKBOOK_NAME", "column_kind", "write_csv", "write_exports", "write_parquet"]

WORKBOOK_NAME = "claimflow.xlsx"
CURRENCY_FORMAT = '"$"#,##0.00;[Red]-"$"#,##0.00'
_RATE_COLUMNS = {"coinsurance_rate", "in_network_coinsurance", "out_of_network_coinsurance"}
_PLAIN_NUMBER = ("units", "percent", "quantity", "priority_score", "days", "claims", "denials")


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return str(value)


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(list(frame.columns))
        for row in records(frame):
            writer.writerow([_cell_text(row[c]) for c in frame.columns])
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


def _arrow_column(values: list[Any]) -> pa.Array:
    kind = column_kind(values)
    if kind == "decimal":
        scale = max(
            (max(-int(v.as_tuple().exponent), 0) for v in values if v is not None), default=2
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
    arrays = [_arrow_column([r[c] for r in rows]) for c in frame.columns]
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
    if any(word in column for word in _PLAIN_NUMBER):
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
    for row in rows:
        ws.append([_excel_value(row[c]) for c in columns])
    for i, column in enumerate(columns, start=1):
        values = [r[column] for r in rows]
        kind = column_kind(values)
        fmt = _number_format(column, kind)
        letter = get_column_letter(i)
        if fmt:
            for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                cell.number_format = fmt
        longest = max([len(column), *(len(_cell_text(v)) for v in values[:500])])
        ws.column_dimensions[letter].width = min(max(longest + 2, 8), 60)
    ws.freeze_panes = "A2"
    if rows:
        ws.auto_filter.ref = ws.dimensions


def _excel_value(value: object) -> object:
    if value is None or isinstance(value, (Decimal, bool, int, date, datetime)):
        return value  # openpyxl writes a Decimal with its own digits (no float repr)
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
