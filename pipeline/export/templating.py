"""Jinja2 environments for ``mappings/templates`` (letters and the report) and their filters."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from pipeline.export.charts import money

__all__ = ["environment", "longdate", "templates_dir"]


def templates_dir() -> Path:
    from pipeline.settings import get_settings

    return get_settings().mappings_dir / "templates"


def longdate(value: date | None) -> str:
    return "" if value is None else f"{value:%B} {value.day}, {value.year}"


def _money(value: Decimal | None) -> str:
    return money(value) if value is not None else "—"


def _search(value: object, pattern: str) -> bool:
    return re.search(pattern, str(value)) is not None


def environment(folder: Path | None = None) -> Environment:
    """HTML templates (``*.html.j2``) are autoescaped; Markdown ones are not."""
    env = Environment(
        loader=FileSystemLoader(str(folder or templates_dir())),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["money"] = _money
    env.filters["longdate"] = longdate
    env.tests["search"] = _search
    return env
