"""X12 writer: segments from element lists, envelopes with correct counts.

The writer refuses, at the segment that does it, any value holding an active
delimiter (``X12WriteError`` names the field, e.g. ``NM103``): nobody's name is
silently stripped. Trailing empty elements and components are dropped.

    writer = X12Writer(out, control_numbers=FileControlNumbers(path))
    with writer.interchange(sender=("ZZ", "SUBMITTER"), receiver=("ZZ", "CH")) as isa:
        with isa.group("HC", "SUBMITTER", "CH", "005010X222A1") as gs:
            with gs.transaction("837") as st:
                st.segment("BHT", "0019", "00", "B1", "20250115", "1230", "CH")
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol, TextIO

from pipeline.errors import X12WriteError
from pipeline.x12.segments import Delimiters

__all__ = [
    "ControlNumbers",
    "Element",
    "GroupWriter",
    "InterchangeWriter",
    "Repeated",
    "TransactionWriter",
    "X12Writer",
    "format_segment",
]

_NO_ST03 = frozenset({"835"})


class Repeated(tuple[str, ...]):
    """A repeating element (EB03 ``30^1^33``): joined with the repetition separator."""

    __slots__ = ()


# An element is a plain value, a repeated value, a composite (sequence of components)
# or None (empty).
Element = str | Repeated | Sequence[str | None] | None


class ControlNumbers(Protocol):
    """Issues ISA13, GS06 and ST02 values; a number is never handed out twice."""

    def next_interchange(self) -> int: ...

    def next_group(self) -> int: ...

    def next_transaction(self) -> int: ...


def format_segment(tag: str, elements: Sequence[Element], delimiters: Delimiters) -> str:
    """One segment's text, without terminator; refuses delimiters inside values."""
    active = delimiters.active()
    values: list[str] = []
    for position, element in enumerate(elements, start=1):
        if element is None or isinstance(element, str):
            values.append(_check(element or "", tag, position, None, active))
            continue
        if isinstance(element, Repeated):
            checked = [_check(value, tag, position, None, active) for value in element]
            values.append(delimiters.repetition.join(checked))
            continue
        components = [
            _check(component or "", tag, position, sub, active)
            for sub, component in enumerate(element, start=1)
        ]
        while components and not components[-1]:
            components.pop()
        values.append(delimiters.component.join(components))
    while values and not values[-1]:
        values.pop()
    return delimiters.element.join([tag, *values])


def _check(value: str, tag: str, position: int, sub: int | None, active: tuple[str, ...]) -> str:
    for delimiter in active:
        if delimiter and delimiter in value:
            field = f"{tag}{position:02d}" + (f"-{sub}" if sub else "")
            raise X12WriteError(
                f"{field} value contains the delimiter {delimiter!r}; "
                "change the value or choose other delimiters"
            )
    return value


class X12Writer:
    """Writes interchanges to a text stream."""

    def __init__(
        self,
        out: TextIO,
        *,
        control_numbers: ControlNumbers,
        delimiters: Delimiters | None = None,
        newline: bool = True,
        now: dt.datetime | None = None,
    ) -> None:
        self.out = out
        self.control_numbers = control_numbers
        self.delimiters = delimiters or Delimiters()
        self.newline = "\n" if newline else ""
        self.now = now or dt.datetime.now()

    def write(self, tag: str, elements: Sequence[Element]) -> None:
        text = format_segment(tag, elements, self.delimiters)
        self.out.write(text + self.delimiters.segment + self.newline)

    @contextmanager
    def interchange(
        self,
        *,
        sender: tuple[str, str],
        receiver: tuple[str, str],
        usage: str = "P",
        ack_requested: bool = False,
        control_number: int | None = None,
    ) -> Iterator[InterchangeWriter]:
        number = control_number or self.control_numbers.next_interchange()
        if not 0 < number <= 999_999_999:
            raise X12WriteError(f"ISA13 control number {number} out of range 1-999999999")
        isa13 = f"{number:09d}"
        for field, (qualifier, ident) in (("ISA05/06", sender), ("ISA07/08", receiver)):
            if len(qualifier) != 2 or len(ident) > 15:
                raise X12WriteError(f"{field} must be a 2-char qualifier and an id of <= 15 chars")
        d = self.delimiters
        isa = [
            "00", " " * 10, "00", " " * 10,
            sender[0], sender[1].ljust(15), receiver[0], receiver[1].ljust(15),
            self.now.strftime("%y%m%d"), self.now.strftime("%H%M"),
            d.repetition, "00501", isa13, "1" if ack_requested else "0", usage, d.component,
        ]  # fmt: skip
        # The ISA is fixed-width and carries the delimiters: written as is.
        self.out.write(d.element.join(["ISA", *isa]) + d.segment + self.newline)
        ic = InterchangeWriter(self, isa13)
        yield ic
        self.write("IEA", [str(ic.groups), isa13])


class InterchangeWriter:
    def __init__(self, writer: X12Writer, control_number: str) -> None:
        self.writer = writer
        self.control_number = control_number
        self.groups = 0

    @contextmanager
    def group(
        self, functional_id: str, sender: str, receiver: str, version: str
    ) -> Iterator[GroupWriter]:
        w = self.writer
        number = str(w.control_numbers.next_group())
        w.write(
            "GS",
            [functional_id, sender, receiver, w.now.strftime("%Y%m%d"),
             w.now.strftime("%H%M"), number, "X", version],
        )  # fmt: skip
        group = GroupWriter(w, number, version)
        yield group
        w.write("GE", [str(group.transactions), number])
        self.groups += 1


class GroupWriter:
    def __init__(self, writer: X12Writer, control_number: str, version: str) -> None:
        self.writer = writer
        self.control_number = control_number
        self.version = version
        self.transactions = 0
        self.transaction_control_numbers: list[str] = []

    @contextmanager
    def transaction(self, transaction_set_id: str) -> Iterator[TransactionWriter]:
        number = f"{self.writer.control_numbers.next_transaction():04d}"
        ts = TransactionWriter(self.writer, number)
        # The 835 guide marks ST03 "not used"; every other 5010 set repeats GS08 there.
        st03 = None if transaction_set_id in _NO_ST03 else self.version
        ts.segment("ST", transaction_set_id, number, st03)
        yield ts
        ts.segment("SE", str(ts.count + 1), number)
        self.transactions += 1
        self.transaction_control_numbers.append(number)


class TransactionWriter:
    """Counts segments so SE01 is right."""

    def __init__(self, writer: X12Writer, control_number: str) -> None:
        self.writer = writer
        self.control_number = control_number
        self.count = 0

    def segment(self, tag: str, *elements: Element) -> None:
        self.writer.write(tag, elements)
        self.count += 1
