"""Result tables → CSV (decimal strings), Parquet (decimal128) and one Excel workbook.

One amount type everywhere: money is :class:`~decimal.Decimal` with scale 2 to the file (half
up) — CSV always writes two decimals (``9.60``, ``588.00``), Parquet ``decimal128(18, 2)``,
Excel a number (the Decimal's own digits, never a float round trip) in a currency format.
Rates, units and percents are not money: they keep their own scale.

Text that a spreadsheet would run as a formula — any cell starting with ``=``, ``+``, ``-``,
``@`` (or a tab / carriage return), which an 835 or the practice data may well contain — is
written as text: CSV prefixes a ``'``, Excel stores an inline string cell (the workbook writer
never writes a formula). The workbook prints landscape, fitted to the page width, with the
header row repeated on every page.

Cost: each table is read column by column in chunks of about :data:`CHUNK_CELLS` cells, and
every chunk's values are converted once and go to the three files together (CSV rows, Parquet
batches gathered into row groups of :data:`PARQUET_ROW_GROUP` rows, the sheet's XML) — no
per-row dicts, no whole-sheet cell objects, memory bounded by a chunk (a few MiB).

Excel's row limit: a table longer than a sheet holds (1,048,575 data rows) continues on
sheets named ``<table> (2)``, ``<table> (3)``…, each with the header row, so the workbook keeps
every row (at 100,000 claims the longest table, ``pms_posting``, is ~430,000 rows: one sheet);
CSV and Parquet are always one file per table.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import IO, Any, Final

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.export.xlsx import (
    EXCEL_MAX_ROWS,
    STYLE_CURRENCY,
    STYLE_DATE,
    STYLE_DATETIME,
    STYLE_NONE,
    STYLE_PERCENT,
    STYLE_PLAIN_DECIMAL,
    XlsxBook,
    column_letter,
    escape_texts,
)
from pipeline.reconcile.expected import CENT, cents

__all__ = [
    "CHUNK_CELLS",
    "PARQUET_ROW_GROUP",
    "WORKBOOK_NAME",
    "column_kind",
    "is_money",
    "safe_text",
    "write_csv",
    "write_exports",
    "write_parquet",
    "write_workbook",
]

WORKBOOK_NAME = "claimflow.xlsx"
CHUNK_CELLS: Final = 100_000
PARQUET_ROW_GROUP: Final = 65_536
_RATE_COLUMNS = {"coinsurance_rate", "in_network_coinsurance", "out_of_network_coinsurance"}
# Decimal columns that are counts, units, days or percents (by name or name part), not money.
_PLAIN_NAMES = frozenset(
    {"claims", "denials", "lines", "count", "remittances", "priority_score", "quantity"}
)
_PLAIN_PARTS = ("units", "percent", "_days", "days_")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_EXCEL_EPOCH: Final = date(1899, 12, 30).toordinal()
_NONE = type(None)


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


def _kind_of(kind: type) -> str:
    if issubclass(kind, bool):
        return "bool"
    if issubclass(kind, Decimal):
        return "decimal"
    if issubclass(kind, datetime):
        return "text"
    if issubclass(kind, date):
        return "date"
    if issubclass(kind, int):
        return "int"
    return "text"


def column_kind(values: Iterable[object]) -> str:
    """decimal | date | bool | int | text, from the non-empty values."""
    kinds = {_kind_of(t) for t in set(map(type, values)) if t is not _NONE}
    if kinds == {"int", "decimal"}:
        return "decimal"
    return kinds.pop() if len(kinds) == 1 else "text"


def _values(series: pd.Series) -> list[Any]:
    """The column's Python values, NaN/NaT/NA as None."""
    values: list[Any] = series.astype(object).tolist()
    missing = series.isna().to_numpy()
    if missing.any():
        values = [None if m else v for v, m in zip(values, missing, strict=True)]
    return values


@dataclass(frozen=True)
class _Column:
    """How one column goes to each file, decided once from all its values."""

    name: str
    money: bool
    kind: str
    types: frozenset[type]
    scale: int  # Parquet decimal scale (money: 2)
    style: int  # the workbook's number format

    @property
    def arrow_type(self) -> pa.DataType:
        return {
            "decimal": pa.decimal128(18, self.scale),
            "date": pa.date32(),
            "bool": pa.bool_(),
            "int": pa.int64(),
        }.get(self.kind, pa.string())

    @property
    def cents_only(self) -> bool:  # every value a Decimal that goes to the file as cents
        return self.money and self.types <= {Decimal}


def _column(name: str, values: list[Any]) -> _Column:
    money = is_money(name)
    types = frozenset(set(map(type, values)) - {_NONE})
    kind = column_kind(values)
    scale = 2
    if kind == "decimal" and not money:  # a rate or units: its own digits, at least two
        scale = max(
            (max(-int(Decimal(v).as_tuple().exponent), 2) for v in values if v is not None),
            default=2,
        )
    style = STYLE_NONE
    if kind == "date":
        style = STYLE_DATE
    elif kind == "decimal":
        if name in _RATE_COLUMNS:
            style = STYLE_PERCENT
        elif not money:
            style = STYLE_PLAIN_DECIMAL
        else:
            style = STYLE_CURRENCY
    return _Column(name, money, kind, types, scale, style)


