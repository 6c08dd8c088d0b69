"""Code-set edits by date of service (registered in :mod:`pipeline.build.scrub`).

Each finding names its rule:

* ``icd10_not_billable`` / ``icd10_invalid_on_dos`` / ``icd10_unverified``: a diagnosis
  that is a category (R51 since 2020-10-01: use R51.0 or R51.9), is not valid on the
  date of service, or is not in the shipped (partial) table and no CMS file covers
  the date (a warning unless ``code_sets.yaml`` says ``unknown_code: error``);
* ``procedure_invalid_on_dos`` / ``procedure_unverified``: the same for CPT/HCPCS;
* ``sex_edit`` / ``age_edit``: a code for the other sex, or outside its age range;
* ``professional_component``: -26/TC against the code's PC/TC indicator and the place
  of service (a facility gets the technical component; the practitioner bills -26);
* ``laterality_mismatch`` / ``laterality_unspecified``: RT/LT/50 (and finger, toe,
  eyelid modifiers) against the side of the diagnoses the line points to;
* ``ncci_pair``: a column-2 code billed with its column-1 code the same day, without an
  NCCI-associated modifier where the pair allows one (indicator 1) or at all (0).

Findings never carry the patient's values (age, sex): only codes, dates and rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from pipeline.build.codes import ICD10, PROCEDURE, CodeSets
from pipeline.build.codesets import ClinicalCodes, CodeWindow, Lookup, fiscal_year
from pipeline.build.rules import RuleCheck
from pipeline.practice.model import Charge, Encounter, Patient, Practice

__all__ = ["coding_rules"]

_SIDE_NAMES = {"R": "right", "L": "left"}
_SEX_NAMES = {"M": "male", "F": "female"}
_COMPONENT_MODIFIERS = frozenset({"26", "TC"})


def coding_rules(p: Practice, e: Encounter, c: RuleCheck, today: date, codes: CodeSets) -> None:
    clinical = codes.clinical
    patient = p.patients.get(e.patient_id)
    # Codes that are not even well formed are the scrubber's format findings already.
    diagnoses = {
        code: _looked_up(c.memo, clinical, "dx", code, e.service_date)
        for code in e.diagnoses
        if ICD10.match(code)
    }
    for i, code in enumerate(e.diagnoses, start=1):
        found = diagnoses.get(code)
        if found is not None and _to_check(found):
            _diagnosis(code, found, e.service_date, f"diagnoses[{i}]", patient, c, clinical)
    sides = clinical.laterality_modifiers
    for line in e.charges:
        if not PROCEDURE.match(line.procedure_code):
            continue
        day = line.service_date or e.service_date
        found = _looked_up(c.memo, clinical, "px", line.procedure_code, day)
        at = f"charges[{line.line_number}]"
        if _to_check(found):
            _procedure(line, found, day, at, patient, c, clinical)
        pos = line.place_of_service or e.place_of_service
        if (
            found.window is not None
            and found.status == "valid"
            and (line.modifiers or pos in clinical.facility_places_of_service)
        ):
            _component(line, found.window, pos, at, c, clinical)
        if any(m in sides for m in line.modifiers):
            _laterality(line, e.diagnoses, diagnoses, at, c, clinical)
    if len(e.charges) > 1:
        _pairs(e, c, clinical)


def _to_check(found: Lookup) -> bool:
    """Anything to say about the code itself: not valid, or a sex or age edit to apply."""
    w = found.window
    return found.status != "valid" or (
        w is not None and bool(w.sex or w.age_min is not None or w.age_max is not None)
    )


def _looked_up(
    memo: dict[object, object], clinical: ClinicalCodes, kind: str, code: str, day: date
) -> Lookup:
    """A code on a date, looked up once per scrub run (the same codes recur on every claim)."""
    key = (kind, code, day)
    found = memo.get(key)
    if found is None:
        found = memo[key] = (clinical.diagnosis if kind == "dx" else clinical.procedure)(code, day)
    return found  # type: ignore[return-value]


# --- validity and demographics ----------------------------------------------------------------


def _unknown(c: RuleCheck, clinical: ClinicalCodes, field: str, rule: str, message: str) -> None:
    report = c.error if clinical.unknown_code == "error" else c.warning
    report(field, rule, message)


def _use(found: Lookup) -> str:
    return f": use {' or '.join(found.hints)}" if found.hints else ""


def _invalid(code: str, found: Lookup, day: date, what: str) -> str:
    w = found.window
    if w is not None and w.effective_to < day:
        return f"{code} was deleted after {w.effective_to}{_use(found)}"
    if w is not None and w.effective_from > day:
        return f"{code} is valid from {w.effective_from}, not on {day}"
    if found.complete:
        return f"{code} is not in the CMS {what} file for {day}{_use(found)}"
    return f"{code} is not valid on {day}{_use(found)}"


def _diagnosis(
    code: str,
    found: Lookup,
    day: date,
    at: str,
    patient: Patient | None,
    c: RuleCheck,
    clinical: ClinicalCodes,
) -> None:
    if found.status == "not_billable":
        since = f" since {found.window.effective_from}" if found.window else ""
        c.error(
            at,
            "icd10_not_billable",
            f"{code} is a category{since}, not a billable code{_use(found)}",
        )
    elif found.status == "invalid":
        c.error(at, "icd10_invalid_on_dos", _invalid(code, found, day, "ICD-10-CM"))
    elif found.status == "unknown":
        _unknown(
            c,
            clinical,
            at,
            "icd10_unverified",
            f"{code} is not in the shipped ICD-10-CM table; add the CMS FY{fiscal_year(day)} "
            "file to mappings/codes/cms to check it",
        )
    elif found.window is not None and patient is not None:
        _demographics(code, found.window, day, patient, at, c)


def _procedure(
    line: Charge,
    found: Lookup,
    day: date,
    at: str,
    patient: Patient | None,
    c: RuleCheck,
    clinical: ClinicalCodes,
) -> None:
    code = line.procedure_code
    field = f"{at}.procedure_code"
    if found.status == "invalid":
        c.error(field, "procedure_invalid_on_dos", _invalid(code, found, day, "HCPCS"))
    elif found.status == "unknown":
        hint = "HCPCS file" if code[:1].isalpha() else "CPT codes of your AMA licence"
        _unknown(
            c,
            clinical,
            field,
            "procedure_unverified",
            f"{code} is not in the shipped CPT/HCPCS table; add the {hint} to check it",
        )
    elif found.window is not None and patient is not None:
        _demographics(code, found.window, day, patient, field, c)


def _demographics(
    code: str, w: CodeWindow, day: date, patient: Patient, at: str, c: RuleCheck
) -> None:
    if w.sex in _SEX_NAMES and patient.sex in _SEX_NAMES and w.sex != patient.sex:
        c.error(
            at,
            "sex_edit",
            f"{code} is for {_SEX_NAMES[w.sex]} patients only; the patient's recorded sex differs",
        )
    if w.age_min is None and w.age_max is None:
        return
    age = (
        day.year - patient.dob.year - ((day.month, day.day) < (patient.dob.month, patient.dob.day))
    )
    low, high = w.age_min or 0, w.age_max if w.age_max is not None else 150
    if not low <= age <= high:
        span = f"{low}-{high}" if w.age_max is not None else f"{low} and over"
        c.error(
            at,
            "age_edit",
            f"{code} is for patients aged {span}; the patient's age on {day} is outside it",
        )


# --- professional / technical component ------------------------------------------------------


def _component(
    line: Charge, w: CodeWindow, pos: str, at: str, c: RuleCheck, clinical: ClinicalCodes
) -> None:
    code, indicator = line.procedure_code, w.pctc_indicator
    used = sorted(_COMPONENT_MODIFIERS & set(line.modifiers))
    facility = pos in clinical.facility_places_of_service
    problem = ""
    if used and indicator in {"0", "2", "3", "4"}:
        problem = (
            f"modifier {'/'.join(used)} on {code}, which has no split to bill (PC/TC {indicator})"
        )
    elif indicator == "1" and facility and "26" not in used:
        bill = "the facility bills TC" if "TC" in used else "append 26 (the facility bills TC)"
        problem = f"{code} at POS {pos}, a facility: bill the professional component only; {bill}"
    elif indicator == "4" and facility:
        problem = (
            f"{code} is a global test (PC/TC 4): at POS {pos} bill the interpretation-only code"
        )
    elif indicator == "3" and facility:
        problem = f"{code} is technical only (PC/TC 3): at POS {pos} the facility bills it"
    elif indicator == "5" and facility:
        problem = f"{code} is an incident-to service (PC/TC 5), not payable to you at POS {pos}"
    if problem:
        c.error(f"{at}.modifiers", "professional_component", problem)


# --- laterality -------------------------------------------------------------------------------


def _laterality(
    line: Charge,
    codes: list[str],
    found: dict[str, Lookup],
    at: str,
    c: RuleCheck,
    clinical: ClinicalCodes,
) -> None:
    named = [
        (m, clinical.laterality_modifiers[m])
        for m in line.modifiers
        if m in clinical.laterality_modifiers
    ]
    sides = {side for _, side in named}
    field = f"{at}.modifiers"
    if {"R", "L"} <= sides:
        c.error(
            field,
            "laterality_mismatch",
            "right and left modifiers on one line: bill two lines, or 50 for a bilateral procedure",
        )
        return
    if not named:
        return
    modifier, side = named[0]
    pointed = [(p, codes[p - 1]) for p in line.diagnosis_pointers if 1 <= p <= len(codes)]
    lateral = {p: _side(found.get(code)) for p, code in pointed}
    if side == "B":
        one_sided = {s for s in lateral.values() if s in {"R", "L"}}
        if len(one_sided) == 1 and "B" not in lateral.values():
            (only,) = one_sided
            c.error(
                field,
                "laterality_mismatch",
                f"modifier {modifier} (bilateral) but the "
                f"diagnoses name the {_SIDE_NAMES[only]} side only",
            )
        return
    for p, code in pointed:
        dx_side = lateral[p]
        if dx_side in {"R", "L"} and dx_side != side:
            c.error(
                field,
                "laterality_mismatch",
                f"modifier {modifier} ({_SIDE_NAMES[side]}) but "
                f"diagnosis {p} ({code}) is of the {_SIDE_NAMES[dx_side]} side",
            )
        elif dx_side == "U":
            c.warning(
                field,
                "laterality_unspecified",
                f"modifier {modifier} but diagnosis {p} ({code}) does not name the side",
            )


def _side(found: Lookup | None) -> str:
    return found.window.laterality if found is not None and found.window is not None else ""


# --- NCCI-style procedure pairs ---------------------------------------------------------------


def _pairs(e: Encounter, c: RuleCheck, clinical: ClinicalCodes) -> None:
    by_day: dict[date, list[Charge]] = {}
    for line in e.charges:
        by_day.setdefault(line.service_date or e.service_date, []).append(line)
    for day, lines in by_day.items():
        billed = {line.procedure_code for line in lines}
        for second in lines:
            for edit in clinical.pairs(second.procedure_code, day):
                if edit.column1 in billed and edit.column1 != second.procedure_code:
                    _pair(second, edit.column1, edit.modifier_indicator, c, clinical)


def _pair(
    line: Charge, column1: str, indicator: str, c: RuleCheck, clinical: ClinicalCodes
) -> None:
    code = line.procedure_code
    at = f"charges[{line.line_number}].procedure_code"
    if indicator == "0":
        c.error(
            at,
            "ncci_pair",
            f"{code} is part of {column1} the same day (NCCI pair, "
            "modifier indicator 0: never billed together)",
        )
    elif indicator == "1" and not _bypass(line.modifiers, clinical.ncci_modifiers):
        c.error(
            at,
            "ncci_pair",
            f"{code} is bundled into {column1} the same day (NCCI pair): "
            "append 25, 59 or XE/XS/XP/XU if it was a separate service",
        )


def _bypass(modifiers: Iterable[str], allowed: frozenset[str]) -> bool:
    return any(m in allowed for m in modifiers)
