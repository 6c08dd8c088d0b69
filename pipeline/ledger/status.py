"""276 claim status requests and their 277 answers, as functions of an open session."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.ledger.eligibility import json_summary
from pipeline.ledger.models import ClaimStatusCheck
from pipeline.ledger.records import StatusCheckRecord, StatusCheckRequest

__all__ = ["record_request", "record_response", "status_record"]


def status_record(row: ClaimStatusCheck) -> StatusCheckRecord:
    return StatusCheckRecord(
        id=row.id,
        trace_number=row.trace_number,
        claim_id=row.claim_id,
        patient_control_number=row.patient_control_number,
        payer_id=row.payer_id,
        channel=row.channel,
        request_file_id=row.request_file_id,
        requested_at=row.requested_at,
        response_file_id=row.response_file_id,
        responded_at=row.responded_at,
        status_category=row.status_category,
        status_code=row.status_code,
        status=row.status,
        summary=row.summary,
    )


def _find(session: Session, trace_number: str) -> ClaimStatusCheck | None:
    query = select(ClaimStatusCheck).where(ClaimStatusCheck.trace_number == trace_number)
    return session.scalars(query.with_for_update()).one_or_none()


def record_request(
    session: Session, request: StatusCheckRequest, file_id: int | None, now: dt.datetime
) -> ClaimStatusCheck:
    row = _find(session, request.trace_number)
    if row is None:
        row = ClaimStatusCheck(trace_number=request.trace_number, channel=request.channel)
        session.add(row)
    row.claim_id = request.claim_id
    row.patient_control_number = request.patient_control_number
    row.payer_id = request.payer_id
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
) -> ClaimStatusCheck:
    """Store a 277 ``claim_statuses`` row; an answer to an unknown trace is kept too."""
    row = _find(session, trace_number)
    if row is None:
        row = ClaimStatusCheck(trace_number=trace_number, channel="batch")
        row.patient_control_number = str(summary.get("patient_control_number") or "") or None
        session.add(row)
    data = json_summary(summary)
    if row.summary == data and row.response_file_id == file_id:
        return row  # the same 277 posted again
    row.summary = data
    row.status_category = str(data.get("status_category") or "") or None
    row.status_code = str(data.get("status_code") or "") or None
    row.status = str(data.get("status") or "") or None
    row.response_file_id = file_id
    row.responded_at = now
    session.flush()
    return row
