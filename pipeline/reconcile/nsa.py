"""No Surprises Act: who is protected, and what a protected line's remittance means.

**Protection is decided from data** (DOMAIN.md §9.2; 45 CFR 149.110–149.130, 149.410–149.420),
never from the place of service alone, in this order:

1. an in-network plan, or a plan outside the federal law (Medicare, Medicaid, TRICARE, ... by
   the claim filing indicator, ``mappings/nsa/excluded_plans.csv``) → not protected;
2. emergency services (emergency indicator, POS 23, CPT 99281–99285) → protected;
3. air ambulance (A0430/A0431/A0435/A0436) → protected;
4. non-emergency services at a facility (POS 19/21/22/24) → protected when the facility is in
   the plan's network (``facility_networks.csv``); out of network → not protected; not on
   file → presumed protected (protection is only ever removed by data);
5. the payer applied NSA rules (RARC N830/N864–N877) → protected;
6. a notice-and-consent form on file (date, services) waives protection for the services it
   lists — never for emergency or ancillary services (``ancillary_services.csv``), nor when
   signed after the service;
7. where the state's own surprise-billing law governs the plan (``state_laws.csv``; fully
   insured in that state, or self-funded and opted in) the service stays protected but the
   state's process decides the payment, not open negotiation and the federal IDR.

**Framing of a protected line** (out-of-network plan, not wholly denied):

- ``nsa_violation`` — balance billing: PR-45 on the patient, or patient cost sharing above
  the in-network level computed on the recognized amount (lesser of QPA and billed charge)
  with the in-network coinsurance and deductible of the 271;
- ``payment_dispute`` — the plan allowed (paid + patient cost sharing) less than the
  practice's offer (its out-of-network rate, or a multiple of the QPA; ``policy.yaml``) by more
  than the policy's minimum per claim: open negotiation, not a violation. The QPA the plan
  disclosed is shown beside the offer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from pipeline.reconcile.expected import (
    AIR_AMBULANCE_CODES,
    EMERGENCY_CODES,
    LineExpectation,
    cents,
)
from pipeline.reconcile.matching import RemitClaim, RemitLine, SubClaim, SubLine
from pipeline.reconcile.nsa_cases import CaseEventLike, CaseState, case_state
from pipeline.reconcile.nsa_reference import NsaReference
from pipeline.reconcile.reference import FeeSchedule, PayerProfile

__all__ = [
    "FACILITY_POS",
    "ClaimFacts",
    "LineFacts",
    "LineView",
    "NsaContext",
    "NsaFinding",
    "NsaOutcome",
    "Protection",
    "check_claim",
    "check_protected_lines",
    "decide_protection",
    "in_network_limit",
    "line_facts",
    "offer_amount",
]

ZERO = Decimal(0)
HUNDRED = Decimal(100)
FACILITY_POS = frozenset({"19", "21", "22", "24"})
_CATEGORY_WORDS = {
    "emergency": "emergency services",
    "air_ambulance": "air ambulance services",
    "facility": "non-emergency services by an out-of-network provider at an in-network facility",
    "payer": "services the plan processed under the No Surprises Act",
}


@dataclass(frozen=True)
class Protection:
    protected: bool
    category: str  # emergency | facility | air_ambulance | payer | ""
    reason: str  # plain words: why (not) protected
    state_law: str = ""  # the state law that applies instead of the federal process


@dataclass(frozen=True)
class ClaimFacts:
    payer_id: str
    in_network_plan: bool
    claim_filing_indicator: str
    place_of_service: str
    emergency: bool
    service_date: date
    facility_npi: str = ""
    facility_name: str = ""
    service_state: str = ""
    rendering_taxonomy: str = ""
    consent_date: date | None = None
    consent_services: frozenset[str] = frozenset()
    plan_funding: str = ""
    plan_state: str = ""
    state_opt_in: bool = False

    @classmethod
    def of(
        cls, claim: Mapping[str, Any], payer: PayerProfile | None, practice_state: str = ""
    ) -> ClaimFacts:
        """From a submitted-claim mapping (``SubClaim.as_mapping()`` plus its extras)."""
        consent = str(claim.get("nsa_consent_date") or "")
        in_network = (
            payer.in_network if payer is not None else claim.get("network_status") == "in_network"
        )
        return cls(
            payer_id=str(claim.get("payer_id") or ""),
            in_network_plan=in_network,
            claim_filing_indicator=str(
                claim.get("claim_filing_indicator")
                or (payer.claim_filing_indicator if payer else "")
            ),
            place_of_service=str(claim.get("place_of_service") or ""),
            emergency=bool(claim.get("emergency")),
            service_date=claim["service_date_start"],
            facility_npi=str(claim.get("facility_npi") or ""),
            facility_name=str(claim.get("facility_name") or ""),
            service_state=str(claim.get("facility_state") or practice_state or "").upper(),
            rendering_taxonomy=str(claim.get("rendering_taxonomy") or ""),
            consent_date=date.fromisoformat(consent[:10]) if consent else None,
            consent_services=frozenset(str(claim.get("nsa_consent_services") or "").split()),
            plan_funding=payer.plan_funding if payer else "",
            plan_state=(payer.plan_state if payer else "").upper(),
            state_opt_in=payer.state_opt_in if payer else False,
        )


@dataclass(frozen=True)
class LineFacts:
    line_control_number: str
    procedure_code: str
    modifiers: tuple[str, ...] = ()
    place_of_service: str = ""
    emergency: bool = False
    remark_codes: tuple[str, ...] = ()


def _category(
    facts: ClaimFacts, lines: Sequence[LineFacts], ref: NsaReference, nsa_remarks: frozenset[str]
) -> Protection:
    codes = {ln.procedure_code for ln in lines}
    places = {ln.place_of_service or facts.place_of_service for ln in lines}
    if (
        facts.emergency
        or "23" in places
        or any(ln.emergency for ln in lines)
        or (codes & EMERGENCY_CODES)
    ):
        return Protection(True, "emergency", _CATEGORY_WORDS["emergency"])
    if codes & AIR_AMBULANCE_CODES:
        return Protection(True, "air_ambulance", _CATEGORY_WORDS["air_ambulance"])
    if places & FACILITY_POS:
        return _facility(facts, ref)
    marked = sorted({r for ln in lines for r in ln.remark_codes} & nsa_remarks)
    if marked:
        return Protection(True, "payer", f"{_CATEGORY_WORDS['payer']} (RARC {', '.join(marked)})")
    return Protection(
        False, "", "non-emergency services outside an in-network facility are not protected"
    )


def _facility(facts: ClaimFacts, ref: NsaReference) -> Protection:
    name = facts.facility_name or ref.facility_name(facts.facility_npi) or "the facility"
    status = (
        ref.facility_network(facts.facility_npi, facts.payer_id, facts.service_date)
        if facts.facility_npi
        else ""
    )
    words = _CATEGORY_WORDS["facility"]
    if status == "out_of_network":
        return Protection(False, "", f"{name} is not in the plan's network: not protected")
    if status == "in_network":
        return Protection(True, "facility", f"{words} ({name})")
    return Protection(
        True, "facility", f"{words} ({name}; network status not on file, treated as protected)"
    )


def _state_law(facts: ClaimFacts, category: str, ref: NsaReference) -> str:
    law = ref.state_laws.get(facts.service_state)
    if law is None or category not in law.services:
        return ""
    insured_here = facts.plan_funding == "fully_insured" and facts.plan_state == law.state
    opted_in = facts.plan_funding == "self_funded" and law.self_funded_opt_in and facts.state_opt_in
    return law.words if insured_here or opted_in else ""


def _consent(facts: ClaimFacts, line: LineFacts, ref: NsaReference) -> str | None:
    """Why the consent on file does not waive this line's protection, or None if it does."""
    ancillary = ref.ancillary_category(
        line.procedure_code, line.modifiers, facts.rendering_taxonomy
    )
    if ancillary:
        return f"notice and consent cannot waive protection for {ancillary} (ancillary services)"
    assert facts.consent_date is not None
    if facts.consent_date > facts.service_date:
        return "the notice-and-consent form was signed after the service"
    if line.procedure_code not in facts.consent_services:
        return f"the notice-and-consent form does not list {line.procedure_code}"
    return None


