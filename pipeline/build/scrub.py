"""The claim scrubber: front-end edits run before anything is built (DOMAIN §4.6, SNIP 1-7).

Every :class:`Finding` names the encounter, the field (our model's name, 1-based
positions: ``diagnoses[2]``, ``charges[1].modifiers``) and the rule. Errors hold the
claim (it is reported, never sent); warnings are reported and the claim is sent.
Payer rules come from ``mappings/payers/*.yaml`` (``prior_auth_procedures`` and
``rules:``); code lists from ``mappings/codes``. Rules kept in their own modules are
registered in ``_ENCOUNTER_RULES``: :mod:`pipeline.build.scrub_eligibility` (the 271s on
file, when the caller passes ``eligibility``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Literal

from stdnum import luhn
from stdnum.us import ein as us_ein

from pipeline.build.cob import cob_rules
from pipeline.build.codes import ICD10, PROCEDURE, CodeSets
from pipeline.build.coding import coding_rules
from pipeline.build.common import no_cyclic_gc
from pipeline.build.integrity import integrity_rules
from pipeline.build.scrub_eligibility import EligibilityOnFile, eligibility_rules
from pipeline.practice.model import Charge, Coverage, Encounter, Payer, PayerRule, Practice

__all__ = [
    "FACILITY_POS",
    "Finding",
    "ScrubReport",
    "Severity",
    "format_report",
    "npi_is_valid",
    "scrub",
]

Severity = Literal["error", "warning"]

MODIFIER = re.compile(r"^[A-Z0-9]{2}$")
PCN = re.compile(r"^[A-Z0-9]{1,20}$")
NDC = re.compile(r"^[0-9]{11}$")
TAXONOMY = re.compile(r"^[0-9A-Z]{9}X$")
TELEHEALTH_POS = frozenset({"02", "10"})
TELEHEALTH_MODIFIERS = frozenset({"95", "GT", "93", "FQ"})
# Hospital, ER and ASC places of service: the claim must name the facility (2310C, box 32);
# these are the No Surprises Act facility settings.
FACILITY_POS = frozenset({"19", "21", "22", "23", "24"})
MAX_DIAGNOSES = 12
MAX_LINES = 50
MAX_MODIFIERS = 4
MAX_POINTERS = 4
TIMELY_FILING_WARNING_DAYS = 14


@dataclass(frozen=True, slots=True)
class Finding:
    encounter_id: str
    patient_control_number: str
    field: str
    rule: str
    severity: Severity
    message: str

    def __str__(self) -> str:
        return (
            f"{self.encounter_id} ({self.patient_control_number}) {self.severity} "
            f"[{self.rule}] {self.field}: {self.message}"
        )


@dataclass
class ScrubReport:
    findings: list[Finding]

    @property
    def held(self) -> set[str]:
        """Encounter ids with at least one error."""
        return {f.encounter_id for f in self.findings if f.severity == "error"}

    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def for_encounter(self, encounter_id: str) -> list[Finding]:
        return [f for f in self.findings if f.encounter_id == encounter_id]

    def by_encounter(self) -> dict[str, list[Finding]]:
        """Findings grouped by encounter id, in report order (one pass for many encounters)."""
        grouped: dict[str, list[Finding]] = defaultdict(list)
        for finding in self.findings:
            grouped[finding.encounter_id].append(finding)
        return dict(grouped)


@lru_cache(maxsize=4096)
def npi_is_valid(npi: str) -> bool:
    """10 digits starting 1 or 2, Luhn check digit over ``80840`` + NPI (stdnum)."""
    return len(npi) == 10 and npi.isdigit() and npi[0] in "12" and luhn.is_valid("80840" + npi)


class _Check:
    """Collects findings for one encounter."""

    def __init__(
        self,
        encounter: Encounter,
        out: list[Finding],
        coverages: dict[tuple[str, str], Coverage],
    ) -> None:
        self.encounter = encounter
        self.out = out
        self.coverages = coverages
        self.prior_auth: dict[str, frozenset[str]] = {}
        self.memo: dict[object, object] = {}
        """Per scrub run, for rule modules (``pipeline.build.rules.RuleCheck``)."""
        self.eligibility: EligibilityOnFile | None = None

    def error(self, field: str, rule: str, message: str) -> None:
        self._add(field, rule, "error", message)

    def warning(self, field: str, rule: str, message: str) -> None:
        self._add(field, rule, "warning", message)

    def _add(self, field: str, rule: str, severity: Severity, message: str) -> None:
        e = self.encounter
        self.out.append(
            Finding(e.encounter_id, e.patient_control_number, field, rule, severity, message)
        )


@no_cyclic_gc()
def scrub(
    practice: Practice,
    encounters: Iterable[Encounter] | None = None,
    *,
    today: date,
    codes: CodeSets,
    eligibility: EligibilityOnFile | None = None,
) -> ScrubReport:
    """Run every front-end edit on ``encounters`` (default: all of the practice's).

    ``eligibility``: the 271s on file (from the ledger); without it no eligibility rule runs.
    """
    encounters = list(practice.encounters if encounters is None else encounters)
    findings: list[Finding] = []
    findings.extend(_billing_provider(practice, encounters))
    seen: dict[tuple[object, ...], str] = {}
    pcns: dict[str, str] = {}
    coverages: dict[tuple[str, str], Coverage] = {}
    for coverage in practice.coverages:  # the first one at a priority wins
        coverages.setdefault((coverage.patient_id, coverage.priority), coverage)
    prior_auth = {k: frozenset(p.prior_auth_procedures) for k, p in practice.payers.items()}
    memo: dict[object, object] = {}
    for encounter in encounters:
        check = _Check(encounter, findings, coverages)
        check.prior_auth, check.memo = prior_auth, memo
        check.eligibility = eligibility
        for rule in _ENCOUNTER_RULES:
            rule(practice, encounter, check, today, codes)
        _duplicates(encounter, check, seen, pcns)
    return ScrubReport(findings)


def _billing_provider(practice: Practice, encounters: list[Encounter]) -> Iterator[Finding]:
    """A bad billing provider holds every claim: report it on each."""
    bp = practice.billing_provider
    problems: list[tuple[str, str, str]] = []
    if not npi_is_valid(bp.npi):
        problems.append(("billing_provider.npi", "npi_check_digit", f"NPI {bp.npi} is invalid"))
    if not us_ein.is_valid(bp.ein):
        problems.append(("billing_provider.ein", "tax_id", f"EIN {bp.ein} is invalid"))
    if len(bp.address.zip) != 9 or not bp.address.zip.isdigit():
        problems.append(("billing_provider.address.zip", "zip_plus_4", "ZIP+4 (9 digits) needed"))
    if re.search(r"\bP\.?\s*O\.?\s*BOX\b", bp.address.line1.upper()):
        problems.append(
            ("billing_provider.address.line1", "po_box", "PO box not allowed; use pay-to")
        )
    for encounter in encounters:
        for field, rule, message in problems:
            yield Finding(
                encounter.encounter_id, encounter.patient_control_number, field, rule, "error",
                message,
            )  # fmt: skip


# --- encounter rules (each: practice, encounter, check, today, codes) ---------------------------

Rule = Callable[[Practice, Encounter, _Check, date, CodeSets], None]


def _identity(p: Practice, e: Encounter, c: _Check, today: date, codes: CodeSets) -> None:
    if not PCN.match(e.patient_control_number):
        c.error("patient_control_number", "pcn_format", "must be 1-20 letters/digits")
    patient = p.patients.get(e.patient_id)
    if patient is not None and patient.dob > e.service_date:
        c.error("patient.dob", "dob_after_dos", "date of birth after the date of service")
    if patient is not None and patient.aob == "missing":
        c.error("patient.aob", "aob_missing", "no assignment of benefits on file (signed/refused)")
    elif patient is not None and patient.aob == "refused":
        c.warning("patient.aob", "aob_refused", "AOB refused: CLM08=W, the payer pays the patient")


def _coverage(p: Practice, e: Encounter, c: _Check, today: date, codes: CodeSets) -> None:
    coverage = c.coverages.get((e.patient_id, e.coverage_priority))
    if coverage is None:
        c.error("coverage_priority", "coverage_missing", f"no {e.coverage_priority} coverage")
        return
    payer = p.payers.get(coverage.payer_id)
    if payer is None:
        c.error("coverage.payer_id", "payer_unknown", f"payer {coverage.payer_id} has no profile")
    if not (coverage.patient_member_id or coverage.member_id):
        c.error("coverage.member_id", "member_id_missing", "no member id")
    if not coverage.is_self and not (
        coverage.subscriber_last_name and coverage.subscriber_first_name
    ):
        c.error("coverage.subscriber_last_name", "subscriber_missing", "subscriber name needed")
    dates = [e.service_date, *(ch.service_date for ch in e.charges if ch.service_date)]
    first, last = min(dates), max(dates)
    if (coverage.effective_from and first < coverage.effective_from) or (
        coverage.effective_to and last > coverage.effective_to
    ):
        span = f"{coverage.effective_from or '...'} to {coverage.effective_to or '...'}"
        c.error("service_date", "dos_outside_coverage", f"coverage {span} excludes the DOS")
    if e.coverage_priority in {"S", "T"}:
        if e.primary_adjudication is None:
            c.error("primary_adjudication", "cob_missing", "secondary claim needs the primary EOB")
        elif (e.patient_id, "P") not in c.coverages:
            c.error("coverage_priority", "cob_missing", "secondary claim without a primary")
    if payer is not None:
        _payer_rules(payer, e, c, today)


def _payer_rules(payer: Payer, e: Encounter, c: _Check, today: date) -> None:
    age = (today - e.service_date).days
    if age > payer.timely_filing_days:
        c.error(
            "service_date", "timely_filing",
            f"{age} days after DOS; {payer.payer_id} allows {payer.timely_filing_days}",
        )  # fmt: skip
    elif age > payer.timely_filing_days - TIMELY_FILING_WARNING_DAYS:
        c.warning("service_date", "timely_filing_soon", f"{age} days after DOS")
    needs_auth: list[str] = []
    if not e.prior_auth:
        listed = c.prior_auth.get(payer.payer_id, frozenset())
        needs_auth = sorted({ch.procedure_code for ch in e.charges if ch.procedure_code in listed})
    if needs_auth:
        c.error(
            "prior_auth", "prior_auth_missing",
            f"{payer.payer_id} requires prior authorization for {', '.join(needs_auth)}",
        )  # fmt: skip
    for rule in payer.rules:
        handler = _PAYER_RULES.get(rule.rule)
        if handler is None:
            c.warning("payer", "payer_rule_unknown", f"rule {rule.rule!r} is not implemented")
            continue
        handler(rule, e, c)


def _max_units(rule: PayerRule, e: Encounter, c: _Check) -> None:
    if rule.max_units is None:
        return
    per_day: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    for ch in e.charges:
        if ch.procedure_code in rule.procedures:
            per_day[(ch.procedure_code, ch.service_date or e.service_date)] += ch.units
    for (code, _day), units in sorted(per_day.items()):
        if units > rule.max_units:
            c.error("charges.units", rule.rule, f"{code} x {units}: {rule.message}")


def _referral_required(rule: PayerRule, e: Encounter, c: _Check) -> None:
    codes = sorted({ch.procedure_code for ch in e.charges} & set(rule.procedures))
    if codes and not e.referral_number:
        c.error("referral_number", rule.rule, rule.message or f"referral needed for {codes}")


def _prior_auth_rule(rule: PayerRule, e: Encounter, c: _Check) -> None:
    codes = sorted({ch.procedure_code for ch in e.charges} & set(rule.procedures))
    if codes and not e.prior_auth:
        c.error("prior_auth", rule.rule, rule.message or f"prior auth needed for {codes}")


_PAYER_RULES: dict[str, Callable[[PayerRule, Encounter, _Check], None]] = {
    "max_units": _max_units,
    "referral_required": _referral_required,
    "referral_required_for_specialist": _referral_required,
    "prior_auth_required": _prior_auth_rule,
}


def _providers(p: Practice, e: Encounter, c: _Check, today: date, codes: CodeSets) -> None:
    for role, provider_id in (("rendering", e.rendering_provider_id),
                              ("referring", e.referring_provider_id)):  # fmt: skip
        if not provider_id:
            continue
        provider = p.providers.get(provider_id)
        field = f"{role}_provider"
        if provider is None:
            c.error(f"{field}_id", "provider_unknown", f"no provider {provider_id!r}")
        elif not npi_is_valid(provider.npi):
            c.error(f"{field}.npi", "npi_check_digit", f"NPI {provider.npi} fails the check digit")
        elif provider.taxonomy and not TAXONOMY.match(provider.taxonomy):
            c.error(f"{field}.taxonomy", "taxonomy_format", f"taxonomy {provider.taxonomy!r}")


def _facility(p: Practice, e: Encounter, c: _Check, today: date, codes: CodeSets) -> None:
    """2310C service facility: required at hospital/ER/ASC places of service (DOMAIN §4.1)."""
    if not e.facility_id:
        places = {e.place_of_service, *(ch.place_of_service or "" for ch in e.charges)}
        at_facility = sorted(places & FACILITY_POS)
        if at_facility:
            c.error(
                "facility_id", "service_facility_missing",
                f"POS {', '.join(at_facility)} needs the service facility (2310C, box 32)",
            )  # fmt: skip
        return
    facility = p.facilities.get(e.facility_id)
    if facility is None:
        c.error("facility_id", "service_facility_missing", f"no facility {e.facility_id!r}")
        return
    if not npi_is_valid(facility.npi):
        c.error("service_facility.npi", "npi_check_digit", f"NPI {facility.npi} is invalid")
    if len(facility.address.zip) != 9 or not facility.address.zip.isdigit():
        c.error("service_facility.address.zip", "zip_plus_4", "ZIP+4 (9 digits) needed")


def _diagnoses(p: Practice, e: Encounter, c: _Check, today: date, codes: CodeSets) -> None:
    if not e.diagnoses:
        c.error("diagnoses", "diagnosis_missing", "at least one ICD-10-CM code is required")
    if len(e.diagnoses) > MAX_DIAGNOSES:
        c.error("diagnoses", "diagnosis_count", f"{len(e.diagnoses)} codes; 12 fit on a claim")
    for i, code in enumerate(e.diagnoses, start=1):
        if not ICD10.match(code):
            hint = " (send it without the decimal point)" if "." in code else ""
            c.error(f"diagnoses[{i}]", "icd10_format", f"{code!r} is not an ICD-10-CM code{hint}")
    if len(set(e.diagnoses)) != len(e.diagnoses):
        c.warning("diagnoses", "diagnosis_repeated", "a diagnosis code appears twice")


def _claim(p: Practice, e: Encounter, c: _Check, today: date, codes: CodeSets) -> None:
    if e.place_of_service not in codes.places_of_service:
        c.error("place_of_service", "pos_invalid", f"{e.place_of_service!r} is not a POS code")
    if e.service_date > today:
        c.error("service_date", "dos_future", f"{e.service_date} is after {today}")
    if e.service_date_end and e.service_date_end < e.service_date:
        c.error("service_date_end", "dos_range", "end date before start date")
    if e.frequency in {"7", "8"} and not e.original_claim_number:
        kind = "replacement" if e.frequency == "7" else "void"
        c.error(
            "original_claim_number", "original_claim_missing",
            f"a {kind} (frequency {e.frequency}) needs the payer's claim number (REF*F8)",
        )  # fmt: skip
    elif e.frequency == "1" and e.original_claim_number:
        c.warning("original_claim_number", "original_claim_unused", "ignored on an original")
    if not e.charges:
        c.error("charges", "lines_missing", "no service lines")
    if len(e.charges) > MAX_LINES:
        c.error("charges", "line_count", f"{len(e.charges)} lines; 50 fit on a claim")
    if e.total_charge is not None and e.total_charge != e.line_total:
        c.error(
            "total_charge", "charge_total",
            f"total {e.total_charge} != sum of line charges {e.line_total} (CLM02 = ΣSV102)",
        )  # fmt: skip
    if e.place_of_service in TELEHEALTH_POS and not any(
        TELEHEALTH_MODIFIERS & set(ch.modifiers) for ch in e.charges
    ):
        c.warning("charges.modifiers", "telehealth_modifier", "POS 02/10 without modifier 95")
    if e.emergency and e.place_of_service != "23":
        c.warning("emergency", "emergency_pos", f"emergency at POS {e.place_of_service}")
    if e.accident_cause and e.accident_cause not in {"AA", "EM", "OA"}:
        c.error("accident_cause", "accident_cause", f"{e.accident_cause!r}: AA, EM or OA")
    if e.accident_cause == "AA" and not e.accident_state:
        c.error("accident_state", "accident_state", "auto accident needs the state")


def _lines(p: Practice, e: Encounter, c: _Check, today: date, codes: CodeSets) -> None:
    for ch in e.charges:
        _line(e, ch, c, today, codes)


def _line(e: Encounter, ch: Charge, c: _Check, today: date, codes: CodeSets) -> None:
    at = f"charges[{ch.line_number}]"
    code = ch.procedure_code
    if not PROCEDURE.match(code):
        c.error(f"{at}.procedure_code", "procedure_format", f"{code!r} is not CPT/HCPCS")
    elif code not in codes.charge_master:
        c.warning(f"{at}.procedure_code", "procedure_unknown", f"{code} not in the charge master")
    if len(ch.modifiers) > MAX_MODIFIERS:
        c.error(f"{at}.modifiers", "modifier_count", f"{len(ch.modifiers)} modifiers; 4 fit")
    for modifier in ch.modifiers:
        if not MODIFIER.match(modifier):
            c.error(f"{at}.modifiers", "modifier_format", f"{modifier!r} is not a modifier")
        elif modifier not in codes.modifiers:
            c.warning(f"{at}.modifiers", "modifier_unknown", f"{modifier} not in modifiers.csv")
    if ch.units <= 0:
        c.error(f"{at}.units", "units_zero", f"units {ch.units}: must be more than zero")
    if ch.charge < 0:
        c.error(f"{at}.charge", "charge_negative", f"charge {ch.charge} is negative")
    if not ch.diagnosis_pointers:
        c.error(f"{at}.diagnosis_pointers", "pointer_missing", "no diagnosis pointer")
    if len(ch.diagnosis_pointers) > MAX_POINTERS:
        c.error(f"{at}.diagnosis_pointers", "pointer_count", "at most 4 pointers")
    for pointer in ch.diagnosis_pointers:
        if not 1 <= pointer <= len(e.diagnoses):
            c.error(
                f"{at}.diagnosis_pointers", "pointer_invalid",
                f"pointer {pointer} but the claim has {len(e.diagnoses)} diagnoses",
            )  # fmt: skip
    if ch.service_date and ch.service_date != e.service_date and ch.service_date > today:
        c.error(f"{at}.service_date", "dos_future", f"{ch.service_date} is after {today}")
    if ch.place_of_service and ch.place_of_service not in codes.places_of_service:
        c.error(f"{at}.place_of_service", "pos_invalid", f"{ch.place_of_service!r} not a POS")
    if ch.ndc is not None:
        if not NDC.match(ch.ndc):
            c.error(f"{at}.ndc", "ndc_format", f"{ch.ndc!r}: NDC is 11 digits (5-4-2)")
        if ch.ndc_quantity is None or ch.ndc_quantity <= 0 or not ch.ndc_unit:
            c.error(f"{at}.ndc_quantity", "ndc_quantity", "NDC needs a quantity and a unit")
        elif ch.ndc_unit not in {"F2", "GR", "ME", "ML", "UN"}:
            c.error(f"{at}.ndc_unit", "ndc_unit", f"{ch.ndc_unit!r}: F2, GR, ME, ML or UN")


def _duplicates(
    e: Encounter, c: _Check, seen: dict[tuple[object, ...], str], pcns: dict[str, str]
) -> None:
    other = pcns.setdefault(e.patient_control_number, e.encounter_id)
    if other != e.encounter_id:
        c.error("patient_control_number", "pcn_duplicate", f"same PCN as {other}")
    if e.frequency != "1":
        return
    for ch in e.charges:
        key = (
            e.patient_id, e.coverage_priority, ch.service_date or e.service_date,
            ch.procedure_code, tuple(ch.modifiers), ch.charge,
        )  # fmt: skip
        first = seen.setdefault(key, e.encounter_id)
        if first != e.encounter_id:
            c.error(
                f"charges[{ch.line_number}]", "duplicate",
                f"same patient, date, procedure {ch.procedure_code} and charge as {first}",
            )  # fmt: skip
            return


_ENCOUNTER_RULES: tuple[Rule, ...] = (
    _identity, _coverage, _providers, _facility, _diagnoses, _claim, _lines,
    integrity_rules,  # pipeline.build.integrity
    cob_rules,  # pipeline.build.cob
    coding_rules,  # pipeline.build.coding: code sets by date of service
    eligibility_rules,  # pipeline.build.scrub_eligibility: the 271s on file
)  # fmt: skip


def format_report(report: ScrubReport, *, built: int) -> str:
    """The text ``claimflow build 837p`` prints: held claims with reasons, then warnings."""
    held = report.held
    lines = [f"scrub: {built} claim(s) built, {len(held)} held"]
    by_encounter = report.by_encounter()
    for encounter_id in sorted(held):
        findings = by_encounter[encounter_id]
        lines.append(f"HELD {encounter_id} ({findings[0].patient_control_number})")
        lines.extend(
            f"  error   [{f.rule}] {f.field}: {f.message}"
            for f in findings
            if f.severity == "error"
        )
    warned = sorted(e for e, fs in by_encounter.items() if e not in held)
    for encounter_id in warned:
        for f in by_encounter[encounter_id]:
            lines.append(f"sent {encounter_id}: warning [{f.rule}] {f.field}: {f.message}")
    return "\n".join(lines)
