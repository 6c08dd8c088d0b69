"""Helpers every return-file parser shares: amounts, dates, problems, spooled rows.

Envelope counts and control numbers are checked by the one SNIP 1 checker,
:class:`pipeline.x12.envelope.EnvelopeChecker` (the parse driver feeds it).
"""

from __future__ import annotations

import pickle
import re
import tempfile
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from pipeline.x12.balance import not_a_number
from pipeline.x12.segments import Segment

__all__ = [
    "FeedAll",
    "Money",
    "Spool",
    "Spooled",
    "ccyymmdd",
    "iso_date",
    "iso_range",
    "parse_decimal",
]

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")
_CACHE_LIMIT = 50_000


class Money:
    """Turns X12 numeric text (type R/N) into exact ``Decimal`` values.

    Invalid text gives ``None`` and a problem row; a cache shares the Decimal of
    amounts that repeat (``0``, ``50``...), which most amounts in a remittance do.
    """

    __slots__ = ("cache", "problems")

    def __init__(self, problems: list[object]) -> None:
        self.cache: dict[str, Decimal] = {}
        self.problems = problems

    def __call__(self, text: str, seg: Segment, field: str) -> Decimal | None:
        value = self.cache.get(text)
        if value is not None:
            return value
        if not text:
            return None
        value = parse_decimal(text)
        if value is None:
            env = seg.envelope
            self.problems.append(
                not_a_number(
                    env.source, env.transaction_control_number, env.transaction_control_number,
                    text, field, seg.number, seg.id, "left empty",
                )
            )  # fmt: skip
            return None
        if len(self.cache) >= _CACHE_LIMIT:
            self.cache.clear()
        self.cache[text] = value
        return value


def parse_decimal(text: str) -> Decimal | None:
    """``Decimal`` of X12 numeric text, or ``None`` when it is not a plain decimal number."""
    if not _NUMBER.fullmatch(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid numbers
        return None


def ccyymmdd(text: str) -> date:
    """A CCYYMMDD date; ``ValueError`` when it is not one (the caller names the element).

    Eight ASCII digits are read with ``int`` (what strptime gives, at a tenth of its cost);
    anything else, and any doubt, goes to strptime."""
    if len(text) == 8 and text.isascii() and text.isdigit():
        try:
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            pass
    return datetime.strptime(text, "%Y%m%d").date()


def iso_date(text: str) -> str:
    """``CCYYMMDD`` -> ``CCYY-MM-DD``; anything else is kept as sent (never guessed)."""
    if len(text) == 8 and text.isdigit():
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return text


def iso_range(qualifier: str, text: str) -> tuple[str, str]:
    """A DTP/DTM date (``D8``) or range (``RD8`` ``CCYYMMDD-CCYYMMDD``) as (start, end)."""
    if qualifier == "RD8" or (len(text) == 17 and text[8] == "-"):
        start, _, end = text.partition("-")
        return iso_date(start), iso_date(end)
    day = iso_date(text)
    return day, day


class FeedAll(dict[str, Callable[[Segment], None]]):
    """A dispatch table that sends every segment id to one ``feed`` function."""

    def __init__(self, feed: Callable[[Segment], None]) -> None:
        super().__init__()
        self.feed = feed

    def get(self, key: str, default: object = None) -> Callable[[Segment], None]:
        return self.feed


SPOOL_ROWS = 2_000


class Spool:
    """Rows a later segment completes (a 999 group's rows wait for its AK9), held in bounded
    memory: past ``limit`` rows they wait, pickled, in an anonymous temporary file (0600,
    unlinked at once: it holds claim numbers and bad values, never outlives the parse)."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = SPOOL_ROWS if limit is None else limit
        self.rows: list[Any] = []
        self.count = 0
        self._file: IO[bytes] | None = None

    def extend(self, rows: list[Any]) -> None:
        self.rows.extend(rows)
        self.count += len(rows)
        if len(self.rows) >= self.limit:
            if self._file is None:
                self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by replay
            pickle.dump(self.rows, self._file, protocol=pickle.HIGHEST_PROTOCOL)
            self.rows = []

    def release(self, finish: Callable[[Any], None]) -> Spooled:
        """A record for the driver's output: replays the rows, each passed to ``finish``."""
        return Spooled(self, finish)

    def replay(self) -> Iterator[Any]:
        spilled, self._file = self._file, None
        if spilled is not None:
            with spilled:
                spilled.seek(0)
                while True:
                    try:
                        chunk = pickle.load(spilled)  # our own file, just written
                    except EOFError:
                        break
                    yield from chunk
        rows, self.rows = self.rows, []
        yield from rows


class Spooled:
    """Stands in the driver's output for the rows of a :class:`Spool`; the driver expands it
    lazily (:meth:`records`), so a group of a million rows never sits in memory at once."""

    __slots__ = ("finish", "spool")

    def __init__(self, spool: Spool, finish: Callable[[Any], None]) -> None:
        self.spool, self.finish = spool, finish

    def records(self) -> Iterator[Any]:
        finish = self.finish
        for row in self.spool.replay():
            finish(row)
            yield row
