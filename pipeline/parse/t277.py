"""277 Claim Status Response (005010X212) -> :class:`ClaimStatus` (one per 2200D/2200E claim).

The 277 shares its HL / NM1 / TRN / STC / REF / DTP / SVC structure with the 277CA, so this is
the 277CA parser (:mod:`pipeline.parse.t277ca`) with what X212 adds: TRN02 is the trace of our
276 (the patient control number is REF*EJ), the first claim-level STC also carries the payment
(STC05), adjudication date (STC06), payment date (STC08) and check or EFT number (STC09), and a
2200B/2200C STC (the payer could not answer at all, e.g. ``E0``) becomes a row of level
``receiver`` / ``provider`` without a claim. ``status`` is a word for STC01-1 from
``mappings/codes/claim_status_actions.csv`` (``paid``, ``denied``, ``pending``, ``not_found``,
``rejected``, ``error``...); ``unknown`` for a category not listed.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from pipeline.parse.codes import CODES_DIR
from pipeline.parse.common import iso_date
from pipeline.parse.t277ca import ClaimAck277Parser, ClaimAcknowledgment
from pipeline.x12.segments import Segment

__all__ = ["ClaimStatus", "ClaimStatus277Parser", "category_actions", "status_word"]

_LEVELS = {"21": "receiver", "19": "provider"}


@dataclass(slots=True)
class ClaimStatus(ClaimAcknowledgment):
    """One claim (or a receiver/provider-level answer) in a 277 claim status response."""

    trace_number: str = ""  # TRN02: our 276 TRN*1
    level: str = "claim"  # claim | receiver | provider
    paid_amount: Decimal | None = None  # STC05
    adjudication_date: str = ""  # STC06
    payment_date: str = ""  # STC08 check issue or EFT effective date
    check_number: str = ""  # STC09 check or EFT trace number


@cache
def category_actions() -> dict[str, dict[str, str]]:
    """STC01-1 -> {status, ledger, action} (``mappings/codes/claim_status_actions.csv``)."""
    with (CODES_DIR / "claim_status_actions.csv").open(encoding="utf-8", newline="") as fh:
        return {row["category"]: row for row in csv.DictReader(fh) if row.get("category")}


def status_word(category: str) -> str:
    found = category_actions().get(category)
    return found["status"] if found else ("unknown" if category else "")


class ClaimStatus277Parser(ClaimAck277Parser):
    """Feeds on 277 X212 segments; a claim is released when the next one (or HL/SE) starts."""

    claim: ClaimStatus | None

    def feed(self, seg: Segment) -> None:
        if seg.elements[0] == "TRN" and self.level in _LEVELS:
            self._close()
            self._open(seg)
            assert self.claim is not None
            self.claim.level = _LEVELS[self.level]
            return
        super().feed(seg)

    def _nm1(self, seg: Segment) -> None:
        if self.level == "19" and seg[1] == "1P":  # X212 names the provider 1P (277CA: 85)
            self.provider = seg[9]
            return
        super()._nm1(seg)

    def _open(self, seg: Segment) -> None:
        env = seg.envelope
        last, first, member = self.patient
        self.claim = ClaimStatus(
            env.source, env.transaction_control_number, "", patient_last_name=last,
            patient_first_name=first, patient_member_id=member, billing_provider_id=self.provider,
            acknowledged_by=self.source[0], acknowledged_by_name=self.source[1],
            segment_number=seg.number, trace_number=seg[2],
        )  # fmt: skip
        self.composites, self.actions, self.in_line = [], [], False

    def _claim_segment(self, tag: str, seg: Segment) -> None:
        claim = self.claim
        if tag == "REF" and not self.in_line and seg[1] == "EJ" and claim is not None:
            claim.patient_control_number = seg[2]
            return
        if tag == "STC" and not self.in_line and not self.composites and claim is not None:
            claim.paid_amount = self.money(seg[5], seg, "STC05")
            claim.adjudication_date = iso_date(seg[6])
            claim.payment_date = iso_date(seg[8])
            claim.check_number = seg[9]
        super()._claim_segment(tag, seg)

    def _close(self) -> None:
        claim = self.claim
        super()._close()
        if claim is not None:
            claim.status = status_word(claim.status_category)
