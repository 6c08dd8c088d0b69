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

Cost: each column is read once whole to decide how it goes out (then let go), and once more
in chunks of about :data:`CHUNK_CELLS` cells as lists of its Python values (references to the
frame's objects); every chunk's values are converted once and go to the three files together
(Parquet batches gathered into row groups of :data:`PARQUET_ROW_GROUP` rows; CSV rows and the
sheet's XML in pieces of about :data:`PIECE_CELLS` cells, whose texts cost the most) — no
per-row dicts, no whole-sheet cell objects, no whole table's values at once. A piece's text
is shared where the files agree (cents and integers are the same digits in the CSV and the
sheet), and a sheet's XML is one join over the cells' pieces.

Excel's row limit: a table longer than a sheet holds (1,048,575 data rows) continues on
sheets named ``<table> (2)``, ``<table> (3)``…, each with the header row, so the workbook keeps
every row (at 100,000 claims the longest table, ``pms_posting``, is ~430,000 rows: one sheet);
CSV and Parquet are always one file per table.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from itertools import chain, repeat
from pathlib import Path
from typing import IO, Any, Final

import numpy as np
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
    "PIECE_CELLS",
    "WORKBOOK_NAME",
    "column_kind",
    "is_money",
    "safe_text",
    "write_csv",
    "write_parquet",
    "write_table",
    "write_workbook",
]

WORKBOOK_NAME = "claimflow.xlsx"
CHUNK_CELLS: Final = 100_000  # a Parquet batch (the row groups, so the files, depend on it)
PIECE_CELLS: Final = 20_000  # CSV and sheet text made at a time (the files do not depend on it)
PARQUET_ROW_GROUP: Final = 65_536
# The Arrow arrays and the Parquet writer's buffers come from the C allocator, not Arrow's
# default (mimalloc), which kept each outgrown builder block's segment resident: a row group's
# ~7-13 MiB (20k claims) cost 30-55 MiB of RSS, ~15-25 from malloc. (The writer's encoders take
# Arrow's process default, which pyarrow lets no one pass: ARROW_DEFAULT_MEMORY_POOL=system.)
_POOL: Final = pa.system_memory_pool()
_RATE_COLUMNS = {"coinsurance_rate", "in_network_coinsurance", "out_of_network_coinsurance"}
# Decimal columns that are counts, units, days or percents (by name or name part), not money.
_PLAIN_NAMES = frozenset(
    {"claims", "denials", "lines", "count", "remittances", "priority_score", "quantity"}
)
_PLAIN_PARTS = ("units", "percent", "_days", "days_")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A formula start right after a NUL (texts joined by NUL): one regex pass over the chunk, not a
# substring scan per start (each 7x slower: a NUL at every cell sets the scans back)
_FORMULA_AFTER_NUL = re.compile("\x00[=+\\-@\t\r]")
_BOOL_TEXT: Final = {True: "true", False: "false", None: ""}
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
    return _kind_of_types(set(map(type, values)))


def _kind_of_types(types: set[type] | frozenset[type]) -> str:
    kinds = {_kind_of(t) for t in types if t is not _NONE}
    if kinds == {"int", "decimal"}:
        return "decimal"
    return kinds.pop() if len(kinds) == 1 else "text"


# Types pandas never counts as missing: a column of only these needs no isna scan.
_NEVER_MISSING = frozenset({str, date, datetime, bool, int, list, tuple, _NONE})


def _values(series: pd.Series) -> list[Any]:
    """The column's Python values, NaN/NaT/NA as None."""
    return _checked(series)[0]


def _checked(series: pd.Series) -> tuple[list[Any], bool]:
    """:func:`_values`, and whether they are the column's own objects as they stand (an
    object column that nothing in counts as missing)."""
    if series.dtype == object:
        values: list[Any] = series.tolist()
        types = set(map(type, values))
        if types <= _NEVER_MISSING:
            return values, True
        # Decimals: only a NaN is missing (falsy zeros and Nones are filtered out first)
        if types <= {Decimal, _NONE} and not any(map(Decimal.is_nan, filter(None, values))):
            return values, True
    values = series.astype(object).tolist()
    missing = series.isna().to_numpy()
    if missing.any():
        values = [None if m else v for v, m in zip(values, missing, strict=True)]
    return values, False


@dataclass(frozen=True)
class _Column:
    """How one column goes to each file, decided once from all its values."""

    name: str
    money: bool
    kind: str
    types: frozenset[type]
    scale: int  # Parquet decimal scale (money: 2)
    nullable: bool  # some value is None
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
    all_types = set(map(type, values))
    types = frozenset(all_types - {_NONE})
    kind = _kind_of_types(types)
    scale = 2
    if kind == "decimal" and not money:  # a rate or units: its own digits, at least two
        # each distinct text once (a str keeps the exponent that equal Decimals would merge)
        texts = set(map(str, values)) - {"None"}  # only Decimals, ints and None here
        scale = max((max(-int(Decimal(t).as_tuple().exponent), 2) for t in texts), default=2)
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
    return _Column(name, money, kind, types, scale, _NONE in all_types, style)


# A column as the chunks read it: its object array when its values need no check (a slice's
# values are then the array's, no pandas slice or type scan per chunk), else the Series.
_Source = pd.Series | np.ndarray


def _columns(frame: pd.DataFrame) -> tuple[list[_Column], list[_Source]]:
    """Each column's plan, from all its values (read one column at a time), and the column."""
    columns: list[_Column] = []
    sources: list[_Source] = []
    for i, name in enumerate(frame.columns):
        series = frame.iloc[:, i]
        values, clean = _checked(series)
        columns.append(_column(str(name), values))
        del values
        sources.append(series.to_numpy() if clean else series)
    return columns, sources


def _rows(sources: list[_Source], start: int, stop: int) -> list[list[Any]]:
    """Each column's values of rows ``start:stop`` (what ``_values`` of the whole column has
    there: a missing cell is None however the chunk falls)."""
    return [
        s[start:stop].tolist() if isinstance(s, np.ndarray) else _values(s.iloc[start:stop])
        for s in sources
    ]


# ---------------------------------------------------------------- one chunk, three files


def _fixed(column: _Column, values: list[Any]) -> list[Any]:
    """Decimals at the file's scale (money: the cents' texts, half up); other values as they
    are."""
    if column.kind != "decimal" and not (column.money and Decimal in column.types):
        return values
    if column.cents_only:  # as the cents' texts, which all three files take (None: empty)
        if not column.nullable:
            return [str(v.quantize(CENT, ROUND_HALF_UP)) for v in values]
        return [None if v is None else str(v.quantize(CENT, ROUND_HALF_UP)) for v in values]
    if column.kind == "decimal":
        quantum = Decimal(1).scaleb(-column.scale)
        rounding = ROUND_HALF_UP
        return [None if v is None else Decimal(v).quantize(quantum, rounding) for v in values]
    return [cents(v) if isinstance(v, Decimal) else v for v in values]


def _csv_texts(column: _Column, values: list[Any], fixed: list[Any]) -> list[str]:
    if column.types <= {str}:
        present = values if None not in values else [v or "" for v in values]
        # a few substring scans of the joined chunk find any text a spreadsheet would run
        joined = "\x00" + "\x00".join(present)
        if _FORMULA_AFTER_NUL.search(joined) is None:
            return present
        return ["'" + v if v.startswith(_FORMULA_START) else v for v in present]
    if column.cents_only:  # _fixed gave str() of each Decimal quantized to cents
        return ["" if v is None else v for v in fixed] if column.nullable else fixed
    if column.kind == "date" and column.types <= {date}:  # few distinct dates: each once
        iso = {d: "" if d is None else d.isoformat() for d in set(values)}
        return list(map(iso.__getitem__, values))
    if column.kind == "int":
        return ["" if v is None else str(v) for v in values]
    if column.kind == "bool" and column.types <= {bool}:
        return list(map(_BOOL_TEXT.__getitem__, values))
    if column.kind == "decimal" and not column.money and column.types <= {Decimal}:
        return ["" if v is None else f"{v:f}" for v in values]  # a rate or units: as given
    money = column.money
    return [_csv_cell(v, money) for v in values]


def _arrow_array(column: _Column, values: list[Any], fixed: list[Any]) -> pa.Array:
    kind = column.kind
    if kind == "decimal" and column.cents_only:
        # the cents' texts, parsed by Arrow: half the time of converting the Decimals
        texts = pa.array(fixed, type=pa.string(), memory_pool=_POOL)
        return texts.cast(column.arrow_type, memory_pool=_POOL)
    if kind == "decimal":
        return pa.array(fixed, type=column.arrow_type, memory_pool=_POOL)
    if kind in ("date", "bool", "int"):
        return pa.array(values, type=column.arrow_type, memory_pool=_POOL)
    if column.types <= {str}:
        return pa.array(values, type=pa.string(), memory_pool=_POOL)
    return pa.array(
        [None if v is None else _cell_text(v) for v in values], type=pa.string(), memory_pool=_POOL
    )


def _text_cells(letter: str, rows: list[str], texts: list[str | None]) -> list[str]:
    escaped = escape_texts([t or "" for t in texts])
    pre, mid = f'<c r="{letter}', '" t="inlineStr"><is><t xml:space="preserve">'
    return [
        f"{pre}{r}{mid}{e}</t></is></c>"
        if t
        else ""  # an empty text is no cell at all, as in a sheet typed by hand
        for r, t, e in zip(rows, texts, escaped, strict=True)
    ]


def _serial(value: date) -> str:
    if isinstance(value, datetime):
        moment = value.replace(tzinfo=None)
        seconds = moment.hour * 3600 + moment.minute * 60 + moment.second
        fraction = (seconds + moment.microsecond / 1e6) / 86400
        return repr(moment.toordinal() - _EXCEL_EPOCH + fraction)
    return str(value.toordinal() - _EXCEL_EPOCH)


def _plain_cells(
    column: _Column,
    letter: str,
    rows: list[str],
    values: list[Any],
    fixed: list[Any],
    csv: list[str],
) -> list[str] | None:
    """The common columns' cells, each kind in one comprehension (None: not one of them).
    Cents and integers reuse the CSV's text, which is the same digits."""
    types, style = column.types, column.style
    pre, empty, mid = f'<c r="{letter}', f'" s="{style}"/>', f'" s="{style}"><v>'
    if column.cents_only:
        return [
            f"{pre}{r}{mid}{t}</v></c>" if t else f"{pre}{r}{empty}"
            for r, t in zip(rows, csv, strict=True)
        ]
    if column.kind == "int" and types <= {int} and not style:  # an empty cell is no cell
        return [f'{pre}{r}"><v>{t}</v></c>' if t else "" for r, t in zip(rows, csv, strict=True)]
    if column.kind == "date" and types <= {date}:
        epoch = _EXCEL_EPOCH
        return [
            f"{pre}{r}{empty}" if v is None else f"{pre}{r}{mid}{v.toordinal() - epoch}</v></c>"
            for r, v in zip(rows, values, strict=True)
        ]
    if column.kind == "decimal" and types <= {Decimal} and style:
        return [
            f"{pre}{r}{empty}" if v is None else f"{pre}{r}{mid}{v:f}</v></c>"
            for r, v in zip(rows, fixed, strict=True)
        ]
    if column.kind == "bool" and types <= {bool} and not style:
        return [
            "" if v is None else f'{pre}{r}" t="b"><v>{int(v)}</v></c>'
            for r, v in zip(rows, values, strict=True)
        ]
    return None


def _excel_cells(
    column: _Column,
    index: int,
    rows: list[str],
    values: list[Any],
    fixed: list[Any],
    csv: list[str],
) -> list[str]:
    """The column's ``<c>`` elements for ``rows`` (an empty cell is omitted unless its
    column has a number format, which it keeps, as a typed-in value would get it)."""
    letter = column_letter(index)
    style = column.style
    if column.types <= {str}:
        return _text_cells(letter, rows, values)
    plain = _plain_cells(column, letter, rows, values, fixed, csv)
    if plain is not None:
        return plain
    cells: list[str] = []
    texts: list[str | None] = []
    for r, v in zip(rows, fixed, strict=True):
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
        text_cells = _text_cells(letter, rows, texts)
        cells = [t if t else c for c, t in zip(cells, text_cells, strict=True)]
    return cells


def _width(column: _Column, values: list[Any]) -> float:
    sample = values[:500]
    if column.types <= {str}:  # a text is its own cell text (None: "")
        longest = max(len(column.name), *map(len, filter(None, sample)), 0)
    else:
        longest = max([len(column.name), *(len(_cell_text(v, column.money)) for v in sample)])
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


def write_table(
    name: str,
    frame: pd.DataFrame,
    *,
    csv_path: Path | None = None,
    parquet_path: Path | None = None,
    book: XlsxBook | None = None,
    sheet_rows: int = EXCEL_MAX_ROWS - 1,
) -> None:
    """One table to any of a CSV, a Parquet file and sheets of ``book``, chunk by chunk."""
    columns, series = _columns(frame)
    header = [c.name for c in columns]
    schema = pa.schema([(c.name, c.arrow_type) for c in columns])
    with ExitStack() as files:
        csv_file = None
        if csv_path is not None:
            csv_file = files.enter_context(csv_path.open("w", encoding="utf-8", newline=""))
            csv.writer(csv_file).writerow(header)
        parquet = None
        batches: list[pa.RecordBatch] = []
        if parquet_path is not None:
            parquet = files.enter_context(pq.ParquetWriter(parquet_path, schema, memory_pool=_POOL))
            if frame.empty:
                parquet.write_table(schema.empty_table())
        step = max(1, CHUNK_CELLS // max(len(columns), 1))
        piece = max(1, PIECE_CELLS // max(len(columns), 1))
        for sheet_name, first_row, end_row in _segments(name, len(frame), sheet_rows):
            sheet: IO[bytes] | None = None
            with ExitStack() as sheet_files:
                if book is not None:
                    sample = _rows(series, first_row, first_row + 500)
                    widths = [_width(c, v) for c, v in zip(columns, sample, strict=True)]
                    sheet = sheet_files.enter_context(
                        book.sheet(sheet_name, header, widths, end_row - first_row)
                    )
                for start in range(first_row, end_row, step):
                    stop = min(start + step, end_row)
                    values = _rows(series, start, stop)
                    fixed = [_fixed(c, v) for c, v in zip(columns, values, strict=True)]
                    if parquet is not None:
                        arrays = [
                            _arrow_array(c, v, f)
                            for c, v, f in zip(columns, values, fixed, strict=True)
                        ]
                        batches.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
                        del arrays
                        if sum(b.num_rows for b in batches) >= PARQUET_ROW_GROUP:
                            parquet.write_table(pa.Table.from_batches(batches, schema))
                            batches = []
                    if csv_file is None and sheet is None:
                        continue
                    for at in range(0, stop - start, piece):
                        part = [v[at : at + piece] for v in values]
                        part_fixed = [f[at : at + piece] for f in fixed]
                        texts = [
                            _csv_texts(c, v, f)
                            for c, v, f in zip(columns, part, part_fixed, strict=True)
                        ]
                        if csv_file is not None:
                            _write_csv_rows(csv_file, texts)
                        if sheet is not None:
                            first = start + at - first_row + 2
                            sheet.write(_sheet_rows(columns, first, part, part_fixed, texts))
        if parquet is not None and batches:
            parquet.write_table(pa.Table.from_batches(batches, schema))


def _write_csv_rows(out: IO[str], texts: list[list[str]]) -> None:
    """The chunk's rows as ``csv.writer`` writes them (minimal quoting, CRLF): a plain join
    when no field needs quotes — a comma, quote, CR or LF in one shows in the counts."""
    rows = len(texts[0]) if texts else 0
    if len(texts) > 1 and rows:
        body = "\r\n".join(map(",".join, zip(*texts, strict=True))) + "\r\n"
        if (
            '"' not in body
            and body.count(",") == rows * (len(texts) - 1)
            and body.count("\n") == rows
            and body.count("\r") == rows
        ):
            out.write(body)
            return
    csv.writer(out).writerows(zip(*texts, strict=True))


def _sheet_rows(
    columns: list[_Column],
    first: int,
    values: list[list[Any]],
    fixed: list[list[Any]],
    texts: list[list[str]],
) -> bytes:
    rows = list(map(str, range(first, first + len(values[0]) if values else first)))
    streams: list[Iterable[str]] = [repeat('<row r="'), rows, repeat('">')]
    for i, (c, v, f, t) in enumerate(zip(columns, values, fixed, texts, strict=True), start=1):
        streams += _dense_pieces(c, i, rows, v, t) or [_excel_cells(c, i, rows, v, f, t)]
    streams.append(repeat("</row>"))
    # one join over every piece of every row: no string per cell or row in between
    return "".join(chain.from_iterable(zip(*streams))).encode()  # noqa: B905 (repeat is endless)


def _dense_pieces(
    column: _Column, index: int, rows: list[str], values: list[Any], csv: list[str]
) -> list[Iterable[str]] | None:
    """A chunk of a column with a cell in every row, as streams of the cells' pieces (the
    constant parts repeated), so no cell string is built; None when some row has none."""
    letter, style = column_letter(index), column.style
    if column.types <= {str} and all(values):
        mid, end = '" t="inlineStr"><is><t xml:space="preserve">', "</t></is></c>"
        return [repeat(f'<c r="{letter}'), rows, repeat(mid), escape_texts(values), repeat(end)]
    number: list[str] | None = None
    if column.cents_only and all(csv):  # the CSV's text: the same digits
        number = csv
    elif column.kind == "date" and column.types <= {date} and None not in values:
        serial = {d: str(d.toordinal() - _EXCEL_EPOCH) for d in set(values)}
        number = list(map(serial.__getitem__, values))
    if number is None:
        return None
    mid = f'" s="{style}"><v>'
    return [repeat(f'<c r="{letter}'), rows, repeat(mid), number, repeat("</v></c>")]


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    write_table(path.stem, frame, csv_path=path)
    return path


def write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    write_table(path.stem, frame, parquet_path=path)
    return path


def write_workbook(
    tables: Mapping[str, pd.DataFrame], path: Path, *, sheet_rows: int = EXCEL_MAX_ROWS - 1
) -> Path:
    """Every table as a sheet (continued on further sheets past ``sheet_rows`` data rows)."""
    with XlsxBook(path) as book:
        for name, frame in tables.items():
            write_table(name, frame, book=book, sheet_rows=sheet_rows)
    return path
