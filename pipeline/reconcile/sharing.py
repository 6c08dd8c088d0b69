"""One object per distinct value in reconciliation's rows.

A table's computed cells (a claim's split of adjustments, a line's variance, a deadline, a
reason text) are new objects row after row, yet most are equal to one seen before — the same
fee, the same copay, zero, the same appeal deadline. Keeping one of each is most of their
memory at 100k claims. Every shared value is immutable.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TypeVar

__all__ = ["Amounts", "Pool"]

_T = TypeVar("_T")


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


class Pool:
    """``pool(value)`` → an equal text, date or amount already seen (amounts by their text,
    see :class:`Amounts`); any other value as it is."""

    __slots__ = ("_amounts", "_seen")

    def __init__(self) -> None:
        self._seen: dict[object, object] = {}
        self._amounts = Amounts()

    def __call__(self, value: _T) -> _T:
        kind = value.__class__
        if kind is str or kind is date:
            return self._seen.setdefault(value, value)  # type: ignore[return-value]
        if kind is Decimal:
            return self._amounts(value)  # type: ignore[arg-type,return-value]
        return value

    @property
    def amounts(self) -> Amounts:
        return self._amounts