def decide_protection(
    facts: ClaimFacts,
    lines: Sequence[LineFacts],
    ref: NsaReference,
    nsa_remarks: frozenset[str] = frozenset(),
) -> dict[str, Protection]:
    """Protection per line (keyed by line control number)."""
    if facts.in_network_plan:
        claim = Protection(False, "", "the practice is in the plan's network")
    elif facts.claim_filing_indicator in ref.excluded_plans:
        program, why = ref.excluded_plans[facts.claim_filing_indicator]
        claim = Protection(False, "", f"{program}: {why}")
    else:
        claim = _category(facts, lines, ref, nsa_remarks)
    if claim.protected and claim.category != "air_ambulance":
        law = _state_law(facts, claim.category, ref)
        if law:
            claim = Protection(True, claim.category, claim.reason, state_law=law)
    out: dict[str, Protection] = {}
    for line in lines:
        line_protection = claim
        if claim.protected and claim.category == "facility" and facts.consent_date:
            kept = _consent(facts, line, ref)
            if kept is None:
                line_protection = Protection(
                    False,
                    "",
                    f"the patient signed the notice-and-consent form on "
                    f"{facts.consent_date.isoformat()} for {line.procedure_code}",
                )
            else:
                line_protection = Protection(
                    True, claim.category, f"{claim.reason}; {kept}", claim.state_law
                )
        out[line.line_control_number] = line_protection
    return out