def _columns(frame: pd.DataFrame) -> list[_Column]:
    return [_column(str(c), _values(frame[c])) for c in frame.columns]


# ---------------------------------------------------------------- one chunk, three files


def _fixed(column: _Column, values: list[Any]) -> list[Any]:
    """Decimals at the file's scale (money: cents, half up); other values as they are."""
    if column.kind != "decimal" and not (column.money and Decimal in column.types):
        return values
    if column.cents_only:
        return [None if v is None else v.quantize(CENT, ROUND_HALF_UP) for v in values]
    if column.kind == "decimal":
        quantum = Decimal(1).scaleb(-column.scale)
        rounding = ROUND_HALF_UP
        return [None if v is None else Decimal(v).quantize(quantum, rounding) for v in values]
    return [cents(v) if isinstance(v, Decimal) else v for v in values]


def _csv_texts(column: _Column, values: list[Any], fixed: list[Any]) -> list[str]:
    if column.types <= {str}:
        return [
            "" if v is None else ("'" + v if v.startswith(_FORMULA_START) else v) for v in values
        ]
    if column.cents_only:  # str() of a Decimal quantized to cents is its 2-decimal text
        return ["" if v is None else str(v) for v in fixed]
    if column.kind == "date" and column.types <= {date}:
        return ["" if v is None else v.isoformat() for v in values]
    if column.kind == "int":
        return ["" if v is None else str(v) for v in values]
    money = column.money
    return [_csv_cell(v, money) for v in values]


def _arrow_array(column: _Column, values: list[Any], fixed: list[Any]) -> pa.Array:
    kind = column.kind
    if kind == "decimal":
        return pa.array(fixed, type=column.arrow_type)
    if kind in ("date", "bool", "int"):
        return pa.array(values, type=column.arrow_type)
    if column.types <= {str}:
        return pa.array(values, type=pa.string())
    return pa.array([None if v is None else _cell_text(v) for v in values], type=pa.string())


def _text_cells(letter: str, first: int, texts: list[str | None]) -> list[str]:
    present = [t for t in texts if t]
    escaped = iter(escape_texts(present))
    return [
        ""
        if not t  # an empty text is no cell at all, as in a sheet typed by hand
        else f'<c r="{letter}{r}" t="inlineStr"><is><t xml:space="preserve">{next(escaped)}'
        "</t></is></c>"
        for r, t in enumerate(texts, start=first)
    ]


def _serial(value: date) -> str:
    if isinstance(value, datetime):
        moment = value.replace(tzinfo=None)
        seconds = moment.hour * 3600 + moment.minute * 60 + moment.second
        fraction = (seconds + moment.microsecond / 1e6) / 86400
        return repr(moment.toordinal() - _EXCEL_EPOCH + fraction)
    return str(value.toordinal() - _EXCEL_EPOCH)


def _excel_cells(
    column: _Column, index: int, first: int, values: list[Any], fixed: list[Any]
) -> list[str]:
    """The column's ``<c>`` elements for rows ``first``… (an empty cell is omitted unless its
    column has a number format, which it keeps, as a typed-in value would get it)."""
    letter = column_letter(index)
    style = column.style
    if column.types <= {str}:
        return _text_cells(letter, first, values)
    if column.cents_only:
        return [
            f'<c r="{letter}{r}" s="{style}"/>'
            if v is None
            else f'<c r="{letter}{r}" s="{style}"><v>{v}</v></c>'
            for r, v in enumerate(fixed, start=first)
        ]
    if column.kind == "date" and column.types <= {date}:
        return [
            f'<c r="{letter}{r}" s="{style}"/>'
            if v is None
            else f'<c r="{letter}{r}" s="{style}"><v>{v.toordinal() - _EXCEL_EPOCH}</v></c>'
            for r, v in enumerate(values, start=first)
        ]
    cells: list[str] = []
    texts: list[str | None] = []
    for r, v in enumerate(fixed, start=first):
        ref = f"{letter}{r}"
        number: str | None = None
        own = style
        if v is None:
            cells.append(f'<c r="{ref}" s="{style}"/>' if style else "")
            texts.append(None)
            continue
        if isinstance(v, bool):
            cells.append(f'<c r="{ref}" t="b"><v>{int(v)}</v></c>')
            texts.append(None)
            continue
        if isinstance(v, Decimal):
            number = format(v, "f")
        elif isinstance(v, int):
            number = str(v)
        elif isinstance(v, datetime):
            number, own = _serial(v), style or STYLE_DATETIME
        elif isinstance(v, date):
            number, own = _serial(v), style or STYLE_DATE
        if number is not None:
            cells.append(
                f'<c r="{ref}" s="{own}"><v>{number}</v></c>'
                if own
                else f'<c r="{ref}"><v>{number}</v></c>'
            )
            texts.append(None)
        else:
            cells.append("")
            texts.append(" ".join(str(x) for x in v) if isinstance(v, (list, tuple)) else str(v))
    if any(t is not None for t in texts):
        text_cells = _text_cells(letter, first, texts)
        cells = [t if t else c for c, t in zip(cells, text_cells, strict=True)]
    return cells


