"""A streaming writer for the one workbook the exports make (SpreadsheetML, ``.xlsx``).

Why not openpyxl: its cell objects cost ~20 µs a cell even in write-only mode (XlsxWriter's
constant-memory mode ~8 µs), and a 100,000-claim night has ~20 M cells. Here each sheet is
written row chunk by row chunk straight into its zip member from cell XML that the caller
builds column by column (~1 µs a cell), so neither a workbook nor a whole sheet is ever held
in memory. The package is the minimum Excel, LibreOffice and openpyxl read: content types,
relationships, one styles part with the few formats the exports use, the sheets, and the
workbook with its print titles and filter ranges.

Text cells are inline strings (``t="inlineStr"``) — never formulas, whatever they start with.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Final
from xml.sax.saxutils import quoteattr

__all__ = [
    "EXCEL_MAX_ROWS",
    "STYLE_CURRENCY",
    "STYLE_DATE",
    "STYLE_DATETIME",
    "STYLE_HEADER",
    "STYLE_NONE",
    "STYLE_PERCENT",
    "STYLE_PLAIN_DECIMAL",
    "XlsxBook",
    "column_letter",
    "escape_texts",
]

EXCEL_MAX_ROWS: Final = 1_048_576  # rows per sheet, header included
# Excel caps a cell's text at 32,767 characters.
_MAX_TEXT: Final = 32_767

CURRENCY_FORMAT: Final = '"$"#,##0.00;[Red]-"$"#,##0.00'

# cellXfs indices in _STYLES below.
STYLE_NONE: Final = 0
STYLE_HEADER: Final = 1
STYLE_CURRENCY: Final = 2
STYLE_DATE: Final = 3
STYLE_PERCENT: Final = 4
STYLE_PLAIN_DECIMAL: Final = 5
STYLE_DATETIME: Final = 6

_NS: Final = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS: Final = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_DOC_REL: Final = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL: Final = "http://schemas.openxmlformats.org/package/2006/relationships"

_STYLES: Final = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="{_NS}">
<numFmts count="4">
<numFmt numFmtId="164" formatCode={quoteattr(CURRENCY_FORMAT)}/>
<numFmt numFmtId="165" formatCode="yyyy-mm-dd"/>
<numFmt numFmtId="166" formatCode="0.##"/>
<numFmt numFmtId="167" formatCode="yyyy-mm-dd h:mm:ss"/>
</numFmts>
<fonts count="2">
<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>
<font><b/><sz val="11"/><color rgb="FFFFFFFF"/><name val="Calibri"/><family val="2"/></font>
</fonts>
<fills count="3">
<fill><patternFill patternType="none"/></fill>
<fill><patternFill patternType="gray125"/></fill>
<fill><patternFill patternType="solid"><fgColor rgb="FF1F5F99"/></patternFill></fill>
</fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="7">
<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>
<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1" \
applyAlignment="1"><alignment vertical="center"/></xf>
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="9" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="167" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
</cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>
"""

# XML 1.0 forbids these; Excel would call the file corrupt (openpyxl refuses them outright).
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_ESCAPES: Final = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def column_letter(index: int) -> str:
    """1 → A, 27 → AA."""
    letters = ""
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def escape_texts(texts: list[str]) -> list[str]:
    """XML-safe copies of ``texts`` (one scan of the whole chunk decides whether any needs
    work, so the usual chunk of plain text costs a join, not a call per cell)."""
    joined = "".join(texts)
    if _ILLEGAL.search(joined):
        texts = [_ILLEGAL.sub("", t) for t in texts]
    if "&" in joined or "<" in joined or ">" in joined:
        texts = [t.translate(_ESCAPES) for t in texts]
    if len(joined) > _MAX_TEXT and max(map(len, texts)) > _MAX_TEXT:
        texts = [t[:_MAX_TEXT] for t in texts]
    return texts


@dataclass(frozen=True)
class _Sheet:
    name: str
    last_column: str
    rows: int  # data rows, the header not counted
    part: int  # its sheet{part}.xml: the order it was written in


