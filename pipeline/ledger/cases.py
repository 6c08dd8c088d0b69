"""No Surprises Act cases and appeals in the ledger: an append-only event log per case.

Three kinds of case, one table (``case_events``):

- ``remittance`` (case id = the PCN): the day each 835 adjudication was received, recorded when
  the 835 is posted — the notice clock of an NSA case starts there;
- ``nsa`` (case id ``<PCN>-nsa``): what the billing office did and heard in open negotiation
  and the federal IDR (notice sent and how, the payer's answer, settlement, IDR steps);
- ``appeal`` (case id = the worklist's ``appeal_id``): drafted, sent, payer responded, won or
  lost with the amount recovered.

Which event may follow which is data (:data:`NEXT_EVENTS`); anything else raises
``IllegalTransition``. Recording the same event twice (same day, amount, method, reference) is a
no-op, so a re-run or a double-typed command changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from pipeline.errors import IllegalTransition, LedgerError
from pipeline.ledger.models import CaseEvent

__all__ = [
    "APPEAL_EVENTS",
    "CASE_KINDS",
    "NEXT_EVENTS",
    "NOTICE_METHODS",
    "NSA_EVENTS",
    "CaseEventRecord",
    "NewCaseEvent",
    "case_event_record",
    "nsa_case_id",
    "record_case_event",
    "record_case_events",
]

_EVENTS: Table = CaseEvent.__table__  # type: ignore[assignment]
_CHUNK = 900
"""Case ids per ``IN (...)`` list: under every SQLite build's bound-variable limit."""

CASE_KINDS = ("remittance", "nsa", "appeal")
NOTICE_METHODS = ("mail", "email", "fax", "portal")
NSA_EVENTS = (
    "payment_received",
    "notice_sent",
    "payer_responded",
    "settled",
    "idr_initiated",
    "idr_entity_selected",
    "offer_submitted",
    "idr_decided",
    "closed",
)
APPEAL_EVENTS = ("drafted", "sent", "payer_responded", "won", "lost", "closed")

_NEGOTIATING = frozenset({"payer_responded", "settled", "idr_initiated", "closed"})
# None = the first event of a case.
NEXT_EVENTS: Mapping[str, Mapping[str | None, frozenset[str]]] = MappingProxyType(
    {
        "remittance": MappingProxyType(
            {
                None: frozenset({"payment_received"}),
                "payment_received": frozenset({"payment_received"}),
            }
        ),
        "nsa": MappingProxyType(
            {
                # A corrected receipt date may be recorded until the notice goes out.
                None: frozenset({"payment_received", "notice_sent", "closed"}),
                "payment_received": frozenset({"payment_received", "notice_sent", "closed"}),
                # A notice re-sent (e.g. by mail after e-mail bounced) restarts nothing: the
                # first sending counts, but the record is kept.
                "notice_sent": _NEGOTIATING | {"notice_sent"},
                "payer_responded": _NEGOTIATING,
                "settled": frozenset({"closed"}),
                "idr_initiated": frozenset({"idr_entity_selected", "settled", "closed"}),
                "idr_entity_selected": frozenset({"offer_submitted", "idr_decided", "settled"}),
                "offer_submitted": frozenset({"offer_submitted", "idr_decided", "settled"}),
                "idr_decided": frozenset({"closed"}),
                "closed": frozenset(),
            }
        ),
        "appeal": MappingProxyType(
            {
                None: frozenset({"drafted", "sent"}),
                "drafted": frozenset({"drafted", "sent", "closed"}),
                "sent": frozenset({"payer_responded", "won", "lost", "sent", "closed"}),
                "payer_responded": frozenset({"payer_responded", "won", "lost", "sent", "closed"}),
                "won": frozenset({"closed"}),
                # Lost at one level: the next level is another sending.
                "lost": frozenset({"sent", "closed"}),
                "closed": frozenset(),
            }
        ),
    }
)


def nsa_case_id(patient_control_number: str) -> str:
    return f"{patient_control_number}-nsa"


@dataclass(frozen=True)
class NewCaseEvent:
    """What a caller records; ``on`` is the business date of the event."""

    case_id: str
    patient_control_number: str
    kind: str
    event: str
    on: dt.date
    method: str | None = None
    amount: Decimal | None = None
    reference: str | None = None
    note: str | None = None
    file_id: int | None = None

    def identity(self) -> str:
        amount = "" if self.amount is None else format(self.amount, "f")
        parts = (self.event, self.on.isoformat(), self.method or "", amount, self.reference or "")
        return "|".join(parts)


@dataclass(frozen=True)
class CaseEventRecord:
    id: int
    case_id: str
    patient_control_number: str
    kind: str
    event: str
    on: dt.date
    method: str | None
    amount: Decimal | None
    reference: str | None
    note: str | None
    file_id: int | None
    recorded_at: dt.datetime
    replayed: bool = False


