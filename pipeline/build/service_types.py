"""Procedure code -> the X12 service types a 271 answers for it (``procedure_service_types.csv``).

A 271 speaks in service types (EB03: ``98`` office visit, ``86`` emergency, ``62`` MRI, ...),
a claim in CPT/HCPCS codes. The ranges are data (``mappings/codes``); every code also falls
under ``30`` (health benefit plan coverage), so a plan-wide benefit applies to it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pipeline.errors import ConfigError

__all__ = ["PLAN_COVERAGE", "ServiceTypeMap", "load_service_types"]

PLAN_COVERAGE = "30"
FILE = Path("codes") / "procedure_service_types.csv"


@dataclass(frozen=True, slots=True)
class ServiceTypeMap:
    ranges: tuple[tuple[str, str, frozenset[str]], ...] = ()
    # code -> its types: a night asks about the same few hundred codes thousands of times
    _memo: dict[str, frozenset[str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def of(self, procedure_code: str) -> frozenset[str]:
        """Every service type the code falls under, ``30`` included."""
        found = self._memo.get(procedure_code)
        if found is None:
            found = self._memo[procedure_code] = self._lookup(procedure_code)
        return found

    def _lookup(self, procedure_code: str) -> frozenset[str]:
        found = {PLAN_COVERAGE}
        for first, last, types in self.ranges:
            if _within(procedure_code, first, last):
                found |= types
        return frozenset(found)


def _within(code: str, first: str, last: str) -> bool:
    # Same length and same kind of first character: CPT 5 digits, HCPCS a letter + 4 digits.
    if len(code) != len(first) or code[:1].isdigit() != first[:1].isdigit():
        return False
    return first <= code <= last


@lru_cache(maxsize=8)
def load_service_types(mappings_dir: Path) -> ServiceTypeMap:
    path = mappings_dir / FILE
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    ranges = []
    for number, row in enumerate(rows, start=2):
        first, last = (row.get("first") or "").strip(), (row.get("last") or "").strip()
        types = frozenset((row.get("service_types") or "").split())
        if not first or not last or len(first) != len(last) or not types:
            raise ConfigError(
                f"{path}: row {number}: needs first, last (same length) and service_types"
            )
        ranges.append((first, last, types))
    return ServiceTypeMap(tuple(ranges))