class XlsxBook:
    """``with XlsxBook(path) as book: with book.sheet(...) as write: write(rows_xml)``."""

    def __init__(self, path: Path, *, compresslevel: int = 1) -> None:
        self.path = path
        self._zip = zipfile.ZipFile(
            path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel
        )
        self._sheets: list[_Sheet] = []

    def __enter__(self) -> XlsxBook:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
        else:
            self.discard()

    def close(self) -> None:
        """Complete the workbook."""
        self._finish()
        self._zip.close()

    def discard(self) -> None:
        """Never leave half a workbook behind."""
        self._zip.close()
        self.path.unlink(missing_ok=True)

    @contextmanager
    def sheet(
        self, name: str, header: list[str], widths: list[float], rows: int
    ) -> Iterator[IO[bytes]]:
        """A sheet named ``name`` (≤ 31 characters, unique) with a bold header row, ``rows``
        data rows to come (the caller writes ``<row>`` elements for rows 2.. into the
        yielded stream), frozen header, autofilter, and the print setup: landscape, Letter,
        fitted to the page width, the header row repeated on every page, gridlines."""
        number = len(self._sheets) + 1
        last = f"{column_letter(max(len(header), 1))}{rows + 1}"
        self._sheets.append(_Sheet(name, column_letter(max(len(header), 1)), rows, number))
        big = (rows + 1) * max(len(header), 1) * 120 > zipfile.ZIP64_LIMIT
        cols = "".join(
            f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
            for i, w in enumerate(widths, start=1)
        )
        head = "".join(
            f'<c r="{column_letter(i)}1" s="{STYLE_HEADER}" t="inlineStr"><is>'
            f'<t xml:space="preserve">{text}</t></is></c>'
            for i, text in enumerate(escape_texts(header), start=1)
        )
        with self._zip.open(f"xl/worksheets/sheet{number}.xml", "w", force_zip64=big) as fh:
            fh.write(
                (
                    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                    f'<worksheet xmlns="{_NS}" xmlns:r="{_REL_NS}">'
                    '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
                    f'<dimension ref="A1:{last}"/>'
                    '<sheetViews><sheetView workbookViewId="0">'
                    '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                    '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
                    "</sheetView></sheetViews>"
                    '<sheetFormatPr defaultRowHeight="15"/>'
                    f"{f'<cols>{cols}</cols>' if cols else ''}"
                    f'<sheetData><row r="1">{head}</row>'
                ).encode()
            )
            yield fh
            tail = "</sheetData>"
            if rows:
                tail += f'<autoFilter ref="A1:{last}"/>'
            tail += (
                '<printOptions gridLines="1"/>'
                '<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" '
                'footer="0.5"/>'
                '<pageSetup orientation="landscape" paperSize="1" fitToWidth="1" '
                'fitToHeight="0"/>'
                "</worksheet>"
            )
            fh.write(tail.encode())

    @property
    def sheet_count(self) -> int:
        return len(self._sheets)

    def arrange(self, parts: list[int]) -> None:
        """List the sheets in the workbook in the order of ``parts`` (the 1-based order they
        were written in; each once), whatever order they were written in."""
        if sorted(parts) != list(range(1, len(self._sheets) + 1)):
            raise ValueError(f"arrange: {parts} is not an order of sheets 1..{len(self._sheets)}")
        by_part = {s.part: s for s in self._sheets}
        self._sheets = [by_part[p] for p in parts]

    def _finish(self) -> None:
        sheets = self._sheets
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for i in range(1, len(sheets) + 1)
        )
        self._zip.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            f"{overrides}</Types>",
        )
        self._zip.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{_PKG_REL}">'
            f'<Relationship Id="rId1" Type="{_DOC_REL}/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>',
        )
        rels = "".join(
            f'<Relationship Id="rId{i}" Type="{_DOC_REL}/worksheet" '
            f'Target="worksheets/sheet{s.part}.xml"/>'
            for i, s in enumerate(sheets, start=1)
        )
        styles_id = len(sheets) + 1
        self._zip.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{_PKG_REL}">{rels}'
            f'<Relationship Id="rId{styles_id}" Type="{_DOC_REL}/styles" '
            'Target="styles.xml"/></Relationships>',
        )
        self._zip.writestr("xl/styles.xml", _STYLES)
        entries = "".join(
            f'<sheet name={quoteattr(s.name)} sheetId="{i}" r:id="rId{i}"/>'
            for i, s in enumerate(sheets, start=1)
        )
        names = []
        for i, s in enumerate(sheets):
            quoted = "'" + s.name.replace("'", "''") + "'"
            if s.rows:
                area = f"{quoted}!$A$1:${s.last_column}${s.rows + 1}"
                names.append(
                    f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" '
                    f'hidden="1">{_xml(area)}</definedName>'
                )
            names.append(
                f'<definedName name="_xlnm.Print_Titles" localSheetId="{i}">'
                f"{_xml(f'{quoted}!$1:$1')}</definedName>"
            )
        defined = f"<definedNames>{''.join(names)}</definedNames>" if names else ""
        self._zip.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<workbook xmlns="{_NS}" xmlns:r="{_REL_NS}">'
            '<bookViews><workbookView activeTab="0"/></bookViews>'
            f"<sheets>{entries}</sheets>{defined}</workbook>",
        )


def _xml(text: str) -> str:
    return text.translate(_ESCAPES)
