"""270 -> 271: answer each inquiry from the member file, plan designs and accumulators.

Active members get coverage (EB*1 for the ten service types an EQ*30 answer must carry,
and any other service type asked), deductible and out-of-pocket totals and remaining
amounts per network tier (EB*C / EB*G, periods 23 and 29), coinsurance (EB*A, patient
share) and copays per service type (EB*B ``98`` office visit, ``86`` emergency). An
EPO/HMO without out-of-network benefits answers ``EB*I`` for that tier, then ``EB*1`` for
``86`` out of network when it covers emergencies there. Prior authorization is an EB with
EB11 ``Y``: per procedure (EB13 ``HC``) or per service type, with ``III*ZZ`` places of
service when the plan limits it, a MSG, and the plan's utilization management to contact
(``LS*2120`` / ``NM1*X3`` / ``PER`` / ``LE*2120``). Inactive members get EB*6, with
``DTP*357`` when their coverage ended; unknown ones AAA*N**75*C (72 when the name and birth
date match another id, 71 when the birth date does not match).
"""

from __future__ import annotations

import io
from decimal import Decimal

from pipeline.clearinghouse.emit import Block, Envelope, SegmentMemo, Write, amount
from pipeline.clearinghouse.members import Accumulators, Member, MemberDirectory
from pipeline.clearinghouse.model import Inquiry, InquiryBatch
from pipeline.clearinghouse.plans import AuthRule, Contact, PlanDesign, Tier
from pipeline.x12.writer import Repeated, TransactionWriter

__all__ = ["EQ30_SERVICE_TYPES", "Answer", "answer", "write_271"]

EQ30_SERVICE_TYPES = ("30", "1", "33", "35", "47", "86", "88", "98", "AL", "MH", "UC")


class Answer:
    """The payer's view of one inquiry (also what the ground truth records)."""

    def __init__(
        self,
        inquiry: Inquiry,
        status: str,
        reject_reason: str = "",
        member: Member | None = None,
    ) -> None:
        self.inquiry = inquiry
        self.status = status  # active | inactive | rejected
        self.reject_reason = reject_reason
        self.member = member


def answer(inquiry: Inquiry, members: MemberDirectory, plans: dict[str, PlanDesign]) -> Answer:
    if inquiry.payer_id not in plans:
        return Answer(inquiry, "rejected", "79")
    found = members.lookup(
        inquiry.payer_id, inquiry.member_id, inquiry.last_name, inquiry.first_name, inquiry.dob
    )
    if found.member is None:
        return Answer(inquiry, "rejected", found.reject_reason)
    on = inquiry.service_date
    if on is not None and members.is_inactive(found.member, on):
        return Answer(inquiry, "inactive", member=found.member)
    if on is None and found.member.status == "inactive":
        return Answer(inquiry, "inactive", member=found.member)
    return Answer(inquiry, "active", member=found.member)


def write_271(
    envelope: Envelope,
    batch: InquiryBatch,
    answers: list[Answer],
    plans: dict[str, PlanDesign],
    accumulators: Accumulators,
) -> str:
    out = io.StringIO()
    day = f"{envelope.now:%Y%m%d}"
    blocks: dict[str, Block] = {}  # each plan's prior-auth segments, rendered once
    memo = SegmentMemo()
    with (
        envelope.interchange(out) as isa,
        isa.group("HB", envelope.sender, envelope.receiver, "005010X279A1") as gs,
    ):
        for ans in answers:
            with gs.transaction("271") as st:
                _one(st, batch, ans, plans, accumulators, day, f"{envelope.now:%H%M}", blocks, memo)
    return out.getvalue()


