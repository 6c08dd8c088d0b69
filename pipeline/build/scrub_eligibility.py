"""Scrubber rules from the 271s on file: nothing is sent that the payer said it will not pay.

Which 271 decides: the answer about the claim's patient and payer for the claim's date of
service (the latest, if asked twice); else the one about the nearest date. Then, in order:

* ``eligibility_rejected`` (error): an AAA about the member (``58``, ``64``-``78``: unknown
  id, name, birth date) for the member id the claim carries -- the claim would be rejected
  too, whatever its date. Any other AAA (payer or system: ``42``, ``79``, ``80``...) is the
  warning ``eligibility_unanswered``.
* ``eligibility_inactive`` (error): EB01 6-8 for the date of service, or eligibility/plan
  dates (DTP*356/357/347) that exclude it. Inactive on another date asked about is the
  warning ``eligibility_inactive_near`` (verify before sending again).
* ``oon_not_covered`` (error): the claim's network (the payer profile's ``network_status``)
  is ``EB*I`` for the whole plan. A warning instead for emergencies and for services at a
  participating facility (the No Surprises Act makes the plan pay), and when the claim
  carries an authorization number (a network-gap exception).
* ``prior_auth_271`` (error): the 271 requires prior authorization for a line's procedure
  (EB13) or service type (EB03, via ``procedure_service_types.csv``), at its place of service
  (2115C III) when it names one, and the claim has no authorization number. Codes the payer
  profile lists already are reported once, by the profile's rule.
* ``eligibility_unverified`` (warning): no 271 on file. The claim is sent -- the scrubber never
  blocks billing on the clearinghouse's silence; the nightly asks a 270 for every encounter it
  is about to bill, so this means the payer has not answered (yet).

Plan-design facts (networks, prior auth) from a 271 about another date hold within the same
plan year (DTP*346/347, else the calendar year). A void (frequency 8) is never held by these
rules: it takes back a claim sent before.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Container, Iterable
from datetime import date
from typing import Protocol

from pipeline.build.codes import CodeSets
from pipeline.build.common import no_cyclic_gc
from pipeline.build.service_types import ServiceTypeMap
from pipeline.parse.coverage import NOT_COVERED, CoverageFacts
from pipeline.practice.model import Appointment, Coverage, Encounter, Payer, Practice

__all__ = [
    "EMERGENCY_CODES",
    "MEMBER_REJECTIONS",
    "EligibilityOnFile",
    "FindingSink",
    "claim_inquiries",
    "eligibility_rules",
]

MEMBER_REJECTIONS = frozenset(
    {"58", "64", "65", "66", "67", "68", "69", "70", "71", "72", "73", "74", "75", "76", "77", "78"}
)
"""AAA03 codes that say the member data is wrong: a claim with it is rejected too."""
EMERGENCY_CODES = frozenset({"99281", "99282", "99283", "99284", "99285"})
EMERGENCY_POS = "23"
# No Surprises Act settings: participating hospital, outpatient department, ASC (DOMAIN §9.2).
NSA_FACILITY_POS = frozenset({"19", "21", "22", "24"})


class EligibilityOnFile:
    """The 271 facts the ledger holds, looked up per claim; ``service_types`` maps procedures."""

    def __init__(self, facts: Iterable[CoverageFacts], service_types: ServiceTypeMap) -> None:
        self.service_types = service_types
        self._by_key: dict[tuple[str, str], list[CoverageFacts]] = defaultdict(list)
        for fact in facts:  # ledger order: a later answer about the same date wins
            self._by_key[(fact.patient_id, fact.payer_id)].append(fact)

    def for_claim(self, patient_id: str, payer_id: str, on: date) -> CoverageFacts | None:
        """The answer about ``on``, else the one about the nearest date (the later on a tie)."""
        best: tuple[int, int, int] | None = None
        chosen = None
        for order, fact in enumerate(self._by_key.get((patient_id, payer_id), ())):
            if fact.service_date is None:
                continue
            gap = abs((fact.service_date - on).days)
            rank = (gap, -fact.service_date.toordinal(), -order)
            if best is None or rank < best:
                best, chosen = rank, fact
        return chosen


class FindingSink(Protocol):
    """What a rule needs from the scrubber's per-encounter check (``scrub._Check``)."""

    eligibility: EligibilityOnFile | None
    coverages: dict[tuple[str, str], Coverage]
    prior_auth: dict[str, frozenset[str]]

    def error(self, field: str, rule: str, message: str) -> None: ...

    def warning(self, field: str, rule: str, message: str) -> None: ...


def eligibility_rules(
    p: Practice, e: Encounter, c: FindingSink, today: date, codes: CodeSets
) -> None:
    """The rules above; nothing at all without a ledger (``claimflow build 837p`` alone)."""
    on_file = c.eligibility
    coverage = c.coverages.get((e.patient_id, e.coverage_priority))
    if on_file is None or coverage is None or coverage.payer_id not in p.payers:
        return  # coverage_missing / payer_unknown hold it already
    if e.frequency == "8":
        return  # a void takes back a claim sent before: coverage does not matter
    payer = p.payers[coverage.payer_id]
    facts = on_file.for_claim(e.patient_id, payer.payer_id, e.service_date)
    member_id = coverage.patient_member_id or coverage.member_id
    if facts is not None and facts.member_id and facts.member_id.upper() != member_id.upper():
        facts = None  # answered about another member id: the practice has corrected it since
    if facts is None:
        c.warning(
            "eligibility", "eligibility_unverified",
            f"no 271 on file from {payer.payer_id} for {e.service_date}: sent unverified",
        )  # fmt: skip
        return
    asked = f"271 of {facts.service_date}"
    if facts.status == "rejected":
        _rejected(facts, asked, c)
    elif facts.status == "inactive" or facts.dated_out(e.service_date):
        _inactive(facts, asked, e, c)
    elif facts.service_date == e.service_date or facts.same_plan_period(e.service_date):
        _network(facts, asked, payer, e, c)
        _prior_auth(facts, asked, payer, e, c, on_file.service_types)


