"""Helpers every return-file parser shares: amounts, dates, problems, envelope counts."""

from __future__ import annotations

import pickle
import re
import tempfile
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from pipeline.x12.problems import Problem
from pipeline.x12.segments import Segment

__all__ = [
    "EnvelopeChecker",
    "FeedAll",
    "Money",
    "Spool",
    "Spooled",
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
                Problem(
                    env.source, env.transaction_control_number, "transaction",
                    env.transaction_control_number, "invalid_number", "a decimal number",
                    text[:40], f"{field} ({len(text)} characters) is not a number; left empty",
                    segment_number=seg.number, segment_id=seg.id, element=field,
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


class EnvelopeChecker:
    """Checks SE01/SE02, GE01/GE02 and IEA01/IEA02; mismatches become problems."""

    def __init__(self, problems: list[object]) -> None:
        self.problems = problems
        self.sets = 0
        self.groups = 0

    def see(self, seg: Segment) -> None:
        tag = seg.elements[0]
        if tag == "ST":
            self.sets += 1
        elif tag == "SE":
            env = seg.envelope
            self._compare(seg, "transaction", "se_count", seg[1], seg.set_position, "SE01")
            if seg[2] != env.transaction_control_number:
                self._add(seg, "transaction", "se_control_number", env.transaction_control_number,
                          seg[2], "SE02 differs from ST02")  # fmt: skip
        elif tag == "GS":
            self.sets = 0
            self.groups += 1
        elif tag == "GE":
            self._compare(seg, "group", "ge_count", seg[1], self.sets, "GE01")
            if seg[2] != seg.envelope.group_control_number:
                self._add(seg, "group", "ge_control_number", seg.envelope.group_control_number,
                          seg[2], "GE02 differs from GS06")  # fmt: skip
        elif tag == "ISA":
            self.groups = 0
        elif tag == "IEA":
            self._compare(seg, "interchange", "iea_count", seg[1], self.groups, "IEA01")
            if seg[2] != seg.envelope.interchange_control_number:
                self._add(seg, "interchange", "iea_control_number",
                          seg.envelope.interchange_control_number, seg[2],
                          "IEA02 differs from ISA13")  # fmt: skip

    def _compare(
        self, seg: Segment, level: str, rule: str, stated: str, actual: int, field: str
    ) -> None:
        if stated.strip() != str(actual):
            self._add(
                seg, level, rule, str(actual), stated, f"{field} says {stated!r}, counted {actual}"
            )

    def _add(
        self, seg: Segment, level: str, rule: str, expected: str, actual: str, msg: str
    ) -> None:
        env = seg.envelope
        key = {
            "transaction": env.transaction_control_number,
            "group": env.group_control_number,
            "interchange": env.interchange_control_number,
        }[level]
        self.problems.append(
            Problem(env.source, env.transaction_control_number if level == "transaction" else "",
                    level, key, rule, expected, actual, msg,
                    segment_number=seg.number, segment_id=seg.id)
        )  # fmt: skip


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
