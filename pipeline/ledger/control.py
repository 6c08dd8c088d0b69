"""ISA13 / GS06 / ST02 issued by the ledger: unique, never reused, safe across processes.

Each number is one committed ``UPDATE ... SET value = value + 1 ... RETURNING``: PostgreSQL
serialises it on the counter's row lock, SQLite on its write lock (``BEGIN IMMEDIATE``). A
number handed out for a file that is never sent is simply skipped — gaps are fine, repeats never.
"""

from __future__ import annotations

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import OperationalError

from pipeline.errors import LedgerError, LedgerUnavailable
from pipeline.ledger.models import ControlCounter

__all__ = ["MAXIMUM", "LedgerControlNumbers"]

MAXIMUM = 999_999_999
"""ISA13 is 9 digits; GS06 and ST02 are kept within 9 digits as well."""


class LedgerControlNumbers:
    """Implements ``pipeline.x12.writer.ControlNumbers`` on the ledger database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def next_interchange(self) -> int:
        return self._next("interchange")

    def next_group(self) -> int:
        return self._next("group")

    def next_transaction(self) -> int:
        return self._next("transaction")

    def last_issued(self) -> dict[str, int]:
        with self.engine.begin() as connection:
            rows = connection.execute(select(ControlCounter.kind, ControlCounter.value))
            return {kind: int(value) for kind, value in rows}

    def raise_floor(self, *, interchange: int = 0, group: int = 0, transaction: int = 0) -> None:
        """Never issue numbers at or below these (taking over from an older counter)."""
        floors = {"interchange": interchange, "group": group, "transaction": transaction}
        with self.engine.begin() as connection:
            for kind, floor in floors.items():
                connection.execute(
                    update(ControlCounter)
                    .where(ControlCounter.kind == kind, ControlCounter.value < floor)
                    .values(value=floor)
                )

    def _next(self, kind: str) -> int:
        try:
            with self.engine.begin() as connection:
                value = connection.execute(
                    update(ControlCounter)
                    .where(ControlCounter.kind == kind)
                    .values(value=ControlCounter.value + 1)
                    .returning(ControlCounter.value)
                ).scalar_one()
                if value > MAXIMUM:
                    # Raising rolls the increment back: the counter stays at its last valid value.
                    raise LedgerError(f"ledger: {kind} control numbers exhausted at {MAXIMUM}")
        except OperationalError as exc:
            message = str(exc.orig).strip().splitlines()[0] if exc.orig else "unavailable"
            raise LedgerUnavailable(f"ledger: cannot issue a {kind} number: {message}") from exc
        return int(value)
