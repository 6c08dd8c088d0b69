"""270 inquiries and their 271 summaries, as functions of an open session.

Each ``eligibility_checks`` row is one question -- patient, payer (plan), date of service --
and, once the 271 is in, its ``eligibility_summary`` row as JSON: status, AAA rejection,
accumulators, and the decision facts of :mod:`pipeline.parse.coverage` (network coverage,
copays by service type, prior-auth requirements, plan/eligibility dates).
:func:`coverage_facts` turns them back into :class:`~pipeline.parse.coverage.CoverageFacts`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from pipeline.ledger.batch import execute_many, key_filters, update_by_id
from pipeline.ledger.models import EligibilityCheck
from pipeline.ledger.records import EligibilityRecord, EligibilityRequest
from pipeline.parse.coverage import CoverageFacts

__all__ = [
    "coverage_facts",
    "eligibility_record",
    "find",
    "json_summary",
    "record_request",
    "record_requests",
    "record_response",
    "record_responses",
]

_CHECKS: Table = EligibilityCheck.__table__  # type: ignore[assignment]


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


def find(session: Session, trace_number: str) -> EligibilityCheck:
    """The stored check of a trace (after :func:`record_requests` / :func:`record_responses`)."""
    query = select(EligibilityCheck).where(EligibilityCheck.trace_number == trace_number)
    return session.scalars(query).one()


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


def _stored(session: Session, traces: Sequence[str], *columns: Any) -> dict[str, Any]:
    """Trace number -> (id, *columns) of the stored checks (locked on PostgreSQL)."""
    c = _CHECKS.c
    out: dict[str, Any] = {}
    for condition in key_filters(session, c.trace_number, traces):
        query = select(c.trace_number, c.id, *columns).where(condition).with_for_update()
        for trace, *rest in session.execute(query).all():
            out[trace] = rest
    return out


def _write(session: Session, inserts: list[dict[str, Any]], updates: list[dict[str, Any]]) -> None:
    """New checks in one ``executemany``; changed ones in another."""
    if inserts:
        execute_many(session, insert(_CHECKS), inserts)
    if updates:
        update_by_id(session, _CHECKS, [k for k in updates[0] if k != "id"], updates)


def record_requests(
    session: Session, requests: Sequence[EligibilityRequest], file_id: int | None, now: dt.datetime
) -> None:
    """:func:`record_request` for a whole 270, set-based (the same rows)."""
    if len({r.trace_number for r in requests}) != len(requests):
        for request in requests:  # a trace twice: each must see the one before it
            record_request(session, request, file_id, now)
        return
    c = _CHECKS.c
    stored = _stored(session, [r.trace_number for r in requests], c.requested_at, c.request_file_id)
    inserts, updates = [], []
    for r in requests:
        values: dict[str, Any] = {
            "payer_id": r.payer_id,
            "member_id": r.member_id,
            "patient_id": r.patient_id,
            "service_date": r.service_date,
            "service_types": "^".join(r.service_types) or None,
        }
        found = stored.get(r.trace_number)
        if found is None:
            inserts.append(
                {"trace_number": r.trace_number, "request_file_id": file_id, "requested_at": now}
                | values
            )
            continue
        cid, requested_at, request_file_id = found
        values |= {
            "request_file_id": file_id if file_id is not None else request_file_id,
            "requested_at": requested_at or now,
        }
        updates.append({"id": cid} | values)
    _write(session, inserts, updates)


def record_responses(
    session: Session,
    answers: Sequence[tuple[str, Mapping[str, Any]]],
    file_id: int | None,
    now: dt.datetime,
) -> None:
    """:func:`record_response` for a whole 271, set-based: the same rows, in file order (a
    trace answered twice in the file keeps its last answer)."""
    c = _CHECKS.c
    stored = _stored(session, [trace for trace, _ in answers], c.summary, c.response_file_id)
    current: dict[str, dict[str, Any]] = {}  # trace -> response columns, as they stand
    changed: dict[str, None] = {}  # traces to write, in first-change order
    for trace, summary in answers:
        now_row = current.get(trace)
        if now_row is None:
            found = stored.get(trace)
            now_row = current[trace] = {
                "summary": found[1] if found else None,
                "response_file_id": found[2] if found else None,
            }
        data = json_summary(summary)
        if now_row["summary"] == data and now_row["response_file_id"] == file_id:
            continue  # the same 271 posted again
        status = data.get("coverage_status")
        now_row.update(
            summary=data,
            coverage_status=str(status) if status else None,
            response_file_id=file_id,
            responded_at=now,
        )
        changed.setdefault(trace, None)
    inserts, updates = [], []
    for trace in changed:
        row = current[trace]
        found = stored.get(trace)
        if found is None:
            inserts.append({"trace_number": trace} | row)
        else:
            updates.append({"id": found[0]} | row)
    _write(session, inserts, updates)


def coverage_facts(records: Iterable[EligibilityRecord]) -> list[CoverageFacts]:
    """The 271 facts of every answered inquiry, per patient, payer and date asked about.

    An answer to a trace no inquiry of ours carried has no patient: it stays in the ledger
    (never dropped) but decides nothing.
    """
    out: list[CoverageFacts] = []
    # A night's 271s repeat their payers, plans, patients and dates: each such value is kept
    # once for all the facts, not once per fact (20k answers: ~89 -> ~12 MiB traced).
    shared: dict[tuple[str, str], Any] = {}
    ids: dict[object, Any] = {}
    for record in records:
        if not record.summary or not record.patient_id or not record.payer_id:
            continue
        out.append(
            CoverageFacts.from_summary(
                record.summary,
                shared=shared,
                patient_id=ids.setdefault(record.patient_id, record.patient_id),
                payer_id=ids.setdefault(record.payer_id, record.payer_id),
                service_date=ids.setdefault(record.service_date, record.service_date),
                member_id=str(record.summary.get("member_id") or record.member_id or ""),
                trace_number=record.trace_number,
            )
        )
    return out
