"""Scrubber rules on the practice data itself, before any code is judged.

* ``patient_conflict``: the export gives the patient's account number to rows that
  disagree (:attr:`Practice.patient_conflicts`); sending would put one person's name on
  another's claim.
* ``control_character``: a NUL, tab, line break or other C0/C1 control character in any
  value the claim is built from (patient, coverages, providers, facility, billing
  provider, the encounter and its lines). X12 cannot carry them and a receiver may cut
  the file there; the finding names the field and the code point, never the value.

Registered in :mod:`pipeline.build.scrub`; the 270 builder asks :func:`control_fields`
and :attr:`Practice.patient_conflicts` the same questions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Protocol

from pydantic import BaseModel

from pipeline.build.codes import CodeSets
from pipeline.practice.model import Encounter, Practice

__all__ = ["conflict_message", "control_fields", "integrity_rules"]

CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


class _Check(Protocol):
    def error(self, field: str, rule: str, message: str) -> None: ...


def control_fields(model: BaseModel | None, prefix: str) -> Iterator[tuple[str, str]]:
    """(field, ``U+XXXX``) for every string value of ``model`` holding a control character."""
    if model is None:
        return
    for name, value in model.__dict__.items():
        yield from _values(f"{prefix}.{name}" if prefix else name, value)


def _values(field: str, value: object) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        found = CONTROL.search(value)
        if found is not None:
            yield field, f"U+{ord(found.group()):04X}"
    elif isinstance(value, BaseModel):
        yield from control_fields(value, field)
    elif isinstance(value, list):
        for i, item in enumerate(value, start=1):
            yield from _values(f"{field}[{i}]", item)


def conflict_message(practice: Practice, patient_id: str) -> str | None:
    rows = practice.patient_conflicts.get(patient_id)
    if not rows:
        return None
    listed = ", ".join(str(r) for r in rows)
    return f"account number on patients.csv rows {listed} with different demographics"


def integrity_rules(p: Practice, e: Encounter, c: _Check, today: date, codes: CodeSets) -> None:
    """Hold a claim whose patient is ambiguous or whose data holds control characters."""
    conflict = conflict_message(p, e.patient_id)
    if conflict is not None:
        c.error("patient_id", "patient_conflict", conflict)
    sources: list[tuple[BaseModel | None, str]] = [
        (e, ""),
        (p.patients.get(e.patient_id), "patient"),
        (p.providers.get(e.rendering_provider_id), "rendering_provider"),
        (p.providers.get(e.referring_provider_id or ""), "referring_provider"),
        (p.facilities.get(e.facility_id or ""), "service_facility"),
        (p.billing_provider, "billing_provider"),
    ]
    for priority in ("P", "S", "T"):  # the billed coverage and those named in COB
        sources.append((p.coverage_for(e.patient_id, priority), f"coverage[{priority}]"))
    for model, prefix in sources:
        for field, code_point in control_fields(model, prefix):
            c.error(field, "control_character", f"holds the control character {code_point}")
