"""Exports: tables → CSV / Parquet / Excel, the HTML report, appeal letters.

Imports pandas, pyarrow and openpyxl: import lazily from the CLI.
"""

from __future__ import annotations

from pipeline.export.letters import render_letters
from pipeline.export.report import render_report
from pipeline.export.tables import WORKBOOK_NAME
from pipeline.export.writer import ExportWriter, write_exports

__all__ = ["WORKBOOK_NAME", "ExportWriter", "render_letters", "render_report", "write_exports"]
