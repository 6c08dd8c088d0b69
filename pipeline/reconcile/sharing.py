"""One object per distinct computed amount in a reconciliation table.

A table's sums (a claim's split of adjustments, its net paid, a line's variance) are new
``Decimal`` objects row after row, yet most are equal to one seen before — the same fee, the
same copay, zero. Keeping one of each is most of their memory at 100k claims.
"""

from __future__ import annotations

from decimal import Decimal

__all__ = ["Amounts"]


class Amounts:
    """``amounts(value)`` → an equal Decimal already seen, else ``value`` (then remembered).

    Keyed by the text: ``Decimal("1.0") == Decimal("1.00")`` (and ``-0 == 0``) but they print
    differently, and the exports must print exactly what they did."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[str, Decimal] = {}

    def __call__(self, value: Decimal) -> Decimal:
        return self._seen.setdefault(str(value), value)

    def opt(self, value: Decimal | None) -> Decimal | None:
        return None if value is None else self._seen.setdefault(str(value), value)