def _one(
    st: TransactionWriter,
    batch: InquiryBatch,
    ans: Answer,
    plans: dict[str, PlanDesign],
    accumulators: Accumulators,
    day: str,
    time: str,
    blocks: dict[str, Block],
    memo: SegmentMemo,
) -> None:
    write = st.segment
    same = memo.writer(st)  # segments most inquiries share
    inquiry = ans.inquiry
    plan = plans.get(inquiry.payer_id)
    same("BHT", "0022", "11", batch.reference or inquiry.trace, day, time)
    same("HL", "1", None, "20", "1")
    payer_name = plan.payer_name if plan else inquiry.payer_name or "UNKNOWN PAYER"
    same("NM1", "PR", "2", payer_name, None, None, None, None, "PI", inquiry.payer_id)
    if plan is None:
        write("AAA", "N", None, "79", "C")
    same("HL", "2", "1", "21", "1")
    if inquiry.provider_entity == "1":
        same(
            "NM1", "1P", "1", inquiry.provider_name or "PROVIDER", inquiry.provider_first_name,
            None, None, None, "XX", inquiry.provider_npi or "1234567893",
        )  # fmt: skip
    else:
        same(
            "NM1", "1P", "2", inquiry.provider_name or "PROVIDER", None, None, None, None, "XX",
            inquiry.provider_npi or "1234567893",
        )  # fmt: skip
    same("HL", "3", "2", "22", "0")
    write("TRN", "2", inquiry.trace, inquiry.trace_originator or "9CLAIMFLOW")
    write(
        "NM1", "IL", "1", inquiry.last_name, inquiry.first_name, None, None, None, "MI",
        inquiry.member_id,
    )  # fmt: skip
    if ans.status == "rejected" and plan is not None:
        write("AAA", "N", None, ans.reject_reason, "C")
    if inquiry.dob is not None:
        write("DMG", "D8", f"{inquiry.dob:%Y%m%d}")
    if ans.status == "rejected":
        return
    on = inquiry.service_date
    year = on.year if on else int(day[:4])
    same("DTP", "346", "D8", f"{year}0101")
    ended = ans.member.coverage_end if ans.member else None
    if ended is not None:
        write("DTP", "357", "D8", f"{ended:%Y%m%d}")
    assert plan is not None
    if ans.status == "inactive":
        write("EB", "6", "IND", "30")
        return
    asked = [t for t in inquiry.service_types if t not in EQ30_SERVICE_TYPES]
    types = Repeated((*EQ30_SERVICE_TYPES, *dict.fromkeys(asked)))
    same("EB", "1", "IND", types, plan.insurance_type, plan.plan_name)
    _tier(same, plan, accumulators, inquiry.member_id, year, plan.in_network, "in", "Y")
    _tier(same, plan, accumulators, inquiry.member_id, year, plan.out_of_network, "oon", "N")
    block = blocks.get(plan.payer_id)
    if block is None:
        block = blocks[plan.payer_id] = Block(lambda write: _prior_auth(write, plan))
    block.write_to(st)


def _prior_auth(write: Write, plan: PlanDesign) -> None:
    """EB11 Y per procedure (EB13) or service type, III places of service, MSG, whom to call."""
    rules = [AuthRule(procedure=code) for code in sorted(plan.prior_auth_procedures)]
    rules += [r for r in plan.auth_rules if r.procedure not in plan.prior_auth_procedures]
    for rule in rules:
        stc = rule.service_type or "30"
        procedure = ["HC", rule.procedure] if rule.procedure else None
        write("EB", "1", "IND", stc, None, None, None, None, None, None, None, "Y", "W", procedure)
        what = rule.procedure or f"SERVICE TYPE {rule.service_type}"
        places = sorted(rule.places_of_service)
        where = f" AT PLACE OF SERVICE {' '.join(places)}" if places else ""
        write("MSG", f"PRIOR AUTHORIZATION REQUIRED FOR {what}{where}")
        for place in places:
            write("III", "ZZ", place)
        if plan.utilization_management is not None:
            _contact(write, plan.utilization_management)


def _contact(write: Write, contact: Contact) -> None:
    write("LS", "2120")
    ident = ("PI", contact.ident) if contact.ident else (None, None)
    write("NM1", "X3", "2", contact.name, None, None, None, None, *ident)
    if contact.phone:
        write("PER", "IC", None, "TE", contact.phone)
    write("LE", "2120")


def _tier(
    write: Write,
    plan: PlanDesign,
    accumulators: Accumulators,
    member_id: str,
    year: int,
    tier: Tier,
    name: str,
    network: str,
) -> None:
    if not tier.covered:
        write("EB", "I", "IND", "30", None, None, None, None, None, None, None, None, network)
        if tier.emergency_only:
            write("MSG", "OUT OF NETWORK BENEFITS FOR EMERGENCY SERVICES ONLY")
            write("EB", "1", "IND", "86", None, None, None, None, None, None, None, None, network)
        return
    met = accumulators.get(plan, member_id, year, name)
    remaining_deductible = max(Decimal("0"), tier.deductible - met.deductible)
    remaining_oop = max(Decimal("0"), tier.oop_max - met.oop)
    for code, total, remaining in (
        ("C", tier.deductible, remaining_deductible),
        ("G", tier.oop_max, remaining_oop),
    ):
        for period, value in (("23", total), ("29", remaining)):
            write(
                "EB", code, "IND", "30", None, None, period, amount(value), None, None, None,
                None, network,
            )  # fmt: skip
    write(
        "EB", "A", "IND", "30", None, None, None, None, _pct(tier.coinsurance), None, None,
        None, network,
    )  # fmt: skip
    for stc, copay in (("98", tier.office_visit_copay), ("86", tier.emergency_copay)):
        if copay > 0:
            write(
                "EB", "B", "IND", stc, None, None, "27", amount(copay), None, None, None, None,
                network,
            )  # fmt: skip


def _pct(value: Decimal) -> str:
    text = amount(value)
    return text[1:] if text.startswith("0.") else text
