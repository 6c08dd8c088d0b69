"""Adjudication results: what the 277CA and 835 writers print and the ground truth records."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from pipeline.clearinghouse.model import Claim, ServiceLine

__all__ = [
    "Adjustment",
    "ClaimResult",
    "FrontEnd",
    "LineResult",
    "Payment",
    "Problem",
    "ProviderAdjustment",
]

ZERO = Decimal("0")


@dataclass(frozen=True, slots=True)
class Adjustment:
    group: str
    reason: str
    amount: Decimal


@dataclass(slots=True)
class Problem:
    """One trouble on a claim or line, natural (the claim's own fault) or injected (payer error)."""

    kind: str
    level: str = "claim"
    line_control_number: str = ""
    injected: bool = True
    group: str = ""
    carc: str = ""
    rarcs: tuple[str, ...] = ()
    expected_amount: Decimal | None = None
    actual_amount: Decimal | None = None
    amount: Decimal | None = None
    reference: str = ""
    note: str = ""

    def record(self) -> dict[str, Any]:
        money = (self.expected_amount, self.actual_amount, self.amount)
        expected, actual, amount = (str(v) if v is not None else None for v in money)
        return {
            "kind": self.kind,
            "level": self.level,
            "line_control_number": self.line_control_number,
            "injected": self.injected,
            "group": self.group,
            "carc": self.carc,
            "rarcs": list(self.rarcs),
            "expected_amount": expected,
            "actual_amount": actual,
            "amount": amount,
            "reference": self.reference,
            "note": self.note,
        }


@dataclass(slots=True)
class LineResult:
    line: ServiceLine
    basis: str
    rate: Decimal | None
    expected_allowed: Decimal
    allowed: Decimal
    paid: Decimal
    adjustments: list[Adjustment] = field(default_factory=list)
    rarcs: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    denied: bool = False

    @property
    def charge(self) -> Decimal:
        return self.line.charge

    @property
    def patient(self) -> Decimal:
        total = ZERO  # a loop, not sum(generator): asked for every line of every claim
        for adj in self.adjustments:
            if adj.group == "PR":
                total += adj.amount
        return total

    def negated(self) -> LineResult:
        return replace(
            self,
            line=replace(self.line, charge=-self.line.charge),
            allowed=-self.allowed,
            paid=-self.paid,
            adjustments=[replace(a, amount=-a.amount) for a in self.adjustments],
            problems=[],
        )


@dataclass(slots=True)
class ClaimResult:
    claim: Claim
    icn: str
    lines: list[LineResult]
    status: str = "1"
    problems: list[Problem] = field(default_factory=list)
    cycle: int = 1
    interest: Decimal = ZERO
    received: date | None = None

    @property
    def charge(self) -> Decimal:
        total = ZERO
        for ln in self.lines:
            total += ln.line.charge
        return total

    @property
    def paid(self) -> Decimal:
        total = ZERO
        for ln in self.lines:
            total += ln.paid
        return total

    @property
    def patient(self) -> Decimal:
        total = ZERO
        for ln in self.lines:
            total += ln.patient
        return total

    @property
    def all_problems(self) -> list[Problem]:
        return self.problems + [p for ln in self.lines for p in ln.problems]

    def has(self, kind: str) -> bool:
        return any(p.kind == kind for p in self.all_problems)

    def reversal(self) -> ClaimResult:
        """CLP02=22: every amount negated, group codes kept (DOMAIN.md §7.8)."""
        return replace(
            self,
            status="22",
            lines=[ln.negated() for ln in self.lines],
            problems=[],
            interest=ZERO,
        )


@dataclass(frozen=True, slots=True)
class ProviderAdjustment:
    """One PLB pair: positive reduces the payment, negative increases it."""

    code: str
    reference: str
    amount: Decimal


@dataclass(slots=True)
class Payment:
    """One payer payment = one 835 transaction set (one BPR/TRN)."""

    payer_id: str
    cycle: int
    date: date
    trace: str
    method: str
    claims: list[ClaimResult] = field(default_factory=list)
    adjustments: list[ProviderAdjustment] = field(default_factory=list)

    @property
    def amount(self) -> Decimal:
        total = sum((c.paid for c in self.claims), ZERO)
        return total - sum((a.amount for a in self.adjustments), ZERO)


@dataclass(frozen=True, slots=True)
class FrontEnd:
    """The 277CA verdict on one claim."""

    claim: Claim
    accepted: bool
    icn: str = ""
    category: str = "A2"
    status: str = "20"
    entity: str = ""
    reason: str = ""
    line_number: int = 0
    injected: bool = False
