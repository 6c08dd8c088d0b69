"""270 inquiries and their 271 summaries, as functions of an open session.

Each ``eligibility_checks`` row is one question -- patient, payer (plan), date of service --
and, once the 271 is in, its ``eligibility_summary`` row as JSON: status, AAA rejection,
accumulators, and the decision facts of :mod:`pipeline.parse.coverage` (network coverage,
copays by service type, prior-auth requirements, plan/eligibility dates).
:func:`coverage_facts` turns them back into :class:`~pipeline.parse.coverage.CoverageFacts`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.ledger.models import EligibilityCheck
from pipeline.ledger.records import EligibilityRecord, EligibilityRequest
from pipeline.parse.coverage import CoverageFacts

__all__ = [
    "coverage_facts",
    "eligibility_record",
    "json_summary",
    "record_request",
    "record_response",
]


def eligibility_record(row: EligibilityCheck) -> EligibilityRecord:
    return EligibilityRecord(
        id=row.id,
        trace_number=row.trace_number,
        payer_id=row.payer_id,
        member_id=row.member_id,
        patient_id=row.patient_id,
        service_date=row.service_date,
        service_types=tuple(t for t in (row.service_types or "").split("^") if t),
        request_file_id=row.request_file_id,
        requested_at=row.requested_at,
        response_file_id=row.response_file_id,
        responded_at=row.responded_at,
        coverage_status=row.coverage_status,
        summary=row.summary,
    )


def json_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The ``eligibility_summary`` row as JSON: amounts and dates become strings (exact)."""
    out: dict[str, Any] = {}
    for key, value in summary.items():
        if value is None or isinstance(value, bool | int | str):
            out[key] = value
        elif isinstance(value, Decimal):
            out[key] = str(value)
        elif isinstance(value, dt.date):
            out[key] = value.isoformat()
        else:
            out[key] = str(value)
    return out


def _find(session: Session, trace_number: str) -> EligibilityCheck | None:
    query = select(EligibilityCheck).where(EligibilityCheck.trace_number == trace_number)
    return session.scalars(query.with_for_update()).one_or_none()


def record_request(
    session: Session, request: EligibilityRequest, file_id: int | None, now: dt.datetime
) -> EligibilityCheck:
    row = _find(session, request.trace_number)
    if row is None:
        row = EligibilityCheck(trace_number=request.trace_number)
        session.add(row)
    row.payer_id = request.payer_id
    row.member_id = request.member_id
    row.patient_id = request.patient_id
    row.service_date = request.service_date
    row.service_types = "^".join(request.service_types) or None
    if file_id is not None:
        row.request_file_id = file_id
    row.requested_at = row.requested_at or now
    session.flush()
    return row


def record_response(
    session: Session,
    trace_number: str,
    summary: Mapping[str, Any],
    file_id: int | None,
    now: dt.datetime,
) -> EligibilityCheck:
    """Store a 271 summary; an answer to an unknown trace is kept too (never dropped)."""
    row = _find(session, trace_number)
    if row is None:
        row = EligibilityCheck(trace_number=trace_number)
        session.add(row)
    data = json_summary(summary)
    if row.summary == data and row.response_file_id == file_id:
        return row  # the same 271 posted again
    row.summary = data
    status = data.get("coverage_status")
    row.coverage_status = str(status) if status else None
    row.response_file_id = file_id
    row.responded_at = now
    session.flush()
    return row


def coverage_facts(records: Iterable[EligibilityRecord]) -> list[CoverageFacts]:
    """The 271 facts of every answered inquiry, per patient, payer and date asked about.

    An answer to a trace no inquiry of ours carried has no patient: it stays in the ledger
    (never dropped) but decides nothing.
    """
    out: list[CoverageFacts] = []
    for record in records:
        if not record.summary or not record.patient_id or not record.payer_id:
            continue
        out.append(
            CoverageFacts.from_summary(
                record.summary,
                patient_id=record.patient_id,
                payer_id=record.payer_id,
                service_date=record.service_date,
                member_id=str(record.summary.get("member_id") or record.member_id or ""),
                trace_number=record.trace_number,
            )
        )
    return out