def _rejected(facts: CoverageFacts, asked: str, c: FindingSink) -> None:
    code = facts.reject_reason_code
    why = f"{asked}: AAA {code} {facts.reject_reason}".rstrip()
    if code in MEMBER_REJECTIONS:
        c.error(
            "coverage.member_id", "eligibility_rejected",
            f"{why}; correct the member data, ask again, then send",
        )  # fmt: skip
    else:
        c.warning("eligibility", "eligibility_unanswered", f"{why}; coverage not verified")


def _inactive(facts: CoverageFacts, asked: str, e: Encounter, c: FindingSink) -> None:
    end = facts.eligibility_end or facts.plan_end
    if facts.dated_out(e.service_date):
        c.error(
            "service_date", "eligibility_inactive",
            f"{asked}: eligibility {facts.eligibility_begin or '...'} to {end or '...'} "
            f"excludes {e.service_date}",
        )  # fmt: skip
    elif facts.service_date == e.service_date:
        c.error(
            "service_date", "eligibility_inactive",
            f"{asked}: coverage inactive on the date of service; find current coverage",
        )  # fmt: skip
    else:
        c.warning(
            "service_date", "eligibility_inactive_near",
            f"{asked}: coverage inactive then; verify {e.service_date} before the payer does",
        )  # fmt: skip


def _network(facts: CoverageFacts, asked: str, payer: Payer, e: Encounter, c: FindingSink) -> None:
    network = "in-network" if payer.in_network else "out-of-network"
    if facts.coverage(payer.in_network) != NOT_COVERED:
        return
    protected = _nsa_reason(e)
    if protected:
        c.warning(
            "coverage", "oon_not_covered",
            f"{asked}: no {network} benefit (EB*I); sent: {protected}",
        )  # fmt: skip
    elif e.prior_auth:
        c.warning(
            "coverage", "oon_not_covered",
            f"{asked}: no {network} benefit (EB*I); sent with authorization (network-gap "
            "exception)",
        )  # fmt: skip
    else:
        c.error(
            "coverage", "oon_not_covered",
            f"{asked}: no {network} benefit (EB*I); bill the patient (self-pay, good-faith "
            "estimate) or get a network-gap exception",
        )  # fmt: skip


def _nsa_reason(e: Encounter) -> str:
    """Why the No Surprises Act makes the plan cover it anyway (DOMAIN §9.2), or ``""``."""
    places = {e.place_of_service, *(ch.place_of_service or "" for ch in e.charges)}
    codes = {ch.procedure_code for ch in e.charges}
    if e.emergency or EMERGENCY_POS in places or codes & EMERGENCY_CODES:
        return "emergency services (No Surprises Act)"
    facility = sorted(places & NSA_FACILITY_POS)
    if facility:
        return f"services at a participating facility, POS {', '.join(facility)} (No Surprises Act)"
    return ""


def _prior_auth(
    facts: CoverageFacts,
    asked: str,
    payer: Payer,
    e: Encounter,
    c: FindingSink,
    service_types: ServiceTypeMap,
) -> None:
    if e.prior_auth:
        return
    profile = set(c.prior_auth.get(payer.payer_id, frozenset()))
    for rule in payer.rules:
        if rule.rule == "prior_auth_required":
            profile.update(rule.procedures)
    needs: dict[str, str] = {}
    for ch in e.charges:
        code = ch.procedure_code
        if code in profile or code in needs:
            continue
        place = ch.place_of_service or e.place_of_service
        found = facts.authorization_for(code, service_types.of(code), place, payer.in_network)
        if found is not None:
            needs[code] = (
                found.describe() if found.procedure_code else f"{code} ({found.describe()})"
            )
    if needs:
        contact = f"; contact {facts.prior_auth_contact}" if facts.prior_auth_contact else ""
        listed = ", ".join(needs.values())
        c.error(
            "prior_auth", "prior_auth_271",
            f"{asked}: prior authorization required for {listed}{contact}",
        )  # fmt: skip


@no_cyclic_gc()
def claim_inquiries(
    encounters: Iterable[Encounter], *, on: date, asked: Container[tuple[object, object]]
) -> list[Appointment]:
    """One 270 question (``EQ*30``) per patient and date of service about to be billed.

    As appointments, so the 270 builder asks them like tomorrow's visits; the encounter id
    stands for the appointment id in its findings. Future dates, voids and (patient, date)
    pairs asked before are left out.
    """
    out: dict[tuple[str, date], Appointment] = {}
    for e in encounters:
        key = (e.patient_id, e.service_date)
        if e.service_date > on or e.frequency == "8" or key in asked or key in out:
            continue
        # Not validated (the encounter's fields were): pydantic's validation keeps a copy of
        # the strings it sees in a cache of its own, which pinned the memory the build frees.
        out[key] = Appointment.model_construct(
            appointment_id=e.encounter_id,
            patient_id=e.patient_id,
            provider_id=e.rendering_provider_id,
            date=e.service_date,
            service_types=["30"],
        )
    return list(out.values())
