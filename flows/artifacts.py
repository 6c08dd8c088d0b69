"""Prefect artifacts: a markdown summary per flow and tables (flags, rejections, holds).

Table rows are JSON-safe: amounts as decimal strings, dates ISO, missing values null.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact

__all__ = ["ARTIFACT_ROWS", "json_records", "markdown", "publish_summary", "publish_table"]

ARTIFACT_ROWS = 1_000
"""Rows a table artifact shows; the whole table is in ``exports/``. A 100k-claim night's flags
made 71 MB artifacts (the API refused their events) and Prefect walked every row of a flow's
result looking for futures (about 20 s a night)."""


def json_records(frame: Any, limit: int | None = None) -> list[dict[str, Any]]:
    """A DataFrame (its first ``limit`` rows) as JSON-safe records (Decimal -> str, dates ISO,
    NaN -> null): an artifact shows :data:`ARTIFACT_ROWS`, so a night's 100k flags need not
    all be copied to JSON first."""
    if frame is None or len(frame) == 0:
        return []
    if limit is not None:
        frame = frame.head(limit)
    text = frame.astype(object).map(lambda v: str(v) if isinstance(v, Decimal) else v)
    rows: list[dict[str, Any]] = json.loads(
        text.to_json(orient="records", date_format="iso", default_handler=str)
    )
    return rows


def markdown(title: str, facts: Mapping[str, Any], attention: Sequence[str] = ()) -> str:
    lines = [f"# {title}", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {_cell(v)} |" for k, v in facts.items()]
    if attention:
        lines += ["", "## Needs a person", ""] + [f"- {a}" for a in attention]
    return "\n".join(lines) + "\n"


def publish_summary(
    key: str, title: str, facts: Mapping[str, Any], attention: Sequence[str] = ()
) -> None:
    create_markdown_artifact(
        markdown(title, facts, attention), key=key, description=f"{title}: summary"
    )


def publish_table(
    key: str, rows: Sequence[Mapping[str, Any]], description: str, total: int | None = None
) -> None:
    """Only when there are rows (an empty table says nothing the summary does not); the first
    :data:`ARTIFACT_ROWS` of them, and the description says so when there are more (``total``:
    how many the whole table has, when ``rows`` are already its first ones)."""
    table = [dict(r) for r in rows[:ARTIFACT_ROWS]]
    total = len(rows) if total is None else max(total, len(rows))
    if total > len(table):
        description += f" (first {len(table):,} of {total:,} rows; the whole table is in exports/)"
    if table:
        create_table_artifact(table, key=key, description=description)


def _cell(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {v}" for k, v in value.items()) or "-"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "-"
    return str(value).replace("|", "\\|")
