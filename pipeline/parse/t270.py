"""Read a 270 (005010X279A1) back into :class:`~pipeline.practice.records.InquiryRecord` objects.

One record per 2000C subscriber without dependents, and one per 2000D dependent
(the patient asked about). The trace is the TRN of the level that carries it.
Unreadable input raises :class:`~pipeline.errors.X12SyntaxError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from pipeline.errors import X12SyntaxError
from pipeline.parse.common import ccyymmdd
from pipeline.practice.records import InquiryRecord, Person
from pipeline.x12.reader import Source, read_segments
from pipeline.x12.segments import Segment

__all__ = ["iter_270", "read_270"]


def read_270(source: Source) -> list[InquiryRecord]:
    """Every inquiry in ``source`` (path, bytes or binary stream), in file order."""
    return list(iter_270(source))


def iter_270(source: Source) -> Iterator[InquiryRecord]:
    state = _State()
    for seg in read_segments(source):
        yield from state.feed(seg)
    yield from state.flush()


def _date(seg: Segment, index: int) -> date:
    try:
        return ccyymmdd(seg[index][:8])
    except ValueError as exc:
        env = seg.envelope
        raise X12SyntaxError(
            f"{seg.id}{index:02d} ({len(seg[index])} characters) is not a date",
            source=env.source, segment_number=seg.number, offset=seg.offset,
        ) from exc  # fmt: skip


class _State:
    def __init__(self) -> None:
        self.payer: dict[str, str] = {}
        self.provider: dict[str, str] = {}
        self.subscriber: dict[str, Any] | None = None
        self.dependent: dict[str, Any] | None = None
        self.level = ""
        self.pending = False  # a subscriber/dependent inquiry not yet emitted

    def feed(self, seg: Segment) -> Iterator[InquiryRecord]:
        tag = seg.id
        if tag == "HL":
            level = seg[3]
            if self._asks():
                yield self._record(seg)
            self.level = level
            if level == "22":
                self.subscriber, self.dependent = {"person": {}, "envelope": seg.envelope}, None
            elif level == "23":
                self.dependent = {"person": {}, "envelope": seg.envelope}
            self.pending = level in {"22", "23"}
        elif tag == "SE":
            if self._asks():
                yield self._record(seg)
            self.pending = False
        else:
            self._segment(seg)

    def flush(self) -> Iterator[InquiryRecord]:
        return iter(())

    def _asks(self) -> bool:
        """The level being read is an inquiry (it has its EQ / DTP*291)."""
        current = self._current()
        return self.pending and current is not None and "date" in current

    def _current(self) -> dict[str, Any] | None:
        return self.dependent if self.level == "23" else self.subscriber

    def _segment(self, seg: Segment) -> None:
        tag = seg.id
        if tag == "NM1":
            if seg[1] == "PR":
                self.payer = {"name": seg[3], "id": seg[9]}
            elif seg[1] == "1P":
                self.provider = {"name": seg[3], "npi": seg[9]}
            elif (current := self._current()) is not None:
                current["person"].update(last_name=seg[3], first_name=seg[4], middle_name=seg[5])
                if seg[1] == "IL":
                    current["member_id"] = seg[9]
            return
        current = self._current()
        if current is None:
            return
        if tag == "TRN" and seg[1] == "1":
            current["trace"] = (seg[2], seg[3])
        elif tag == "DMG":
            current["person"].update(dob=_date(seg, 2) if seg[2] else None, sex=seg[3])
        elif tag == "REF" and seg[1] == "6P":
            current["group_number"] = seg[2]
        elif tag == "INS":
            current["relationship"] = seg[2]
        elif tag == "DTP" and seg[1] == "291":
            current["date"] = _date(seg, 3)
        elif tag == "EQ":
            # Segment.repeats() fails when the ISA has no repetition separator (4010 style).
            repetition = seg.envelope.delimiters.repetition
            current["service_types"] = tuple(seg[1].split(repetition) if repetition else [seg[1]])

    def _record(self, seg: Segment) -> InquiryRecord:
        sub = self.subscriber or {"person": {}}
        dep = self.dependent if self.level == "23" else None
        asked = dep or sub
        env = asked.get("envelope", seg.envelope)
        trace, originator = asked.get("trace", ("", ""))
        service_date = asked.get("date")
        if service_date is None:
            raise X12SyntaxError(
                "inquiry without DTP*291", source=env.source, segment_number=seg.number
            )
        return InquiryRecord(
            trace_number=trace,
            trace_originator=originator,
            payer_id=self.payer.get("id", ""),
            payer_name=self.payer.get("name", ""),
            provider_npi=self.provider.get("npi", ""),
            provider_name=self.provider.get("name", ""),
            member_id=sub.get("member_id", ""),
            subscriber=Person(**_defaults(sub["person"])),
            service_types=asked.get("service_types", ("30",)),
            service_date=service_date,
            dependent=Person(**_defaults(dep["person"])) if dep else None,
            relationship=dep.get("relationship", "") if dep else "18",
            group_number=sub.get("group_number", ""),
            source_file=env.source,
            interchange_control_number=env.interchange_control_number,
            transaction_control_number=env.transaction_control_number,
        )


def _defaults(person: dict[str, Any]) -> dict[str, Any]:
    person.setdefault("last_name", "")
    person.setdefault("first_name", "")
    return person