def offer_amount(
    ref: NsaReference,
    fees: FeeSchedule,
    payer_id: str,
    line: LineFacts,
    units: Decimal,
    on: date,
    charge: Decimal,
    qpa: Decimal | None,
) -> Decimal | None:
    """The practice's offer for the total out-of-network rate of one line (never above the
    billed charge): its out-of-network rate × units, or ``qpa_multiple`` × the QPA."""
    policy = ref.policy
    if policy.offer_basis == "qpa_multiple":
        amount = None if qpa is None else qpa * policy.qpa_multiple
    else:
        rate = fees.rate(payer_id, "ucr", line.procedure_code, line.modifiers, on)
        amount = None if rate is None else rate * units
    return None if amount is None else min(cents(amount), charge)


@dataclass(frozen=True)
class LineView:
    """A protected line as the remittance left it (built by the flag rules)."""

    facts: LineFacts
    units: Decimal
    charge: Decimal
    service_date: date
    allowed: Decimal  # what the plan allowed: paid + patient cost sharing
    paid: Decimal
    deductible: Decimal  # PR-1
    coinsurance: Decimal  # PR-2
    copay: Decimal  # PR-3
    balance_bill: Decimal  # PR-45
    recognized: Decimal | None  # lesser of QPA × units and the charge
    qpa: Decimal | None  # QPA × units
    whole_denial: bool = False

    @property
    def cost_share(self) -> Decimal:
        return self.deductible + self.coinsurance + self.copay


@dataclass(frozen=True)
class NsaFinding:
    """One flag row's NSA values (the rules add claim, remit and payer columns)."""

    line_control_number: str
    procedure_code: str
    flag: str  # nsa_violation | payment_dispute
    reason: str
    basis: str
    expected_amount: Decimal | None
    paid_amount: Decimal
    amount_at_stake: Decimal
    deadline: date | None
    action: str
    letter: str
    rarc: str

    def columns(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class NsaOutcome:
    findings: list[NsaFinding] = field(default_factory=list)
    # The most the patient may be billed per protected line (in-network cost sharing).
    patient_limits: dict[str, Decimal] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)  # paid_nsa | nsa_violation | ...


def _rate(value: object) -> Decimal | None:
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return None
    pct = value if isinstance(value, Decimal) else Decimal(str(value))
    return pct / HUNDRED if pct > 1 else pct


def in_network_limit(view: LineView, eligibility: Mapping[str, Any] | None) -> Decimal | None:
    """The patient's in-network cost sharing on the recognized amount (None without a 271)."""
    coins = _rate((eligibility or {}).get("in_network_coinsurance"))
    if coins is None:
        return None
    base = view.recognized if view.recognized is not None else view.allowed
    deductible = view.deductible
    remaining = _rate_free((eligibility or {}).get("in_network_deductible_remaining"))
    if remaining is not None:
        deductible = min(deductible, remaining)
    limit = deductible + view.copay + coins * max(base - deductible - view.copay, ZERO)
    oop = _rate_free((eligibility or {}).get("in_network_oop_remaining"))
    return cents(min(limit, oop) if oop is not None else limit)


def _rate_free(value: object) -> Decimal | None:
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _violation(view: LineView, limit: Decimal | None) -> tuple[list[str], Decimal]:
    problems: list[str] = []
    at_stake = ZERO
    if view.balance_bill > ZERO:
        problems.append(
            f"${view.balance_bill:.2f} above the allowed amount was put on the patient "
            "(PR-45, balance billing)"
        )
        at_stake += view.balance_bill
    if limit is not None and view.cost_share - limit > Decimal("0.005"):
        problems.append(
            f"patient cost sharing ${view.cost_share:.2f} is above the in-network level "
            f"${limit:.2f} on the recognized amount"
        )
        at_stake += view.cost_share - limit
    return problems, cents(at_stake)


