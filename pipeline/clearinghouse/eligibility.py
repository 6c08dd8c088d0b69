"""270 -> 271: answer each inquiry from the member file, plan designs and accumulators.

Active members get coverage (EB*1 for the ten service types an EQ*30 answer must carry),
deductible and out-of-pocket totals and remaining amounts per network tier (EB*C / EB*G,
periods 23 and 29), coinsurance (EB*A, patient share), copays (EB*B) and prior-auth notes;
an EPO/HMO without out-of-network benefits answers EB*I for that tier. Inactive members get
EB*6; unknown ones AAA*N**75*C (72 when the name and birth date match another id, 71 when
the birth date does not match).
"""

from __future__ import annotations

import io
from decimal import Decimal

from pipeline.clearinghouse.emit import Envelope, Write, amount
from pipeline.clearinghouse.members import Accumulators, MemberDirectory
from pipeline.clearinghouse.model import Inquiry, InquiryBatch
from pipeline.clearinghouse.plans import PlanDesign, Tier
from pipeline.x12.writer import Repeated, TransactionWriter

__all__ = ["EQ30_SERVICE_TYPES", "Answer", "answer", "write_271"]

EQ30_SERVICE_TYPES = ("30", "1", "33", "35", "47", "86", "88", "98", "AL", "MH", "UC")


class Answer:
    """The payer's view of one inquiry (also what the ground truth records)."""

    def __init__(self, inquiry: Inquiry, status: str, reject_reason: str = "") -> None:
        self.inquiry = inquiry
        self.status = status  # active | inactive | rejected
        self.reject_reason = reject_reason


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
        return Answer(inquiry, "inactive")
    if on is None and found.member.status == "inactive":
        return Answer(inquiry, "inactive")
    return Answer(inquiry, "active")


def write_271(
    envelope: Envelope,
    batch: InquiryBatch,
    answers: list[Answer],
    plans: dict[str, PlanDesign],
    accumulators: Accumulators,
) -> str:
    out = io.StringIO()
    day = f"{envelope.now:%Y%m%d}"
    with (
        envelope.interchange(out) as isa,
        isa.group("HB", envelope.sender, envelope.receiver, "005010X279A1") as gs,
    ):
        for ans in answers:
            with gs.transaction("271") as st:
                _one(st, batch, ans, plans, accumulators, day, f"{envelope.now:%H%M}")
    return out.getvalue()


def _one(
    st: TransactionWriter,
    batch: InquiryBatch,
    ans: Answer,
    plans: dict[str, PlanDesign],
    accumulators: Accumulators,
    day: str,
    time: str,
) -> None:
    write = st.segment
    inquiry = ans.inquiry
    plan = plans.get(inquiry.payer_id)
    write("BHT", "0022", "11", batch.reference or inquiry.trace, day, time)
    write("HL", "1", None, "20", "1")
    payer_name = plan.payer_name if plan else inquiry.payer_name or "UNKNOWN PAYER"
    write("NM1", "PR", "2", payer_name, None, None, None, None, "PI", inquiry.payer_id)
    if plan is None:
        write("AAA", "N", None, "79", "C")
    write("HL", "2", "1", "21", "1")
    if inquiry.provider_entity == "1":
        write(
            "NM1", "1P", "1", inquiry.provider_name or "PROVIDER", inquiry.provider_first_name,
            None, None, None, "XX", inquiry.provider_npi or "1234567893",
        )  # fmt: skip
    else:
        write(
            "NM1", "1P", "2", inquiry.provider_name or "PROVIDER", None, None, None, None, "XX",
            inquiry.provider_npi or "1234567893",
        )  # fmt: skip
    write("HL", "3", "2", "22", "0")
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
    write("DTP", "346", "D8", f"{year}0101")
    assert plan is not None
    if ans.status == "inactive":
        write("EB", "6", "IND", "30")
        return
    write("EB", "1", "IND", Repeated(EQ30_SERVICE_TYPES), plan.insurance_type, plan.plan_name)
    _tier(write, plan, accumulators, inquiry.member_id, year, plan.in_network, "in", "Y")
    _tier(write, plan, accumulators, inquiry.member_id, year, plan.out_of_network, "oon", "N")
    for code in sorted(plan.prior_auth_procedures):
        write(
            "EB", "1", "IND", "30", None, None, None, None, None, None, None, "Y", "W",
            ["HC", code],
        )  # fmt: skip
        write("MSG", f"PRIOR AUTHORIZATION REQUIRED FOR {code}")


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
