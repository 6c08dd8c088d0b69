"""Code lists the scrubber checks against, read from ``mappings/`` (no codes in code)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from pipeline.errors import ConfigError

__all__ = ["CodeSets", "load_code_sets"]


@dataclass(frozen=True, slots=True)
class CodeSets:
    places_of_service: frozenset[str]
    modifiers: frozenset[str]
    charge_master: dict[str, Decimal]
    """Procedure code -> practice charge per unit (``fee_schedules/procedures.csv``)."""


def _column(path: Path, column: str) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    if rows and column not in rows[0]:
        raise ConfigError(f"{path}: no column {column!r}")
    return rows


@lru_cache(maxsize=8)
def load_code_sets(mappings_dir: Path) -> CodeSets:
    """POS and modifier lists from ``mappings/codes``, the charge master from fee schedules."""
    pos = frozenset(r["code"] for r in _column(mappings_dir / "codes" / "pos.csv", "code"))
    mods = frozenset(r["code"] for r in _column(mappings_dir / "codes" / "modifiers.csv", "code"))
    master: dict[str, Decimal] = {}
    path = mappings_dir / "fee_schedules" / "procedures.csv"
    for number, row in enumerate(_column(path, "practice_charge"), start=2):
        try:
            master[row["procedure_code"]] = Decimal(row["practice_charge"])
        except InvalidOperation as exc:
            raise ConfigError(f"{path}: row {number}: practice_charge is not a number") from exc
    return CodeSets(pos, mods, master)
