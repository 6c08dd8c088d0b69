"""Set-based ledger writes: a night's claims, an outbound file's claims, in a few statements.

:func:`pipeline.ledger.claims.record_claim` costs a handful of ORM round trips per claim; a
10k-claim night spent a minute there. Here the rows a batch touches are read in chunks
(``IN`` lists of :data:`CHUNK` keys), every decision is made in memory with the same rules
(``check_claim_transition``, the event ``dedupe_key``), and the writes are one ``executemany``
per table, all in the caller's transaction: committed together or not at all.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    String,
    Table,
    any_,
    bindparam,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session

from pipeline.errors import IllegalTransition, LedgerError
from pipeline.ledger.lifecycle import INITIAL_CLAIM_STATES, ClaimState, check_claim_transition
from pipeline.ledger.models import Claim, ClaimEvent, ClaimLine
from pipeline.ledger.records import (
    Cause,
    ClaimDraft,
    ClaimHead,
    ClaimRecord,
    LineDraft,
    LineRecord,
)

__all__ = [
    "CHUNK",
    "EventLog",
    "chunked",
    "claim_records",
    "execute_many",
    "insert_returning_ids",
    "key_filters",
    "latest_heads",
    "latest_records",
    "record_claims",
]

CHUNK = 900
"""Keys per ``IN (...)`` list: under every SQLite build's bound-variable limit."""

_UNSENT = frozenset({ClaimState.READY, ClaimState.SCRUB_FAILED})
_CLAIMS: Table = Claim.__table__  # type: ignore[assignment]
_LINES: Table = ClaimLine.__table__  # type: ignore[assignment]
_EVENTS: Table = ClaimEvent.__table__  # type: ignore[assignment]
_FIELDS = (
    "frequency_code", "payer_id", "payer_name", "charge_amount", "service_date_start",
    "service_date_end", "patient_id", "encounter_id",
)  # fmt: skip
_LINE_FIELDS = (
    "line_control_number", "procedure_code", "modifiers", "units", "charge_amount",
    "service_date", "place_of_service",
)  # fmt: skip

K = TypeVar("K")


def chunked(keys: Sequence[K], size: int = CHUNK) -> Iterator[Sequence[K]]:
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


def key_filters(
    session: Session, column: ColumnElement[Any], keys: Iterable[Any]
) -> Iterator[ColumnElement[bool]]:
    """``column IN keys`` as one condition with one bound parameter, whatever the count: on
    PostgreSQL ``= ANY(array)``, on SQLite ``IN (SELECT value FROM json_each(?))`` (an
    ``IN`` list of literal binds cost SQLAlchemy ~10 us per key to expand, and a query per
    :data:`CHUNK` keys). Keys are ints or strings. Run one query per condition."""
    wanted = sorted(set(keys))
    if not wanted:
        return
    if session.get_bind().dialect.name == "postgresql":
        yield column == any_(literal(wanted, ARRAY(column.type)))
        return
    listed = func.json_each(bindparam(None, json.dumps(wanted), type_=String)).table_valued("value")
    yield column.in_(select(listed.c.value))