def check_protected_lines(
    views: Sequence[LineView],
    protections: Mapping[str, Protection],
    offers: Mapping[str, Decimal | None],
    eligibility: Mapping[str, Any] | None,
    ref: NsaReference,
    *,
    appeal_deadline: date | None,
    dispute_deadline: date | None,
    dispute_action: str,
) -> NsaOutcome:
    """Findings for one claim's protected lines (see the module docstring)."""
    outcome = NsaOutcome()
    disputes: list[tuple[LineView, Decimal]] = []
    for view in views:
        lcn = view.facts.line_control_number
        protection = protections[lcn]
        limit = in_network_limit(view, eligibility)
        share = view.cost_share
        outcome.patient_limits[lcn] = min(share, limit) if limit is not None else share
        if view.whole_denial and "N876" not in view.facts.remark_codes:
            continue  # a coverage denial: appealed as a denial, not negotiated
        problems, at_stake = _violation(view, limit)
        outcome.statuses[lcn] = "nsa_violation" if problems else "paid_nsa"
        if problems:
            outcome.findings.append(
                NsaFinding(
                    line_control_number=lcn,
                    procedure_code=view.facts.procedure_code,
                    flag="nsa_violation",
                    reason=f"No Surprises Act ({protection.reason}): " + "; ".join(problems),
                    basis="qpa",
                    expected_amount=limit if limit is not None else view.cost_share,
                    paid_amount=view.paid,
                    amount_at_stake=at_stake,
                    deadline=appeal_deadline,
                    action=(
                        "Ask the plan to reprocess the patient's share at in-network cost sharing "
                        "on the recognized amount; bill the patient no more than "
                        f"${outcome.patient_limits[lcn]:.2f}"
                    ),
                    letter="nsa",
                    rarc=" ".join(view.facts.remark_codes),
                )
            )
        offer = offers.get(lcn)
        if offer is not None and offer > view.allowed:
            disputes.append((view, offer))
    gap = sum((offer - view.allowed for view, offer in disputes), ZERO)
    if disputes and gap > ref.policy.dispute_minimum:
        for view, offer in disputes:
            lcn = view.facts.line_control_number
            if outcome.statuses.get(lcn) == "paid_nsa":
                outcome.statuses[lcn] = "payment_dispute"
            outcome.findings.append(
                _dispute(view, offer, protections[lcn], ref, dispute_deadline, dispute_action)
            )
    return outcome


def _dispute(
    view: LineView,
    offer: Decimal,
    protection: Protection,
    ref: NsaReference,
    deadline: date | None,
    action: str,
) -> NsaFinding:
    qpa = "not disclosed" if view.qpa is None else f"${view.qpa:.2f}"
    if protection.state_law:
        # Open negotiation and the federal IDR are for the federal process only.
        deadline, action = (
            None,
            (
                f"The {protection.state_law} applies instead of the federal process: dispute the "
                "payment under the state law"
            ),
        )
    return NsaFinding(
        line_control_number=view.facts.line_control_number,
        procedure_code=view.facts.procedure_code,
        flag="payment_dispute",
        reason=(
            f"No Surprises Act ({protection.reason}): the plan allowed ${view.allowed:.2f} "
            f"(paid ${view.paid:.2f} plus patient cost sharing ${view.cost_share:.2f}) against "
            f"our offer ${offer:.2f}; the plan's QPA is {qpa}"
        ),
        basis="ucr" if ref.policy.offer_basis == "ucr" else "qpa",
        expected_amount=offer,
        paid_amount=view.paid,
        amount_at_stake=cents(offer - view.allowed),
        deadline=deadline,
        action=action,
        letter="" if protection.state_law else "nsa_open_negotiation",
        rarc=" ".join(view.facts.remark_codes),
    )


def line_facts(lines: Iterable[Mapping[str, Any]]) -> list[LineFacts]:
    return [
        LineFacts(
            line_control_number=str(ln["line_control_number"]),
            procedure_code=str(ln["procedure_code"]),
            modifiers=tuple(ln.get("modifiers") or ()),
            place_of_service=str(ln.get("place_of_service") or ""),
            emergency=bool(ln.get("emergency")),
            remark_codes=tuple(ln.get("remark_codes") or ()),
        )
        for ln in lines
    ]


def _pr(line: RemitLine, reason: str) -> Decimal:
    return sum(
        (a.amount for a in line.adjustments if a.group_code == "PR" and a.reason_code == reason),
        ZERO,
    )


