"""Jinja2 environments for ``mappings/templates`` (letters and the report) and their filters."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from pipeline.export.charts import money

__all__ = ["environment", "longdate", "templates_dir"]


def templates_dir() -> Path:
    from pipeline.settings import get_settings

    return get_settings().mappings_dir / "templates"


@lru_cache(maxsize=4096)  # a night's letters repeat a few hundred dates thousands of times
def longdate(value: date | None) -> str:
    return "" if value is None else f"{value:%B} {value.day}, {value.year}"


def _money(value: Decimal | None) -> str:
    return money(value) if value is not None else "—"


def _search(value: object, pattern: str) -> bool:
    return re.search(pattern, str(value)) is not None


_DICT_ATTRIBUTES = frozenset(dir(dict))


class _Environment(Environment):
    """``row.key`` on a plain dict (the contexts are dicts) looks the key up first: Jinja's
    attribute-first lookup raises and catches an AttributeError on every such access. A name
    that dict itself has (``items``, ``get``…) still resolves to the attribute, as before."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


def environment(folder: Path | None = None) -> Environment:
    """HTML templates (``*.html.j2``) are autoescaped; Markdown ones are not."""
    env = _Environment(
        loader=FileSystemLoader(str(folder or templates_dir())),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # one environment per export run: no need to stat each template on every lookup
        auto_reload=False,
    )
    env.filters["money"] = _money
    env.filters["longdate"] = longdate
    env.tests["search"] = _search
    return env