def insert_returning_ids(session: Session, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows``; their ids, in row order. PostgreSQL: SQLAlchemy's insertmanyvalues
    (multi-row ``RETURNING``). SQLite: SQLAlchemy would send a statement per row to keep the
    order; the driver does the same, reading ``lastrowid``, for a fraction of the cost."""
    if not rows:
        return []
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        query = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(session.execute(query, rows).scalars())
    sql, values = _driver_rows(conn, insert(table), rows)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        ids = []
        for params in values:
            cursor.execute(sql, params)
            ids.append(cursor.lastrowid)
        return ids
    finally:
        cursor.close()


def execute_many(session: Session, query: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    """``session.execute(query, rows)`` for an INSERT or UPDATE without ``RETURNING``. On
    SQLite the driver's ``executemany`` gets the values as SQLAlchemy would send them
    (:func:`_driver_rows`); elsewhere SQLAlchemy (psycopg pipelines the rows already)."""
    if not rows:
        return
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        session.execute(query, rows)
        return
    sql, values = _driver_rows(conn, query, rows)
    conn.exec_driver_sql(sql, values)


def _driver_rows(
    conn: Any, query: Any, rows: Sequence[Mapping[str, Any]]
) -> tuple[str, list[tuple[Any, ...]]]:
    """``query`` compiled once for SQLite (positional ``?``), and each row's values processed
    by their binds' types (Money, UTC datetimes, JSON): SQLAlchemy's per-row parameter
    building was most of an ``executemany``'s cost. Every bind must be a key of the rows."""
    dialect = conn.dialect
    compiled = query.compile(dialect=dialect, column_keys=list(rows[0]))
    names = list(compiled.positiontup or ())
    process = [
        compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    ]
    keys = [compiled.binds[name].key for name in names]
    steps = list(zip(keys, process, strict=True))
    values = [tuple(f(row[k]) if f else row[k] for k, f in steps) for row in rows]
    return str(compiled), values


def update_by_id(
    session: Session, table: Table, names: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Set ``names`` on the rows of ``table`` with these ``id`` s: one ``executemany``.

    Bind names are prefixed ``b_``: SQLAlchemy refuses a bind named like a column it sets.
    """
    if not rows:
        return
    query = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values({name: bindparam(f"b_{name}") for name in names})
    )
    execute_many(
        session,
        query,
        [{"b_id": row["id"]} | {f"b_{name}": row[name] for name in names} for row in rows],
    )


@dataclass
class _History:
    """What the dedupe rule needs of a claim's stored events."""

    keys: set[str] = field(default_factory=set)
    count: int = 0
    last: tuple[str, int | None, str | None, str | None, str | None] | None = None
    """(to_state, file_id, reference, code, note) of the newest event."""


class EventLog:
    """Claim events decided in memory with :func:`pipeline.ledger.claims.apply_transition`'s
    rules, written by :meth:`flush` in one ``executemany`` (in the order they were decided)."""

    def __init__(self, now: dt.datetime) -> None:
        self._now = now
        self._history: dict[int, _History] = {}
        self.rows: list[dict[str, Any]] = []

    def load(self, session: Session, claim_ids: Iterable[int]) -> None:
        """Read the stored events of ``claim_ids`` (chunked) once, before any :meth:`apply`."""
        wanted = sorted(set(claim_ids) - set(self._history))
        for cid in wanted:
            self._history[cid] = _History()
        e = _EVENTS.c
        for condition in key_filters(session, e.claim_id, wanted):
            query = (
                select(e.claim_id, e.to_state, e.file_id, e.reference, e.code, e.note, e.dedupe_key)
                .where(condition)
                .order_by(e.id)
            )
            for cid, to_state, file_id, reference, code, note, key in session.execute(query).all():
                h = self._history[cid]
                h.keys.add(key)
                h.count += 1
                h.last = (to_state, file_id, reference, code, note)

    def apply(
        self, claim_id: int, current: ClaimState | None, target: ClaimState, cause: Cause
    ) -> bool:
        """Queue ``claim -> target``; False when the very event is stored (a replay).

        Raises ``IllegalTransition`` for a move the lifecycle forbids (nothing queued)."""
        h = self._history.setdefault(claim_id, _History())
        identity = cause.identity()
        if identity is not None:
            key = f"{target.value}|{identity}"
            if key in h.keys:
                return False
        else:
            # No file or reference to recognise it by: a replay is "the last event said the same".
            if h.last is not None and h.last == (target.value, None, None, cause.code, cause.note):
                return False
            key = f"{target.value}|seq={h.count + 1}"
        check_claim_transition(claim_id, current, target)
        h.keys.add(key)
        h.count += 1
        h.last = (target.value, cause.file_id, cause.reference, cause.code, cause.note)
        self.rows.append(
            {
                "claim_id": claim_id,
                "at": self._now,
                "from_state": current.value if current else None,
                "to_state": target.value,
                "file_id": cause.file_id,
                "segment_number": cause.segment_number,
                "code": cause.code,
                "note": cause.note,
                "reference": cause.reference,
                "amount": cause.amount,
                "dedupe_key": key,
            }
        )
        return True

    def flush(self, session: Session) -> None:
        if self.rows:
            execute_many(session, insert(_EVENTS), self.rows)
        self.rows = []


def record_claims(
    session: Session, drafts: Sequence[ClaimDraft], now: dt.datetime
) -> list[ClaimRecord]:
    """``record_claim`` for every draft, set-based; the same rows, ids and records.

    Every draft must name a different PCN (the caller falls back to one at a time if not).
    """
    for draft in drafts:
        _check_draft(draft)
    pcns = [d.patient_control_number for d in drafts]
    latest = _latest(session, pcns)
    lines = _lines(session, [row["id"] for row in latest.values()])
    new_claims: list[dict[str, Any]] = []
    new_lines: list[tuple[dict[str, Any], dict[str, Any]]] = []  # (claim, line)
    claim_updates: list[dict[str, Any]] = []
    line_updates: list[dict[str, Any]] = []
    line_deletes: list[int] = []
    out: list[dict[str, Any]] = []
    # Events in the order the one-at-a-time path wrote them; a new claim's id is known only
    # after its insert, so its events wait (claim dict, target, cause) until then.
    pending: list[tuple[dict[str, Any], ClaimState | None, ClaimState, Cause]] = []
    for draft in drafts:
        old = latest.get(draft.patient_control_number)
        if old is not None and ClaimState(old["state"]) in _UNSENT:
            _fill(old, draft, now)
            old["lines"] = _sync_lines(
                old, lines.get(old["id"], []), draft.lines, new_lines, line_updates, line_deletes
            )
            current = ClaimState(old["state"])
            if current != draft.state or draft.state == ClaimState.SCRUB_FAILED:
                pending.append((old, current, draft.state, draft.cause))
            claim_updates.append(old)
            out.append(old)
            continue
        if old is not None and not draft.new_version:
            old["lines"] = lines.get(old["id"], [])
            out.append(old)  # already sent: a rerun of the build changes nothing
            continue
        version = 1 if old is None else old["version"] + 1
        claim: dict[str, Any] = {
            "id": None,
            "pcn": draft.patient_control_number,
            "version": version,
            "replaces_claim_id": old["id"] if old is not None else None,
            "state": draft.state.value,  # its first event, written after it, says so
            "payer_claim_control_number": None,
            "created_at": now,
        }
        _fill(claim, draft, now)
        claim["lines"] = _sync_lines(claim, [], draft.lines, new_lines, [], [])
        new_claims.append(claim)
        if old is not None:
            # The replaced version leaves the active lifecycle in the same transaction.
            cause = Cause(reference=f"version={version}", note=f"replaced by version {version}")
            pending.append((old, ClaimState(old["state"]), ClaimState.RESUBMITTED, cause))
            claim_updates.append(old)
        pending.append((claim, None, draft.state, draft.cause))
        out.append(claim)
    # Claims first (their ids name the lines and events), then lines, events, updates.
    ids = insert_returning_ids(
        session,
        _CLAIMS,
        [
            {
                "patient_control_number": c["pcn"],
                "version": c["version"],
                "replaces_claim_id": c["replaces_claim_id"],
                "state": c["state"],
                "created_at": c["created_at"],
                "updated_at": c["updated_at"],
            }
            | {name: c[name] for name in _FIELDS}
            for c in new_claims
        ],
    )
    for claim, cid in zip(new_claims, ids, strict=True):
        claim["id"] = cid
    _write_lines(session, new_lines, line_updates, line_deletes)
    log = EventLog(now)
    fresh = set(ids)  # no stored events to read
    log.load(session, [c["id"] for c, *_ in pending if c["id"] not in fresh])
    for moved, before, target, why in pending:
        if log.apply(moved["id"], before, target, why):
            moved["state"] = target.value
            moved["updated_at"] = now
    log.flush(session)
    _update_claims(session, claim_updates)
    return [_record(c) for c in out]


def _check_draft(draft: ClaimDraft) -> None:
    if draft.state not in INITIAL_CLAIM_STATES:
        raise IllegalTransition(
            f"claim {draft.patient_control_number}: a new claim starts ready or scrub_failed, "
            f"not {draft.state.value}"
        )
    numbers = [line.line_number for line in draft.lines]
    controls = [line.line_control_number for line in draft.lines]
    if len(set(numbers)) != len(numbers) or len(set(controls)) != len(controls):
        raise LedgerError(
            f"claim {draft.patient_control_number}: line numbers and REF*6R must be unique"
        )


def _columns() -> list[ColumnElement[Any]]:
    c = _CLAIMS.c
    return [
        c.id, c.patient_control_number.label("pcn"), c.version, c.replaces_claim_id, c.state,
        c.payer_claim_control_number, c.created_at, c.updated_at, *(c[n] for n in _FIELDS),
    ]  # fmt: skip


def claim_records(session: Session, query: Any, *, with_lines: bool = True) -> list[ClaimRecord]:
    """The claims a ``select(Claim)...`` query finds, as records, read with Core (one query
    for the claims, one per key chunk for their lines) instead of ORM objects.
    ``with_lines=False``: records without their lines (``lines=()``), lines not read."""
    claims = [dict(row) for row in session.execute(query.with_only_columns(*_columns())).mappings()]
    lines = _lines(session, [c["id"] for c in claims]) if with_lines else {}
    for claim in claims:
        claim["lines"] = lines.get(claim["id"], [])
    return [_record(c) for c in claims]


def latest_records(session: Session, pcns: Iterable[str], *, lock: bool) -> dict[str, ClaimRecord]:
    """PCN -> its latest version, for every PCN the ledger knows."""
    latest = _latest(session, list(pcns), lock=lock)
    lines = _lines(session, [c["id"] for c in latest.values()])
    for claim in latest.values():
        claim["lines"] = lines.get(claim["id"], [])
    return {pcn: _record(c) for pcn, c in latest.items()}


def latest_heads(session: Session, pcns: Iterable[str]) -> dict[str, ClaimHead]:
    """PCN -> id and state of its latest version, for every PCN the ledger knows."""
    c = _CLAIMS.c
    found: dict[str, tuple[int, int, str]] = {}  # pcn -> (version, id, state)
    for condition in key_filters(session, c.patient_control_number, list(pcns)):
        query = select(c.patient_control_number, c.version, c.id, c.state).where(condition)
        for pcn, version, claim_id, state in session.execute(query):
            known = found.get(pcn)
            if known is None or version > known[0]:
                found[pcn] = (version, claim_id, state)
    return {pcn: ClaimHead(i, ClaimState(state)) for pcn, (_, i, state) in found.items()}


def _latest(
    session: Session, pcns: Sequence[str], *, lock: bool = True
) -> dict[str, dict[str, Any]]:
    """PCN -> its latest version as a dict (locked on PostgreSQL), chunked."""
    c = _CLAIMS.c
    out: dict[str, dict[str, Any]] = {}
    for condition in key_filters(session, c.patient_control_number, pcns):
        query = select(*_columns()).where(condition)
        if lock:
            query = query.with_for_update()
        for row in session.execute(query).mappings():
            known = out.get(row["pcn"])
            if known is None or row["version"] > known["version"]:
                out[row["pcn"]] = dict(row)
    return out


def _lines(session: Session, claim_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    c = _LINES.c
    out: dict[int, list[dict[str, Any]]] = {}
    for condition in key_filters(session, c.claim_id, claim_ids):
        query = select(_LINES).where(condition).order_by(c.claim_id, c.line_number)
        for row in session.execute(query).mappings():
            out.setdefault(row["claim_id"], []).append(dict(row))
    return out


def _fill(claim: dict[str, Any], draft: ClaimDraft, now: dt.datetime) -> None:
    claim["frequency_code"] = draft.frequency_code
    claim["payer_id"] = draft.payer_id
    claim["payer_name"] = draft.payer_name
    claim["charge_amount"] = draft.charge_amount
    claim["service_date_start"] = draft.service_date_start
    claim["service_date_end"] = draft.service_date_end
    claim["patient_id"] = draft.patient_id
    claim["encounter_id"] = draft.encounter_id
    claim["updated_at"] = now


def _line_values(draft: LineDraft) -> dict[str, Any]:
    return {
        "line_number": draft.line_number,
        "line_control_number": draft.line_control_number,
        "procedure_code": draft.procedure_code,
        "modifiers": ":".join(draft.modifiers),
        "units": draft.units,
        "charge_amount": draft.charge_amount,
        "service_date": draft.service_date,
        "place_of_service": draft.place_of_service,
    }


def _sync_lines(
    claim: dict[str, Any],
    stored: list[dict[str, Any]],
    drafts: Sequence[LineDraft],
    inserts: list[tuple[dict[str, Any], dict[str, Any]]],
    updates: list[dict[str, Any]],
    deletes: list[int],
) -> list[dict[str, Any]]:
    """The claim's lines after the draft: rows updated in place by line number (as the
    one-at-a-time path does), missing ones deleted, new ones queued for insert."""
    existing = {line["line_number"]: line for line in stored}
    wanted = {d.line_number for d in drafts}
    deletes.extend(row["id"] for number, row in existing.items() if number not in wanted)
    out = []
    for draft in drafts:
        values = _line_values(draft)
        row = existing.get(draft.line_number)
        if row is None:
            row = {"id": None, "claim_id": claim["id"]} | values
            inserts.append((claim, row))
        elif any(row[k] != values[k] for k in _LINE_FIELDS):
            row.update(values)
            updates.append(row)
        out.append(row)
    return out


def _write_lines(
    session: Session,
    inserts: list[tuple[dict[str, Any], dict[str, Any]]],
    updates: list[dict[str, Any]],
    deletes: list[int],
) -> None:
    c = _LINES.c
    for part in chunked(deletes):
        session.execute(_LINES.delete().where(c.id.in_(part)))
    update_by_id(session, _LINES, _LINE_FIELDS, updates)
    rows = []
    for claim, line in inserts:
        line["claim_id"] = claim["id"]
        rows.append({k: v for k, v in line.items() if k != "id"})
    for (_, line), lid in zip(inserts, insert_returning_ids(session, _LINES, rows), strict=True):
        line["id"] = lid


def _update_claims(session: Session, updates: list[dict[str, Any]]) -> None:
    """Fields, state and ``updated_at`` of the stored claims a batch touched."""
    update_by_id(session, _CLAIMS, ("state", "updated_at", *_FIELDS), updates)


def _record(c: dict[str, Any]) -> ClaimRecord:
    return ClaimRecord(
        id=c["id"],
        patient_control_number=c["pcn"],
        version=c["version"],
        replaces_claim_id=c["replaces_claim_id"],
        frequency_code=c["frequency_code"],
        state=ClaimState(c["state"]),
        payer_id=c["payer_id"],
        payer_name=c["payer_name"],
        payer_claim_control_number=c["payer_claim_control_number"],
        charge_amount=c["charge_amount"],
        service_date_start=c["service_date_start"],
        service_date_end=c["service_date_end"],
        patient_id=c["patient_id"],
        encounter_id=c["encounter_id"],
        lines=tuple(
            LineRecord(
                id=ln["id"],
                claim_id=c["id"],
                line_number=ln["line_number"],
                line_control_number=ln["line_control_number"],
                procedure_code=ln["procedure_code"],
                modifiers=tuple(m for m in ln["modifiers"].split(":") if m),
                units=ln["units"],
                charge_amount=ln["charge_amount"],
                service_date=ln["service_date"],
                place_of_service=ln["place_of_service"],
            )
            for ln in sorted(c["lines"], key=lambda ln: ln["line_number"])
        ),
        created_at=c["created_at"],
        updated_at=c["updated_at"],
    )
