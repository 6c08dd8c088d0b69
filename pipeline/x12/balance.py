"""SNIP 3 balancing, streamed: 835 service line, claim and payment; 837P claim charge.

Rules (DOMAIN.md §7.7), exact ``Decimal`` arithmetic, one :class:`Problem` per failure:

* ``line_balance``        SVC02 - sum(2110 CAS) = SVC03
* ``claim_balance``       CLP03 - sum(2100 CAS) - sum(every 2110 CAS) = CLP04
* ``transaction_balance`` sum(CLP04) - sum(PLB amounts) = BPR02
* ``claim_charge``        837P CLM02 = sum(SV102)

A CAS before the first SVC of a claim is claim level, after it line level (the IG
order). An amount that is not a number skips the check it belongs to and is reported
once (``invalid_number``, a warning: the IG check names the element as an error).
Reversals (CLP02 = 22) carry negated amounts and balance by the same rules.

The rules themselves (:func:`line_balance`, :func:`claim_balance`, :func:`transaction_balance`,
:func:`not_a_number`) are the one implementation: :class:`BalanceChecker` (``claimflow
validate``) and the 835 parser (``pipeline.parse.t835``, which sums the same amounts on its
own fast path) both call them, so a fault has one name, one message and one position.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from pipeline.x12.problems import Problem
from pipeline.x12.segments import Segment

__all__ = [
    "BalanceChecker",
    "check_balancing",
    "claim_balance",
    "line_balance",
    "not_a_number",
    "transaction_balance",
]

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
        self._found(
            line_balance(
                self.source_file, line.seg.envelope.transaction_control_number,
                f"{claim.key}/{line.number}", f"service line {line.number} of claim {claim.key}",
                line.charge, line.adjustments, line.paid, line.seg.number,
            )
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
        self._found(
            claim_balance(
                self.source_file, claim.seg.envelope.transaction_control_number, claim.key,
                f"claim {claim.key}", claim.charge, claim.claim_adjustments,
                claim.line_adjustments, claim.paid, claim.seg.number,
            )
        )  # fmt: skip

    def _end_payment(self, payment: _Payment) -> None:
        bpr = payment.bpr
        if bpr is None or payment.total is None or not payment.ok:
            return
        self._found(
            transaction_balance(
                self.source_file, payment.st[2], f"payment {payment.st[2]}",
                payment.paid_claims, payment.provider_adjustments, payment.total, bpr.number,
            )
        )  # fmt: skip

    def _found(self, problem: Problem | None) -> None:
        if problem is not None:
            self.problems.append(problem)

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
                not_a_number(
                    self.source_file, seg.envelope.transaction_control_number, ref, text,
                    ref, seg.number, seg.id, "balancing using it skipped", severity="warning",
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


# -- the rules (one implementation for validate and the 835 parser) ----------------------
def line_balance(
    source_file: str, control: str, key: str, label: str, charge: Decimal, adjusted: Decimal,
    paid: Decimal, segment_number: int,
) -> Problem | None:  # fmt: skip
    """SVC02 - sum(2110 CAS) = SVC03, else the ``line_balance`` problem."""
    expected = charge - adjusted
    if expected == paid:
        return None
    return Problem(
        source_file, control, "line", key, "line_balance", _fmt(expected), _fmt(paid),
        f"{label} does not balance: SVC02 {_fmt(charge)} - CAS {_fmt(adjusted)} = "
        f"{_fmt(expected)}, SVC03 is {_fmt(paid)}",
        segment_number=segment_number, segment_id="SVC", loop="2110", element="SVC03",
    )  # fmt: skip


def claim_balance(
    source_file: str, control: str, key: str, label: str, charge: Decimal,
    claim_adjustments: Decimal, line_adjustments: Decimal, paid: Decimal, segment_number: int,
) -> Problem | None:  # fmt: skip
    """CLP03 - sum(2100 CAS) - sum(2110 CAS) = CLP04, else the ``claim_balance`` problem."""
    adjustments = claim_adjustments + line_adjustments
    expected = charge - adjustments
    if expected == paid:
        return None
    return Problem(
        source_file, control, "claim", key, "claim_balance", _fmt(expected), _fmt(paid),
        f"{label} does not balance: CLP03 {_fmt(charge)} - CAS {_fmt(adjustments)} (claim "
        f"{_fmt(claim_adjustments)}, lines {_fmt(line_adjustments)}) = {_fmt(expected)}, "
        f"CLP04 is {_fmt(paid)}",
        segment_number=segment_number, segment_id="CLP", loop="2100", element="CLP04",
    )  # fmt: skip


def transaction_balance(
    source_file: str, control: str, label: str, paid_claims: Decimal,
    provider_adjustments: Decimal, total: Decimal, segment_number: int,
) -> Problem | None:  # fmt: skip
    """sum(CLP04) - sum(PLB) = BPR02, else the ``transaction_balance`` problem (at the BPR)."""
    expected = paid_claims - provider_adjustments
    if expected == total:
        return None
    return Problem(
        source_file, control, "transaction", control, "transaction_balance", _fmt(expected),
        _fmt(total),
        f"{label} does not balance: sum CLP04 {_fmt(paid_claims)} - sum PLB "
        f"{_fmt(provider_adjustments)} = {_fmt(expected)}, BPR02 is {_fmt(total)}",
        segment_number=segment_number, segment_id="BPR", element="BPR02",
    )  # fmt: skip


def not_a_number(
    source_file: str, control: str, key: str, text: str, element: str, segment_number: int,
    segment_id: str, consequence: str, *, severity: str = "error",
) -> Problem:  # fmt: skip
    """The ``invalid_number`` problem: an amount or quantity that is not a decimal number
    (its length, never its text, in the message: the text stays in ``actual``)."""
    return Problem(
        source_file, control, "transaction", key, "invalid_number", "a decimal number",
        text[:40], f"{element} ({len(text)} characters) is not a number; {consequence}",
        segment_number=segment_number, segment_id=segment_id, element=element,
        severity=severity,
    )  # fmt: skip
