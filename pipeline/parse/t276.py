"""Read a 276 (005010X212) back into :class:`~pipeline.practice.records.StatusRequestRecord`.

One record per 2200D/2200E claim status tracking loop, in file order; the subscriber (2100D)
and, under a 2000E, the patient (2100E) are those of the enclosing levels. Service line loops
(2210D/E) are read past. The simulator answers what this returns; the builder's round trip
is ``read_276(build_276(requests)) == requests``. Unreadable input raises
:class:`~pipeline.errors.X12SyntaxError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from pipeline.errors import X12SyntaxError
from pipeline.parse.common import ccyymmdd, parse_decimal
from pipeline.practice.records import Person, StatusRequestRecord
from pipeline.x12.reader import Source, read_segments
from pipeline.x12.segments import Segment

__all__ = ["iter_276", "read_276"]


def read_276(source: Source) -> list[StatusRequestRecord]:
    """Every claim status request in ``source`` (path, bytes or binary stream)."""
    return list(iter_276(source))


def iter_276(source: Source) -> Iterator[StatusRequestRecord]:
    state = _State()
    for seg in read_segments(source):
        yield from state.feed(seg)


def _date(seg: Segment, text: str, what: str) -> date:
    try:
        return ccyymmdd(text)
    except ValueError as exc:
        env = seg.envelope
        raise X12SyntaxError(
            f"{seg.id}: {what} ({len(text)} characters) is not a CCYYMMDD date",
            source=env.source, segment_number=seg.number, offset=seg.offset,
        ) from exc  # fmt: skip


@dataclass
class _Claim:
    seg: Segment
    trace: str
    refs: dict[str, str] = field(default_factory=dict)
    charge: Decimal | None = None
    dates: tuple[date, date] | None = None


class _State:
    def __init__(self) -> None:
        self.payer: dict[str, str] = {}
        self.provider: dict[str, str] = {}
        self.subscriber: dict[str, Any] = {}
        self.patient: dict[str, Any] | None = None
        self.level = ""
        self.claim: _Claim | None = None
        self.in_line = False

    def feed(self, seg: Segment) -> Iterator[StatusRequestRecord]:
        tag = seg.id
        if tag in ("HL", "TRN", "SE"):
            yield from self._close()
        if tag == "HL":
            self.level = seg[3]
            if self.level == "22":
                self.subscriber, self.patient = {"person": {}}, None
            elif self.level == "23":
                self.patient = {"person": {}}
        elif tag == "TRN":
            self.claim, self.in_line = _Claim(seg, seg[2]), False
        elif tag == "NM1":
            self._nm1(seg)
        elif tag == "DMG":
            person = (self.patient if self.level == "23" else self.subscriber) or {"person": {}}
            dob = _date(seg, seg[2], "DMG02") if seg[2] else None
            person["person"].update(dob=dob, sex=seg[3])
        elif self.claim is not None:
            self._claim_segment(self.claim, seg)

    def _nm1(self, seg: Segment) -> None:
        code = seg[1]
        if code == "PR":
            self.payer = {"name": seg[3], "id": seg[9]}
        elif code == "1P":
            self.provider = {"name": seg[3], "npi": seg[9]}
        elif code == "IL":
            self.subscriber["member_id"] = seg[9]
            self.subscriber["person"].update(_name(seg))
        elif code == "QC" and self.patient is not None:
            self.patient["person"].update(_name(seg))

    def _claim_segment(self, claim: _Claim, seg: Segment) -> None:
        tag = seg.id
        if tag == "SVC":
            self.in_line = True
        elif self.in_line:
            return
        elif tag == "REF":
            claim.refs[seg[1]] = seg[2]
        elif tag == "AMT" and seg[1] == "T3":
            claim.charge = parse_decimal(seg[2])
        elif tag == "DTP" and seg[1] == "472":
            first, _, last = seg[3].partition("-")
            start = _date(seg, first, "DTP03")
            claim.dates = (start, _date(seg, last, "DTP03") if last else start)

    def _close(self) -> Iterator[StatusRequestRecord]:
        claim, self.claim = self.claim, None
        if claim is None:
            return
        env = claim.seg.envelope
        if claim.dates is None:
            raise X12SyntaxError(
                "claim status request without DTP*472 service dates",
                source=env.source, segment_number=claim.seg.number,
            )  # fmt: skip
        yield StatusRequestRecord(
            trace_number=claim.trace,
            payer_id=self.payer.get("id", ""),
            payer_name=self.payer.get("name", ""),
            provider_npi=self.provider.get("npi", ""),
            provider_name=self.provider.get("name", ""),
            member_id=self.subscriber.get("member_id", ""),
            subscriber=_person(self.subscriber),
            patient_control_number=claim.refs.get("EJ", ""),
            charge_amount=claim.charge if claim.charge is not None else Decimal("0"),
            service_date_start=claim.dates[0],
            service_date_end=claim.dates[1],
            patient=_person(self.patient) if self.patient is not None else None,
            payer_claim_control_number=claim.refs.get("1K", ""),
            source_file=env.source,
            interchange_control_number=env.interchange_control_number,
            transaction_control_number=env.transaction_control_number,
        )


def _name(seg: Segment) -> dict[str, str]:
    return {"last_name": seg[3], "first_name": seg[4], "middle_name": seg[5]}


def _person(level: dict[str, Any]) -> Person:
    p = level.get("person", {})
    return Person(
        p.get("last_name", ""), p.get("first_name", ""), p.get("middle_name", ""),
        p.get("dob"), p.get("sex", ""),
    )  # fmt: skip
