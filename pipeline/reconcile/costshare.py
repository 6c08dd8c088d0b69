"""The patient's cost share recomputed on the *expected* allowed amount (DESIGN § Reconciliation).

Subtracting the payer's reported PR from the expected allowed is wrong whenever the payer
allowed too little: coinsurance shrinks with the allowed amount, so the payer's own PR
understates what the patient owes at the right price and overstates the payer's shortfall.
Per line, on the expected allowed ``E``:

- copay ``k`` = PR-3 as reported (a flat amount per visit), never above ``E``;
- deductible ``d`` = PR-1 as reported, capped by the member's deductible remaining from the
  271 (less what earlier lines of this run already took) when there is one, and by ``E − k``;
- coinsurance = rate × (``E − d − k``), the rate from the 271 for the payer's network tier when
  known, else the payer's own rate on this line (PR-2 ÷ (its allowed − PR-1 − PR-3)).

A line the payer allowed at ``E`` therefore gets back exactly its reported PR.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pipeline.reconcile.expected import cents
from pipeline.reconcile.inputs import as_decimal
from pipeline.reconcile.matching import Adjustment

__all__ = ["CostShareBook", "CostShareTerms"]

ZERO = Decimal(0)
HUNDRED = Decimal(100)


def _reported(adjs: Iterable[Adjustment], reason: str) -> Decimal:
    return sum((a.amount for a in adjs if a.group_code == "PR" and a.reason_code == reason), ZERO)


def _rate(value: object) -> Decimal | None:
    pct = as_decimal(value)
    if pct is None:
        return None
    return pct / HUNDRED if pct > 1 else pct


@dataclass(frozen=True)
class CostShareTerms:
    """What the 271 said for one member and tier (None = not known)."""

    deductible_remaining: Decimal | None = None
    coinsurance: Decimal | None = None  # a fraction: 0.2 = 20 %


@dataclass
class CostShareBook:
    """271 facts by member, and the deductible the lines of this run have taken so far."""

    eligibility: Mapping[str, Mapping[str, Any]]
    taken: dict[tuple[str, str], Decimal] = field(default_factory=dict)

    def terms(self, member_id: str, in_network: bool) -> CostShareTerms:
        row = self.eligibility.get(member_id) if member_id else None
        if not row:
            return CostShareTerms()
        tier = "in_network" if in_network else "out_of_network"
        return CostShareTerms(
            as_decimal(row.get(f"{tier}_deductible_remaining")),
            _rate(row.get(f"{tier}_coinsurance")),
        )

    def expected_share(
        self,
        expected_allowed: Decimal,
        adjustments: list[Adjustment],
        payer_allowed: Decimal | None,
        member_id: str,
        in_network: bool,
    ) -> Decimal:
        """The patient's share of ``expected_allowed`` (see the module docstring)."""
        if expected_allowed <= ZERO:
            return ZERO
        copay, deductible, coins = (_reported(adjustments, r) for r in ("3", "1", "2"))
        terms = self.terms(member_id, in_network)
        k = min(copay, expected_allowed)
        d = min(deductible, expected_allowed - k)
        tier = (member_id, "in" if in_network else "out")
        if terms.deductible_remaining is not None:
            left = max(terms.deductible_remaining - self.taken.get(tier, ZERO), ZERO)
            d = min(d, left)
            self.taken[tier] = self.taken.get(tier, ZERO) + d
        rate = terms.coinsurance
        if rate is None:
            base = (payer_allowed or ZERO) - deductible - copay
            rate = coins / base if base > ZERO else ZERO
        return k + d + cents(rate * max(expected_allowed - d - k, ZERO))
