"""The exports as they were written before they were streamed (openpyxl, a cell at a time,
one value through one function): the oracle the fast writers must agree with."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from pipeline.export.tables import _cell_text, _csv_cell, column_kind, is_money
from pipeline.reconcile.expected import cents
from pipeline.reconcile.inputs import records

__all__ = ["reference_arrow_column", "reference_csv", "reference_workbook"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_RATE_COLUMNS = {"coinsurance_rate", "in_network_coinsurance", "out_of_network_coinsurance"}
CURRENCY_FORMAT = '"$"#,##0.00;[Red]-"$"#,##0.00'


def reference_csv(frame: pd.DataFrame, path: Path) -> Path:
    money = {str(c): is_money(str(c)) for c in frame.columns}
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(list(frame.columns))
        for row in records(frame):
            writer.writerow([_csv_cell(row[c], money[str(c)]) for c in frame.columns])
    return path


def reference_arrow_column(values: list[Any], money: bool = True) -> pa.Array:
    kind = column_kind(values)
    if kind == "decimal":
        scale = 2
        if not money:
            scale = max(
                (max(-int(Decimal(v).as_tuple().exponent), 2) for v in values if v is not None),
                default=2,
            )
        quantum = Decimal(1).scaleb(-scale)
        # money to the cent half up, as CSV and Excel round it
        fixed = [
            None if v is None else cents(Decimal(v)) if money else Decimal(v).quantize(quantum)
            for v in values
        ]
        return pa.array(fixed, type=pa.decimal128(18, scale))
    if kind == "date":
        return pa.array(values, type=pa.date32())
    if kind == "bool":
        return pa.array(values, type=pa.bool_())
    if kind == "int":
        return pa.array(values, type=pa.int64())
    return pa.array([None if v is None else _cell_text(v) for v in values], type=pa.string())


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


def _excel_value(value: object, money: bool = True) -> object:
    if isinstance(value, Decimal):
        return cents(value) if money else value
    if value is None or isinstance(value, (bool, int, date, datetime)):
        return value
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return str(value)


def reference_workbook(tables: Mapping[str, pd.DataFrame], path: Path) -> Path:
    wb = Workbook()
    if wb.active is not None:
        wb.remove(wb.active)
    for name, frame in tables.items():
        ws = wb.create_sheet(title=name[:31])
        columns = [str(c) for c in frame.columns]
        ws.append(columns)
        rows = records(frame)
        money = {c: is_money(c) for c in columns}
        for r, row in enumerate(rows, start=2):
            for i, column in enumerate(columns, start=1):
                cell = ws.cell(row=r, column=i, value=_excel_value(row[column], money[column]))
                if isinstance(cell.value, str) and cell.value.startswith(_FORMULA_START):
                    cell.data_type = "s"
        for i, column in enumerate(columns, start=1):
            values = [r[column] for r in rows]
            fmt = _number_format(column, column_kind(values))
            if fmt:
                for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                    cell.number_format = fmt
            longest = max([len(column), *(len(_cell_text(v, money[column])) for v in values[:500])])
            ws.column_dimensions[get_column_letter(i)].width = min(max(longest + 2, 8), 60)
        ws.freeze_panes = "A2"
        if rows:
            ws.auto_filter.ref = ws.dimensions
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_LETTER
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_title_rows = "1:1"
        ws.print_options.gridLines = True
    wb.save(path)
    return path
