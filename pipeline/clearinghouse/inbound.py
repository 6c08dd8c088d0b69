"""Inbound files into the simulator's records, through the project's own readers.

Claims come from :func:`pipeline.parse.t837p.read_837p`, inquiries from
:func:`pipeline.parse.t270.read_270` and claim status requests from
:func:`pipeline.parse.t276.read_276`; only the envelope facts the acknowledgments echo
(ISA/GS ids, dates, ISA14, BHT03, the submitter's name) are picked up here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.clearinghouse.model import (
    Claim,
    Inquiry,
    InquiryBatch,
    ServiceLine,
    StatusBatch,
    Submission,
)
from pipeline.errors import X12SyntaxError
from pipeline.practice.records import ClaimRecord, InquiryRecord
from pipeline.x12.reader import read_batches
from pipeline.x12.segments import Segment

__all__ = ["read_inquiries", "read_status_requests", "read_submission"]


@dataclass(slots=True)
class _Head:
    sender_id: str = ""
    receiver_id: str = ""
    interchange_control_number: str = ""
    interchange_date: dt.date = dt.date(2000, 1, 1)
    interchange_time: str = "0000"
    ack_requested: bool = False
    usage: str = "P"
    group_control_number: str = ""
    group_sender: str = ""
    group_receiver: str = ""
    reference: str = ""
    submitter_name: str = ""
    transactions: tuple[str, ...] = ()

    def interchange(self) -> dict[str, Any]:
        """The envelope facts every acknowledgment echoes (shared by 837P and 270)."""
        return {
            "sender_id": self.sender_id,
            "receiver_id": self.receiver_id,
            "interchange_control_number": self.interchange_control_number,
            "interchange_date": self.interchange_date,
            "interchange_time": self.interchange_time,
            "ack_requested": self.ack_requested,
            "usage": self.usage,
            "group_control_number": self.group_control_number,
        }


def _head(path: Path) -> _Head:
    head = _Head()
    transactions: list[str] = []
    for seg in _head_segments(path, head):
        tag = seg.id
        if tag == "ISA" and not head.interchange_control_number:
            env = seg.envelope
            head.sender_id, head.receiver_id = env.sender_id.strip(), env.receiver_id.strip()
            head.interchange_control_number = env.interchange_control_number
            head.interchange_time = seg[10]
            head.ack_requested, head.usage = seg[14] == "1", seg[15]
            try:
                head.interchange_date = dt.datetime.strptime(seg[9], "%y%m%d").date()
            except ValueError as exc:
                raise X12SyntaxError(
                    f"ISA09 {seg[9]!r} is not a YYMMDD date", source=str(path), segment_number=1
                ) from exc
        elif tag == "GS" and not head.group_control_number:
            head.group_sender, head.group_receiver, head.group_control_number = (
                seg[2],
                seg[3],
                seg[6],
            )
        elif tag == "ST":
            transactions.append(seg[2])
        elif tag == "BHT" and not head.reference:
            head.reference = seg[3]
        elif tag == "NM1" and seg[1] == "41" and not head.submitter_name:
            head.submitter_name = seg[3]
    head.transactions = tuple(transactions)
    return head


def _head_segments(path: Path, head: _Head) -> Iterator[Segment]:
    """Envelope segments, and the body's BHT and NM1 segments until BHT03 and the submitter
    are known (a 270 names no submitter: its whole body is looked through)."""
    for item in read_batches(path):
        if isinstance(item, Segment):
            yield item
        elif not (head.reference and head.submitter_name):
            # only the ids _head reads become Segments (numbers kept; offsets unused here)
            first, envelope = item.first_number, item.envelope
            for k, elements in enumerate(item.elements):
                if elements[0] in _HEAD_BODY_IDS:
                    yield Segment(elements, first + k, -1, envelope)


_HEAD_BODY_IDS = frozenset({"BHT", "NM1"})


def read_submission(path: Path) -> Submission:
    """An 837P file as a :class:`Submission` (claims grouped by their ST02, in file order)."""
    from pipeline.parse.t837p import read_837p

    head = _head(path)
    records = read_837p(path)
    by_set: dict[str, list[Claim]] = {number: [] for number in head.transactions}
    for record in records:
        by_set.setdefault(record.transaction_control_number, []).append(_claim(record))
    return Submission(
        **head.interchange(),
        group_sender=head.group_sender,
        group_receiver=head.group_receiver,
        transactions=tuple((number, tuple(claims)) for number, claims in by_set.items()),
        batch_reference=head.reference,
        submitter_name=head.submitter_name,
    )


def _claim(record: ClaimRecord) -> Claim:
    subscriber = record.subscriber
    lines = tuple(
        ServiceLine(
            line_number=ln.line_number,
            procedure_code=ln.procedure_code,
            charge=ln.charge,
            units=ln.units,
            service_date=ln.service_date,
            modifiers=tuple(ln.modifiers),
            line_control_number=ln.line_control_number,
            place_of_service=ln.place_of_service,
            emergency=ln.emergency,
        )
        for ln in record.lines
    )
    prior_auth = record.prior_auth or next(
        (ln.prior_auth for ln in record.lines if ln.prior_auth), ""
    )
    return Claim(
        pcn=record.patient_control_number,
        payer_id=record.payer_id,
        member_id=record.member_id,
        last_name=subscriber.last_name,
        first_name=subscriber.first_name,
        place_of_service=record.place_of_service,
        lines=lines,
        total_charge=record.total_charge,
        frequency=record.frequency,
        aob=record.benefits_assignment,
        prior_auth=prior_auth,
        payer_name=record.payer_name,
        dob=subscriber.dob,
        claim_filing_indicator=record.claim_filing_indicator,
        original_claim_number=record.original_claim_number,
        transaction_control_number=record.transaction_control_number,
        billing_npi=record.billing_npi,
        billing_name=record.billing_name,
        billing_tin=record.billing_tax_id,
        diagnoses=tuple(record.diagnoses),
        patient_last_name="" if record.relationship == "18" else record.patient.last_name,
        patient_first_name="" if record.relationship == "18" else record.patient.first_name,
    )


def read_inquiries(path: Path) -> InquiryBatch:
    """A 270 file as an :class:`InquiryBatch`."""
    from pipeline.parse.t270 import read_270

    head = _head(path)
    inquiries = tuple(_inquiry(record) for record in read_270(path))
    return InquiryBatch(
        **head.interchange(),
        transaction_control_numbers=head.transactions,
        inquiries=inquiries,
        reference=head.reference,
    )


def _inquiry(record: InquiryRecord) -> Inquiry:
    subscriber = record.subscriber
    return Inquiry(
        trace=record.trace_number,
        trace_originator=record.trace_originator,
        payer_id=record.payer_id,
        member_id=record.member_id,
        last_name=subscriber.last_name,
        first_name=subscriber.first_name,
        payer_name=record.payer_name,
        dob=subscriber.dob,
        service_types=tuple(record.service_types),
        service_date=record.service_date,
        provider_name=record.provider_name,
        provider_npi=record.provider_npi,
    )


def read_status_requests(path: Path) -> StatusBatch:
    """A 276 file as a :class:`StatusBatch`."""
    from pipeline.parse.t276 import read_276

    head = _head(path)
    facts = head.interchange()
    return StatusBatch(
        **facts,
        requests=tuple(read_276(path)),
        reference=head.reference,
        submitter_name=head.submitter_name,
    )
