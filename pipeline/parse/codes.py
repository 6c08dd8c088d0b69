"""Code meanings in words, from the CSV tables in ``mappings/codes/``.

Tables are read once per process; a code missing from its table reads as
``unknown code <X>`` so a new payer code is visible rather than dropped.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

__all__ = ["CODES_DIR", "code_table", "describe"]

CODES_DIR = Path(__file__).resolve().parents[2] / "mappings" / "codes"


@cache
def code_table(name: str) -> dict[str, str]:
    """``mappings/codes/<name>.csv`` as ``{code: description}`` (empty if the file is absent)."""
    path = CODES_DIR / f"{name}.csv"
    if not path.exists():
        return {}
    with path.open(encoding="utf-8", newline="") as fh:
        return {row["code"]: row["description"] for row in csv.DictReader(fh) if row.get("code")}


def describe(name: str, code: str) -> str:
    """The meaning of ``code`` in table ``name``; ``""`` for an empty code."""
    if not code:
        return ""
    return code_table(name).get(code) or f"unknown code {code}"
