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
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import cache
from operator import attrgetter
from typing import Any

from pydantic import BaseModel

from pipeline.build.codes import CodeSets
from pipeline.build.rules import RuleCheck
from pipeline.practice.model import Encounter, Practice

__all__ = ["CONTROL", "conflict_message", "control_fields", "integrity_rules"]

CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_PRIORITIES = ("P", "S", "T")
_PLAIN = frozenset({type(None), bool, int, Decimal, date})


def control_fields(model: BaseModel | None, prefix: str) -> list[tuple[str, str]]:
    """(field, ``U+XXXX``) for every string value of ``model`` holding a control character."""
    found: list[tuple[str, str]] = []
    if model is None:
        return found
    strings: list[str] = []
    _strings(model, strings)
    if CONTROL.search("".join(strings)):  # nearly never: only then name the fields
        _scan(model, prefix, found)
    return found


@cache
def _fields(kind: type[BaseModel]) -> tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]:
    """The model's field names and a getter of their values, read without ``__dict__``:
    asking a compact model for it makes a dict its attributes then keep (the loader's
    key-sharing layout, :mod:`pipeline.practice.loader`), for every model scanned."""
    names = tuple(kind.model_fields)
    if len(names) == 1:
        one = attrgetter(names[0])
        return names, lambda model: (one(model),)
    return names, attrgetter(*names) if names else (lambda model: ())


def _values(model: BaseModel) -> tuple[Any, ...]:
    return _fields(type(model))[1](model)


def _strings(model: BaseModel, out: list[str]) -> None:
    # Hot: every claim's data passes here. Cheap type tests first, isinstance last.
    for value in _values(model):
        kind = value.__class__
        if kind is str:
            out.append(value)
        elif kind in _PLAIN:
            continue
        elif kind is list:
            for item in value:
                if item.__class__ is str:
                    out.append(item)
                elif isinstance(item, BaseModel):
                    _strings(item, out)
        elif isinstance(value, BaseModel):
            _strings(value, out)


def _scan(model: BaseModel, prefix: str, found: list[tuple[str, str]]) -> None:
    for name, value in zip(_fields(type(model))[0], _values(model), strict=True):
        kind = value.__class__
        if kind is str:
            _check(value, prefix, name, found)
        elif kind in _PLAIN:  # the common case, before the costlier isinstance
            continue
        elif isinstance(value, BaseModel):
            _scan(value, _join(prefix, name), found)
        elif value.__class__ is list:
            for i, item in enumerate(value, start=1):
                if isinstance(item, BaseModel):
                    _scan(item, f"{_join(prefix, name)}[{i}]", found)
                elif item.__class__ is str:
                    _check(item, prefix, f"{name}[{i}]", found)


def _check(value: str, prefix: str, name: str, found: list[tuple[str, str]]) -> None:
    hit = CONTROL.search(value)
    if hit is not None:
        found.append((_join(prefix, name), f"U+{ord(hit.group()):04X}"))


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def conflict_message(practice: Practice, patient_id: str) -> str | None:
    rows = practice.patient_conflicts.get(patient_id)
    if not rows:
        return None
    listed = ", ".join(str(r) for r in rows)
    return f"account number on patients.csv rows {listed} with different demographics"


def integrity_rules(p: Practice, e: Encounter, c: RuleCheck, today: date, codes: CodeSets) -> None:
    """Hold a claim whose patient is ambiguous or whose data holds control characters."""
    conflict = conflict_message(p, e.patient_id)
    if conflict is not None:
        c.error("patient_id", "patient_conflict", conflict)
    found = control_fields(e, "")
    shared: list[tuple[BaseModel | None, str]] = [
        (p.patients.get(e.patient_id), "patient"),
        (p.providers.get(e.rendering_provider_id), "rendering_provider"),
        (p.providers.get(e.referring_provider_id or ""), "referring_provider"),
        (p.facilities.get(e.facility_id or ""), "service_facility"),
        (p.billing_provider, "billing_provider"),
    ]
    for priority in _PRIORITIES:  # the billed coverage and those named in COB
        shared.append((c.coverages.get((e.patient_id, priority)), f"coverage[{priority}]"))
    for model, prefix in shared:
        if model is not None:
            found += _scanned(model, prefix, c.memo)
    for field, code_point in found:
        c.error(field, "control_character", f"holds the control character {code_point}")


def _scanned(model: BaseModel, prefix: str, memo: dict[object, object]) -> list[tuple[str, str]]:
    # Patients, coverages and providers recur across a run's claims: scan each once. The
    # memo lives for one scrub run, while the practice (and so every id) stays alive.
    key = ("control", id(model), prefix)
    cached = memo.get(key)
    if cached is None:
        cached = memo[key] = control_fields(model, prefix)
    return cached  # type: ignore[return-value]
