"""Helpers every return-file parser shares: amounts, dates, problems, envelope counts."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from pipeline.x12.problems import Problem
from pipeline.x12.segments import Segment

__all__ = [
    "EnvelopeChecker",
    "FeedAll",
    "Money",
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