def case_event_record(row: CaseEvent, *, replayed: bool = False) -> CaseEventRecord:
    return CaseEventRecord(
        id=row.id,
        case_id=row.case_id,
        patient_control_number=row.patient_control_number,
        kind=row.kind,
        event=row.event,
        on=row.on,
        method=row.method,
        amount=row.amount,
        reference=row.reference,
        note=row.note,
        file_id=row.file_id,
        recorded_at=row.recorded_at,
        replayed=replayed,
    )


def _check(new: NewCaseEvent, last: str | None) -> None:
    table = NEXT_EVENTS.get(new.kind)
    if table is None:
        raise LedgerError(f"case {new.case_id}: unknown kind {new.kind!r}")
    if new.event not in table.get(last, frozenset()):
        start = last or "(new case)"
        raise IllegalTransition(f"case {new.case_id}: {start} -> {new.event} is not allowed")
    if new.kind == "nsa" and new.event == "notice_sent" and new.method not in NOTICE_METHODS:
        raise LedgerError(
            f"case {new.case_id}: notice method must be one of {', '.join(NOTICE_METHODS)}"
        )


def record_case_event(session: Session, new: NewCaseEvent, now: dt.datetime) -> CaseEventRecord:
    """Append ``new`` unless the very same event is stored already (then return that one)."""
    key = new.identity()
    seen = session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == new.case_id, CaseEvent.dedupe_key == key)
    ).first()
    if seen is not None:
        return case_event_record(seen, replayed=True)
    last = session.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_id == new.case_id)
        .order_by(CaseEvent.id.desc())
        .limit(1)
        .with_for_update()
    ).first()
    _check(new, last.event if last is not None else None)
    row = CaseEvent(
        case_id=new.case_id,
        patient_control_number=new.patient_control_number,
        kind=new.kind,
        event=new.event,
        on=new.on,
        method=new.method,
        amount=new.amount,
        reference=new.reference,
        note=new.note,
        file_id=new.file_id,
        recorded_at=now,
        dedupe_key=key,
    )
    session.add(row)
    session.flush()
    return case_event_record(row)


def record_case_events(
    session: Session, events: Sequence[NewCaseEvent], now: dt.datetime
) -> list[CaseEventRecord]:
    """:func:`record_case_event` for many events (one 835's CLPs), set-based: the cases'
    stored events are read in chunks, the rules applied in memory in order, the new rows
    inserted in one statement. Same rows, same records."""
    c = _EVENTS.c
    wanted = sorted({e.case_id for e in events})
    seen: dict[tuple[str, str], CaseEventRecord] = {}
    last: dict[str, str] = {}
    for start in range(0, len(wanted), _CHUNK):
        query = (
            select(_EVENTS)
            .where(c.case_id.in_(wanted[start : start + _CHUNK]))
            .order_by(c.id)
            .with_for_update()
        )
        for stored_row in session.execute(query).mappings():
            record = _from_row(dict(stored_row), replayed=True)
            seen.setdefault((record.case_id, stored_row["dedupe_key"]), record)
            last[record.case_id] = record.event
    # Each event's outcome: a stored record (a replay), or a new row (its id after the insert)
    # with whether it repeats an earlier event of this batch.
    outcomes: list[CaseEventRecord | tuple[dict[str, object], bool]] = []
    queued: dict[tuple[str, str], dict[str, object]] = {}
    rows: list[dict[str, object]] = []
    for new in events:
        key = new.identity()
        stored = seen.get((new.case_id, key))
        if stored is not None:
            outcomes.append(stored)
            continue
        earlier = queued.get((new.case_id, key))
        if earlier is not None:
            outcomes.append((earlier, True))
            continue
        _check(new, last.get(new.case_id))
        row: dict[str, object] = {
            "case_id": new.case_id,
            "patient_control_number": new.patient_control_number,
            "kind": new.kind,
            "event": new.event,
            "on": new.on,
            "method": new.method,
            "amount": new.amount,
            "reference": new.reference,
            "note": new.note,
            "file_id": new.file_id,
            "recorded_at": now,
            "dedupe_key": key,
        }
        rows.append(row)
        queued[(new.case_id, key)] = row
        outcomes.append((row, False))
        last[new.case_id] = new.event
    if rows:
        add = insert(_EVENTS).returning(c.id, sort_by_parameter_order=True)
        for queued_row, new_id in zip(rows, session.execute(add, rows).scalars(), strict=True):
            queued_row["id"] = new_id
    return [
        o if isinstance(o, CaseEventRecord) else _from_row(o[0], replayed=o[1]) for o in outcomes
    ]


def _from_row(row: Mapping[str, object], *, replayed: bool) -> CaseEventRecord:
    return CaseEventRecord(
        **{k: row[k] for k in _RECORD_FIELDS},  # type: ignore[arg-type]
        replayed=replayed,
    )


_RECORD_FIELDS = (
    "id", "case_id", "patient_control_number", "kind", "event", "on", "method", "amount",
    "reference", "note", "file_id", "recorded_at",
)  # fmt: skip