def _width(column: _Column, values: list[Any]) -> float:
    longest = max([len(column.name), *(len(_cell_text(v, column.money)) for v in values[:500])])
    return min(max(longest + 2, 8), 60)


# ---------------------------------------------------------------- the files


def _segments(name: str, total: int, per_sheet: int) -> list[tuple[str, int, int]]:
    """(sheet name, first row, end row) — one sheet, or continuation sheets past Excel's
    row limit."""
    if total <= per_sheet:
        return [(name[:31], 0, total)]
    return [
        (
            name[:31] if start == 0 else f"{name[:25]} ({start // per_sheet + 1})",
            start,
            min(start + per_sheet, total),
        )
        for start in range(0, total, per_sheet)
    ]


def _write_table(
    name: str,
    frame: pd.DataFrame,
    *,
    csv_path: Path | None = None,
    parquet_path: Path | None = None,
    book: XlsxBook | None = None,
    sheet_rows: int = EXCEL_MAX_ROWS - 1,
) -> None:
    """One table to any of a CSV, a Parquet file and sheets of ``book``, chunk by chunk."""
    columns = _columns(frame)
    header = [c.name for c in columns]
    schema = pa.schema([(c.name, c.arrow_type) for c in columns])
    with ExitStack() as files:
        writer = None
        if csv_path is not None:
            writer = csv.writer(
                files.enter_context(csv_path.open("w", encoding="utf-8", newline=""))
            )
            writer.writerow(header)
        parquet = None
        batches: list[pa.RecordBatch] = []
        if parquet_path is not None:
            parquet = files.enter_context(pq.ParquetWriter(parquet_path, schema))
            if frame.empty:
                parquet.write_table(schema.empty_table())
        step = max(1, CHUNK_CELLS // max(len(columns), 1))
        for sheet_name, first_row, end_row in _segments(name, len(frame), sheet_rows):
            sheet: IO[bytes] | None = None
            with ExitStack() as sheet_files:
                if book is not None:
                    sample = frame.iloc[first_row : first_row + 500]
                    widths = [_width(c, _values(sample[c.name])) for c in columns]
                    sheet = sheet_files.enter_context(
                        book.sheet(sheet_name, header, widths, end_row - first_row)
                    )
                for start in range(first_row, end_row, step):
                    chunk = frame.iloc[start : min(start + step, end_row)]
                    values = [_values(chunk[c.name]) for c in columns]
                    fixed = [_fixed(c, v) for c, v in zip(columns, values, strict=True)]
                    if writer is not None:
                        texts = [
                            _csv_texts(c, v, f)
                            for c, v, f in zip(columns, values, fixed, strict=True)
                        ]
                        writer.writerows(zip(*texts, strict=True))
                    if parquet is not None:
                        arrays = [
                            _arrow_array(c, v, f)
                            for c, v, f in zip(columns, values, fixed, strict=True)
                        ]
                        batches.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
                        if sum(b.num_rows for b in batches) >= PARQUET_ROW_GROUP:
                            parquet.write_table(pa.Table.from_batches(batches, schema))
                            batches = []
                    if sheet is not None:
                        sheet.write(_sheet_rows(columns, start - first_row + 2, values, fixed))
        if parquet is not None and batches:
            parquet.write_table(pa.Table.from_batches(batches, schema))


def _sheet_rows(
    columns: list[_Column], first: int, values: list[list[Any]], fixed: list[list[Any]]
) -> bytes:
    cells = [
        _excel_cells(c, i, first, v, f)
        for i, (c, v, f) in enumerate(zip(columns, values, fixed, strict=True), start=1)
    ]
    return "".join(
        f'<row r="{r}">{"".join(row)}</row>'
        for r, row in enumerate(zip(*cells, strict=True), start=first)
    ).encode()


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    _write_table(path.stem, frame, csv_path=path)
    return path


def write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    _write_table(path.stem, frame, parquet_path=path)
    return path


def write_workbook(
    tables: Mapping[str, pd.DataFrame], path: Path, *, sheet_rows: int = EXCEL_MAX_ROWS - 1
) -> Path:
    """Every table as a sheet (continued on further sheets past ``sheet_rows`` data rows)."""
    with XlsxBook(path) as book:
        for name, frame in tables.items():
            _write_table(name, frame, book=book, sheet_rows=sheet_rows)
    return path


def write_exports(result: Any, out_dir: Path) -> list[Path]:
    """Every table of ``result`` (a ReconcileResult) as CSV and Parquet, plus the workbook —
    each table read once, its chunks going to all three files together."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    tables: Mapping[str, pd.DataFrame] = result.tables
    workbook = out_dir / WORKBOOK_NAME
    with XlsxBook(workbook) as book:
        for name, frame in tables.items():
            csv_path, parquet_path = out_dir / f"{name}.csv", out_dir / f"{name}.parquet"
            _write_table(name, frame, csv_path=csv_path, parquet_path=parquet_path, book=book)
            written += [csv_path, parquet_path]
    written.append(workbook)
    return written
