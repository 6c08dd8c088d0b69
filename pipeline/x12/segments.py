"""The values the reader yields: delimiters, envelope context and segments."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Delimiters", "Envelope", "Segment"]


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The four X12 delimiters, as read from an ISA (or chosen for writing)."""

    element: str = "*"
    repetition: str = "^"
    component: str = ":"
    segment: str = "~"

    def active(self) -> tuple[str, ...]:
        return (self.element, self.repetition, self.component, self.segment)


@dataclass(frozen=True, slots=True)
class Envelope:
    """Where a segment sits: its interchange, functional group and transaction set.

    A new object is made at each ISA, GS and ST, so a segment's context never
    changes after it was yielded.
    """

    delimiters: Delimiters
    source: str = "<input>"
    interchange_control_number: str = ""
    sender_id: str = ""
    receiver_id: str = ""
    interchange_date: str = ""
    interchange_time: str = ""
    usage_indicator: str = ""
    ack_requested: str = ""
    functional_id: str = ""
    group_control_number: str = ""
    version: str = ""
    transaction_set_id: str = ""
    transaction_control_number: str = ""
    implementation: str = ""
    st_segment_number: int = 0


class Segment:
    """One segment: ``seg[0]`` is its id, ``seg[1]`` its first element (X12 numbering).

    Out-of-range elements read as ``""``, as X12 drops trailing empty elements.
    """

    __slots__ = ("elements", "envelope", "number", "offset")

    def __init__(self, elements: list[str], number: int, offset: int, envelope: Envelope) -> None:
        self.elements = elements
        self.number = number  # 1-based ordinal of the segment in the file
        self.offset = offset  # byte offset of its first character in the file
        self.envelope = envelope

    @property
    def id(self) -> str:
        return self.elements[0]

    def __getitem__(self, index: int) -> str:
        elements = self.elements
        return elements[index] if index < len(elements) else ""

    def __len__(self) -> int:
        return len(self.elements)

    def composite(self, index: int) -> list[str]:
        """Components of element ``index`` (``SVC01`` -> ``['HC', '99214', '25']``)."""
        value = self[index]
        return value.split(self.envelope.delimiters.component) if value else []

    def component(self, index: int, sub: int) -> str:
        """One component, 1-based (``seg.component(1, 2)`` is ``SVC01-2``)."""
        parts = self.composite(index)
        return parts[sub - 1] if sub <= len(parts) else ""

    def repeats(self, index: int) -> list[str]:
        """Repetitions of a repeatable element (``EB03`` -> ``['30', '1', '33']``)."""
        value = self[index]
        if not value:
            return []
        separator = self.envelope.delimiters.repetition
        return value.split(separator) if separator else [value]  # 4010: no repetition

    @property
    def set_position(self) -> int:
        """Position inside its transaction set (ST = 1), as 999 IK302 counts."""
        start = self.envelope.st_segment_number
        return self.number - start + 1 if start else 0

    def __repr__(self) -> str:
        # Never the values: a repr lands in logs and tracebacks, and segments hold PHI.
        return f"Segment({self.id!r}, {len(self.elements) - 1} elements, #{self.number})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Segment):
            return self.elements == other.elements
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]