def line_view(
    line: RemitLine, sub: SubLine, exp: LineExpectation | None, whole_denial: bool
) -> LineView:
    """A protected remittance line in the terms of the rules above."""
    paid = line.paid_amount + _pr(line, "100")
    cost = _pr(line, "1") + _pr(line, "2") + _pr(line, "3")
    return LineView(
        facts=LineFacts(
            line_control_number=sub.line_control_number,
            procedure_code=sub.procedure_code,
            modifiers=sub.modifiers,
            place_of_service=sub.place_of_service,
            emergency=sub.emergency,
            remark_codes=line.remark_codes,
        ),
        units=exp.units if exp else sub.units,
        charge=sub.charge_amount,
        service_date=sub.service_date or line.service_date or date.min,
        allowed=paid + cost,
        paid=paid,
        deductible=_pr(line, "1"),
        coinsurance=_pr(line, "2"),
        copay=_pr(line, "3"),
        balance_bill=_pr(line, "45"),
        recognized=exp.expected_allowed if exp and exp.basis == "qpa" else None,
        qpa=exp.qpa_allowed if exp else None,
        whole_denial=whole_denial,
    )


@dataclass(frozen=True)
class NsaContext:
    """What the flag rules need beyond the remittance: the reference data, the recorded case
    events by PCN (kind ``nsa``), the remittance receipt dates by claim_key, and the
    practice's state (where office services were given)."""

    reference: NsaReference = field(default_factory=NsaReference)
    events: Mapping[str, Sequence[CaseEventLike]] = field(default_factory=dict)
    received: Mapping[str, date] = field(default_factory=dict)
    practice_state: str = ""
    # Filled by :meth:`protections` as the rules run: PCN → line → decision (the case list
    # reports them).
    decisions: dict[str, dict[str, Protection]] = field(default_factory=dict)

    def state_law(self, pcn: str) -> str:
        return next((p.state_law for p in self.decisions.get(pcn, {}).values() if p.state_law), "")

    def facts(self, claim: SubClaim, payer: PayerProfile | None) -> ClaimFacts:
        mapping: dict[str, Any] = {**claim.extras, **claim.as_mapping()}
        mapping["service_date_start"] = claim.service_date_start or date.min
        return ClaimFacts.of(mapping, payer, self.practice_state)

    def protections(
        self,
        claim: SubClaim,
        payer: PayerProfile | None,
        remarks: Mapping[str, Iterable[str]],
        nsa_remarks: frozenset[str],
    ) -> dict[str, Protection]:
        lines = [
            LineFacts(
                line_control_number=ln.line_control_number,
                procedure_code=ln.procedure_code,
                modifiers=ln.modifiers,
                place_of_service=ln.place_of_service,
                emergency=ln.emergency,
                remark_codes=tuple(remarks.get(ln.line_control_number, ())),
            )
            for ln in claim.lines
        ]
        decided = decide_protection(self.facts(claim, payer), lines, self.reference, nsa_remarks)
        self.decisions[claim.patient_control_number] = decided
        return decided

    def received_on(self, remit: RemitClaim) -> date | None:
        return self.received.get(remit.claim_key) or remit.payment_date


def check_claim(
    ctx: NsaContext,
    claim: SubClaim,
    remit: RemitClaim,
    lines: Sequence[tuple[RemitLine, SubLine | None, LineExpectation | None, bool]],
    protections: Mapping[str, Protection],
    eligibility: Mapping[str, Any] | None,
    *,
    fees: FeeSchedule,
    as_of: date,
    appeal_deadline: date | None,
) -> NsaOutcome:
    """One claim's protected lines → findings, with the case clock's next deadline."""
    views = [line_view(ln, sub, exp, whole) for ln, sub, exp, whole in lines if sub is not None]
    offers = {
        v.facts.line_control_number: offer_amount(
            ctx.reference,
            fees,
            claim.payer_id,
            v.facts,
            v.units,
            v.service_date,
            v.charge,
            v.qpa,
        )
        for v in views
    }
    state_law = next((p.state_law for p in protections.values() if p.state_law), "")
    events = ctx.events.get(claim.patient_control_number)
    received = ctx.received_on(remit)
    state = (
        case_state(events, received, as_of, state_law)
        if events
        else _case_without_events(received, as_of, state_law)
    )
    return check_protected_lines(
        views,
        protections,
        offers,
        eligibility,
        ctx.reference,
        appeal_deadline=appeal_deadline,
        dispute_deadline=state.next_deadline,
        dispute_action=state.next_step,
    )


@lru_cache(maxsize=4096)
def _case_without_events(received: date | None, as_of: date, state_law: str) -> CaseState:
    # Most claims have no recorded NSA event: their clock depends on these three values
    # alone, and a night asks the same few receipt days for thousands of claims.
    return case_state((), received, as_of, state_law)
