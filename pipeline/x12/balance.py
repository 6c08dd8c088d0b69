"""SNIP 3 balancing, streamed: 835 service line, claim and payment; 837P claim charge.

Rules (DOMAIN.md §7.7), exact ``Decimal`` arithmetic, one :class:`Problem` per failure:

* ``line_balance``        SVC02 - sum(2110 CAS) = SVC03
* ``claim_balance``       CLP03 - sum(2100 CAS) - sum(every 2110 CAS) = CLP04
* ``transaction_balance`` sum(CLP04) - sum(PLB amounts) = BPR02
* ``claim_charge``        837P CLM02 = sum(SV102)

A CAS before the first SVC of a claim is claim level, after it line level (the IG
order). An amount that is not a number skips the check it belongs to and is reported
once (``amount_format``, a warning: the IG check names the element as an error).
Reversals (CLP02 = 22) carry negated amounts and balance by the same rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from pipeline.x12.problems import Problem
from pipeline.x12.segments import Segment

__all__ = ["BalanceChecker", "check_balancing"]

_ZERO = Decimal(0)
_CAS_AMOUNTS = (3, 6, 9, 12, 15, 18)
_PLB_AMOUNTS = (4, 6, 8, 10, 12, 14)


@dataclass
class _Line:
    seg: Segment
    number: int
    charge: Decimal | None
    paid: Decimal | None
    adjustments: Decimal = _ZERO
    ok: bool = True  # every amount was a number


@dataclass
class _Claim:
    seg: Segment
    key: str
    charge: Decimal | None
    paid: Decimal | None
    claim_adjustments: Decimal = _ZERO
    line_adjustments: Decimal = _ZERO
    line_charges: Decimal = _ZERO  # 837P: sum of SV102
    lines: int = 0
    ok: bool = True


@dataclass
class _Payment:
    """One 835 transaction set (one BPR) or one 837 transaction set."""

    st: Segment
    kind: str  # "835" | "837P"
    bpr: Segment | None = None
    total: Decimal | None = None
    paid_claims: Decimal = _ZERO
    provider_adjustments: Decimal = _ZERO
    ok: bool = True


@dataclass
class BalanceChecker:
    """Feed every segment of one file in order; read :attr:`problems` at the end."""

    source_file: str
    problems: list[Problem] = field(default_factory=list)
    _payment: _Payment | None = None
    _claim: _Claim | None = None
    _line: _Line | None = None

    def feed(self, seg: Segment) -> None:
        tag = seg.id
        if tag == "ST":
            self._payment = _Payment(seg, _kind(seg)) if _kind(seg) else None
            return
        payment = self._payment
        if payment is None:
            return
        if payment.kind == "835":
            self._feed_835(seg, payment)
        else:
            self._feed_837(seg)
        if tag == "SE":
            self._payment = None

    # -- 835 ------------------------------------------------------------------------
    def _feed_835(self, seg: Segment, payment: _Payment) -> None:
        tag = seg.id
        if tag == "CAS":
            self._cas(seg)
        elif tag == "SVC":
            self._end_line()
            claim = self._claim
            if claim is not None:
                claim.lines += 1
                self._line = _Line(
                    seg, claim.lines, self._amount(seg, 2, "SVC02"), self._amount(seg, 3, "SVC03")
                )
        elif tag == "CLP":
            self._end_claim()
            self._claim = _Claim(
                seg, seg[1], self._amount(seg, 3, "CLP03"), self._amount(seg, 4, "CLP04")
            )
        elif tag == "BPR":
            payment.bpr = seg
            payment.total = self._amount(seg, 2, "BPR02")
        elif tag in ("LX", "PLB", "SE"):
            self._end_claim()
            if tag == "PLB":
                for index in _PLB_AMOUNTS:
                    amount = self._amount(seg, index, f"PLB{index:02d}")
                    payment.ok &= amount is not None
                    payment.provider_adjustments += amount or _ZERO
            elif tag == "SE":
                self._end_payment(payment)

    def _cas(self, seg: Segment) -> None:
        total, ok = _ZERO, True
        for index in _CAS_AMOUNTS:
            amount = self._amount(seg, index, f"CAS{index:02d}")
            ok &= amount is not None
            total += amount or _ZERO
        line, claim = self._line, self._claim
        if line is not None:
            line.adjustments += total
            line.ok &= ok
        if claim is not None:
            if line is None:
                claim.claim_adjustments += total
            else:
                claim.line_adjustments += total
            claim.ok &= ok

    def _end_line(self) -> None:
        line, claim = self._line, self._claim
        self._line = None
        if line is None or claim is None or not line.ok:
            return
        if line.charge is None or line.paid is None:
            return
        expected = line.charge - line.adjustments
        if expected != line.paid:
            self._add(
                line.seg, "line", f"{claim.key}/{line.number}", "line_balance", expected,
                line.paid, "2110", "SVC03",
                f"service line {line.number} of claim {claim.key} does not balance: "
                f"SVC02 {_fmt(line.charge)} - CAS {_fmt(line.adjustments)} = {_fmt(expected)}, "
                f"SVC03 is {_fmt(line.paid)}",
            )  # fmt: skip

    def _end_claim(self) -> None:
        self._end_line()
        claim, payment = self._claim, self._payment
        self._claim = None
        if claim is None:
            return
        if payment is not None:
            payment.ok &= claim.paid is not None
            payment.paid_claims += claim.paid or _ZERO
        if not claim.ok or claim.charge is None or claim.paid is None:
            return
        adjustments = claim.claim_adjustments + claim.line_adjustments
        expected = claim.charge - adjustments
        if expected != claim.paid:
            self._add(
                claim.seg, "claim", claim.key, "claim_balance", expected, claim.paid, "2100",
                "CLP04",
                f"claim {claim.key} does not balance: CLP03 {_fmt(claim.charge)} - CAS "
                f"{_fmt(adjustments)} (claim {_fmt(claim.claim_adjustments)}, lines "
                f"{_fmt(claim.line_adjustments)}) = {_fmt(expected)}, CLP04 is {_fmt(claim.paid)}",
            )  # fmt: skip

    def _end_payment(self, payment: _Payment) -> None:
        bpr = payment.bpr
        if bpr is None or payment.total is None or not payment.ok:
            return
        expected = payment.paid_claims - payment.provider_adjustments
        if expected != payment.total:
            self._add(
                bpr, "transaction", payment.st[2], "transaction_balance", expected,
                payment.total, "", "BPR02",
                f"payment {payment.st[2]} does not balance: sum CLP04 "
                f"{_fmt(payment.paid_claims)} - sum PLB {_fmt(payment.provider_adjustments)} "
                f"= {_fmt(expected)}, BPR02 is {_fmt(payment.total)}",
            )  # fmt: skip

    # -- 837P -----------------------------------------------------------------------
    def _feed_837(self, seg: Segment) -> None:
        tag = seg.id
        if tag == "SV1":
            claim = self._claim
            if claim is not None:
                amount = self._amount(seg, 2, "SV102")
                claim.ok &= amount is not None
                claim.line_charges += amount or _ZERO
                claim.lines += 1
        elif tag in ("CLM", "HL", "SE"):
            self._end_837_claim()
            if tag == "CLM":
                self._claim = _Claim(seg, seg[1], self._amount(seg, 2, "CLM02"), None)

    def _end_837_claim(self) -> None:
        claim = self._claim
        self._claim = None
        if claim is None or not claim.ok or claim.charge is None:
            return
        if claim.charge != claim.line_charges:
            self._add(
                claim.seg, "claim", claim.key, "claim_charge", claim.line_charges,
                claim.charge, "2300", "CLM02",
                f"claim {claim.key}: CLM02 {_fmt(claim.charge)} differs from the sum of its "
                f"{claim.lines} SV102 line charges {_fmt(claim.line_charges)}",
            )  # fmt: skip

    # -- helpers --------------------------------------------------------------------
    def _amount(self, seg: Segment, index: int, ref: str) -> Decimal | None:
        text = seg[index]
        if not text:
            return _ZERO
        try:
            value = Decimal(text)
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite():
            self.problems.append(
                Problem(
                    self.source_file, seg.envelope.transaction_control_number, "transaction",
                    ref, "amount_format", "a decimal amount", text,
                    f"{ref} ({len(text)} characters) is not an amount; balancing using it skipped",
                    segment_number=seg.number, segment_id=seg.id, element=ref,
                    severity="warning",
                )
            )  # fmt: skip
            return None
        return value

    def _add(
        self,
        seg: Segment,
        level: str,
        key: str,
        rule: str,
        expected: Decimal,
        actual: Decimal,
        loop: str,
        element: str,
        message: str,
    ) -> None:
        self.problems.append(
            Problem(
                source_file=self.source_file,
                transaction_control_number=seg.envelope.transaction_control_number,
                level=level,
                key=key,
                rule=rule,
                expected=_fmt(expected),
                actual=_fmt(actual),
                message=message,
                segment_number=seg.number,
                segment_id=seg.id,
                loop=loop,
                element=element,
            )
        )


def _kind(st: Segment) -> str:
    """Which balancing applies to this transaction set ("" for none)."""
    if st[1] == "835":
        return "835"
    guide = st[3] or st.envelope.version
    if st[1] == "837" and guide.startswith("005010X222"):
        return "837P"
    return ""


def _fmt(amount: Decimal) -> str:
    return format(amount, "f")


def check_balancing(segments: Iterable[Segment], source_file: str) -> list[Problem]:
    """All SNIP 3 problems of a sequence of segments."""
    checker = BalanceChecker(source_file)
    for seg in segments:
        checker.feed(seg)
    return checker.problems
