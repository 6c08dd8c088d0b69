"""Code lists the scrubber checks against, read from ``mappings/`` (no codes in code)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from pipeline.build.codesets import ClinicalCodes, load_clinical_codes
from pipeline.errors import ConfigError

__all__ = ["ICD10", "PROCEDURE", "CodeSets", "load_code_sets"]

ICD10 = re.compile(r"^[A-Z][0-9][0-9A-Z]{1,5}$")
"""ICD-10-CM as sent (no decimal point)."""
PROCEDURE = re.compile(r"^([0-9]{4}[0-9FT]|[A-Z][0-9]{4})$")
"""CPT (Category I, II: 4 digits + F, III: 4 digits + T) or HCPCS Level II."""


@dataclass(frozen=True, slots=True)
class CodeSets:
    places_of_service: frozenset[str]
    modifiers: frozenset[str]
    charge_master: dict[str, Decimal]
    """Procedure code -> practice charge per unit (``fee_schedules/procedures.csv``)."""
    clinical: ClinicalCodes = field(default_factory=ClinicalCodes)
    """ICD-10-CM, CPT/HCPCS and NCCI-style pairs by date of service (:mod:`.codesets`)."""


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
    """POS and modifier lists and the code sets by date from ``mappings/codes``, the charge
    master from fee schedules."""
    pos = frozenset(r["code"] for r in _column(mappings_dir / "codes" / "pos.csv", "code"))
    mods = frozenset(r["code"] for r in _column(mappings_dir / "codes" / "modifiers.csv", "code"))
    master: dict[str, Decimal] = {}
    path = mappings_dir / "fee_schedules" / "procedures.csv"
    for number, row in enumerate(_column(path, "practice_charge"), start=2):
        try:
            master[row["procedure_code"]] = Decimal(row["practice_charge"])
        except InvalidOperation as exc:
            raise ConfigError(f"{path}: row {number}: practice_charge is not a number") from exc
    return CodeSets(pos, mods, master, load_clinical_codes(mappings_dir / "codes"))
