"""277CA Claim Acknowledgment (005010X214) -> :class:`ClaimAcknowledgment` (one per 2200D claim).

The claim's status is read from every claim-level STC composite (STC01, STC10, STC11 of
each STC before the first 2220D SVC): rejected when any category is A3/A4/A6/A7/A8 or
an STC03 action is ``U``; accepted when the first category is A1/A2 (with ``WQ``);
pending otherwise. The first composite fills status_category/status_code/entity_code;
the others are kept in ``additional_statuses``. Meanings come from ``mappings/codes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pipeline.parse.codes import describe
from pipeline.parse.common import FeedAll, Money, iso_date, iso_range
from pipeline.x12.segments import Segment

__all__ = ["ClaimAck277Parser", "ClaimAcknowledgment", "claim_status"]

_REJECTED = frozenset({"A3", "A4", "A6", "A7", "A8"})
_ACCEPTED = frozenset({"A1", "A2"})
_PATIENT_LEVELS = frozenset({"PT", "22", "23"})


@dataclass(slots=True)
class ClaimAcknowledgment:
    """One claim (loop 2200D) as the clearinghouse or payer acknowledged it."""

    source_file: str
    transaction_control_number: str
    patient_control_number: str  # TRN02 = our CLM01
    payer_claim_control_number: str = ""  # REF*1K
    clearinghouse_trace_number: str = ""  # REF*D9
    status_category: str = ""
    status_code: str = ""
    entity_code: str = ""
    status: str = ""
    status_text: str = ""
    action_code: str = ""  # STC03: WQ accept, U reject
    status_date: str = ""
    charge_amount: Decimal | None = None  # STC04
    service_date: str = ""
    service_date_end: str = ""
    message: str = ""  # STC12 free text
    additional_statuses: str = ""  # other category:status:entity composites, comma-separated
    line_count: int = 0
    rejected_line_count: int = 0
    patient_last_name: str = ""
    patient_first_name: str = ""
    patient_member_id: str = ""
    billing_provider_id: str = ""
    acknowledged_by: str = ""  # payer | clearinghouse (2100A NM101 PR / AY)
    acknowledged_by_name: str = ""
    segment_number: int = 0


def claim_status(composites: list[list[str]], actions: list[str]) -> str:
    """accepted | rejected | pending for a claim's STC composites and STC03 actions."""
    categories = [c[0] for c in composites if c]
    if "U" in actions or any(c in _REJECTED for c in categories):
        return "rejected"
    if categories and categories[0] in _ACCEPTED:
        return "accepted"
    return "pending"


def status_text(category: str, code: str, entity: str) -> str:
    text = describe("claim_status_category", category)
    if code:
        text += f"; {describe('claim_status', code)}"
    if entity:
        text += f" ({describe('entity_identifier', entity)})"
    return text


class ClaimAck277Parser:
    """Feeds on 277/277CA segments; a claim is released when the next one (or HL/SE) starts."""

    def __init__(self, out: list[object]) -> None:
        self.out = out
        self.dispatch = FeedAll(self.feed)
        self.money = Money(out)
        self._reset()

    def _reset(self) -> None:
        self.level = ""
        self.claim: ClaimAcknowledgment | None = None
        self.composites: list[list[str]] = []
        self.actions: list[str] = []
        self.in_line = False
        self.patient = ("", "", "")
        self.provider = ""
        self.source = ("", "")

    def start(self, seg: Segment) -> None:
        self._reset()

    def end(self, seg: Segment) -> None:
        self._close()

    def finish(self) -> None:
        pass

    def feed(self, seg: Segment) -> None:
        tag = seg.elements[0]
        if tag == "HL":
            self._close()
            self.level = seg[3]
        elif tag == "NM1":
            self._nm1(seg)
        elif tag == "TRN" and self.level in _PATIENT_LEVELS:
            self._close()
            self._open(seg)
        elif self.claim is not None:
            self._claim_segment(tag, seg)

    def _nm1(self, seg: Segment) -> None:
        code = seg[1]
        if self.level == "20" and code in ("PR", "AY"):
            self.source = ("payer" if code == "PR" else "clearinghouse", seg[3])
        elif self.level == "19" and code == "85":
            self.provider = seg[9]
        elif self.level in _PATIENT_LEVELS and code in ("QC", "IL"):
            self.patient = (seg[3], seg[4], seg[9])

    def _open(self, seg: Segment) -> None:
        env = seg.envelope
        last, first, member = self.patient
        self.claim = ClaimAcknowledgment(
            env.source, env.transaction_control_number, seg[2], patient_last_name=last,
            patient_first_name=first, patient_member_id=member, billing_provider_id=self.provider,
            acknowledged_by=self.source[0], acknowledged_by_name=self.source[1],
            segment_number=seg.number,
        )  # fmt: skip
        self.composites, self.actions, self.in_line = [], [], False

    def _claim_segment(self, tag: str, seg: Segment) -> None:
        claim = self.claim
        assert claim is not None
        if tag == "SVC":
            self.in_line = True
            claim.line_count += 1
        elif tag == "STC":
            self._stc(claim, seg)
        elif tag == "REF" and not self.in_line:
            if seg[1] == "1K":
                claim.payer_claim_control_number = seg[2]
            elif seg[1] == "D9":
                claim.clearinghouse_trace_number = seg[2]
        elif tag == "DTP" and seg[1] == "472" and not self.in_line:
            claim.service_date, claim.service_date_end = iso_range(seg[2], seg[3])

    def _stc(self, claim: ClaimAcknowledgment, seg: Segment) -> None:
        composites = [c for c in (seg.composite(1), seg.composite(10), seg.composite(11)) if c]
        if self.in_line:
            if claim_status(composites, [seg[3]]) == "rejected":
                claim.rejected_line_count += 1
            return
        if not self.composites:
            claim.status_date, claim.action_code = iso_date(seg[2]), seg[3]
            claim.charge_amount = self.money(seg[4], seg, "STC04")
            claim.message = seg[12]
        self.composites.extend(composites)
        self.actions.append(seg[3])

    def _close(self) -> None:
        claim = self.claim
        if claim is None:
            return
        self.claim = None
        first = self.composites[0] if self.composites else []
        category, code, entity = [*first, "", "", ""][:3]
        claim.status_category, claim.status_code, claim.entity_code = category, code, entity
        claim.status = claim_status(self.composites, self.actions)
        claim.status_text = status_text(category, code, entity) if category else ""
        claim.additional_statuses = ",".join(":".join(c) for c in self.composites[1:])
        self.out.append(claim)
