"""File registry and outbox, as functions of an open session (the caller owns the transaction)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

from sqlalchemy import Table, insert, inspect, select
from sqlalchemy.orm import Session, object_session, selectinload
from sqlalchemy.sql.base import ExecutableOption

from pipeline.errors import LedgerError, X12Error
from pipeline.ledger.batch import execute_many
from pipeline.ledger.lifecycle import Direction, FileState, check_file_transition
from pipeline.ledger.models import FileEvent, FileName, FileRow, FileTransaction, OutboxEntry
from pipeline.ledger.records import Controls, FileRecord, PendingUpload, StagedFile

__all__ = [
    "add_file",
    "file_record",
    "find_file",
    "get_file",
    "hash_file",
    "outbound_by_name",
    "pending_uploads",
    "see_again",
    "set_controls",
    "set_file_state",
    "sniff_controls",
    "staged_files",
]

_CHUNK = 1 << 20
_TRANSACTIONS: Table = FileTransaction.__table__  # type: ignore[assignment]


def hash_file(path: Path) -> tuple[str, int]:
    """SHA-256 hex digest and size, streamed."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def sniff_controls(source: Path | bytes) -> tuple[str | None, list[Controls]]:
    """Transaction type and (ISA13, GS06, ST02) of every set; nothing when it is not X12.

    The registry must accept unreadable files too (they are quarantined by the parser with the
    reader's message), so syntax errors here only mean "no control numbers known".
    """
    from pipeline.x12.reader import read_batches
    from pipeline.x12.segments import Segment

    kind: str | None = None
    controls: list[Controls] = []
    try:  # envelope segments only: body segments come in batches, never looked at (2x faster)
        for seg in read_batches(source):
            if not isinstance(seg, Segment):
                continue
            if seg.id == "ST":
                env = seg.envelope
                kind = kind or env.transaction_set_id
                controls.append(
                    Controls(
                        env.interchange_control_number,
                        env.group_control_number,
                        env.transaction_control_number,
                        env.transaction_set_id,
                    )
                )
            elif seg.id == "TA1" and kind is None:
                kind = "TA1"
    except X12Error:
        return kind, controls
    return kind, controls


def file_record(
    row: FileRow, *, is_duplicate: bool = False, with_controls: bool = True
) -> FileRecord:
    return FileRecord(
        id=row.id,
        sha256=row.sha256,
        size=row.size,
        direction=Direction(row.direction),
        state=FileState(row.state),
        names=tuple(n.name for n in row.names),
        transaction_type=row.transaction_type,
        local_path=row.local_path,
        isa13=row.isa13,
        controls=_controls(row) if with_controls else (),
        quarantine_reason=row.quarantine_reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
        is_duplicate=is_duplicate,
    )


def _controls(row: FileRow) -> tuple[Controls, ...]:
    """The file's (ISA13, GS06, ST02) sets: from ``row.transactions`` when loaded, else read
    as Core rows (a night's 270/271 carry one set per inquiry: 10k ORM objects otherwise)."""
    session = object_session(row)
    if session is None or "transactions" not in inspect(row).unloaded:
        return tuple(
            Controls(t.isa13, t.gs06, t.st02, t.transaction_set_id) for t in row.transactions
        )
    t = _TRANSACTIONS.c
    query = (
        select(t.isa13, t.gs06, t.st02, t.transaction_set_id)
        .where(t.file_id == row.id)
        .order_by(t.id)
    )
    return tuple(Controls(*values) for values in session.execute(query).all())


def _loaded() -> tuple[ExecutableOption, ...]:
    return (selectinload(FileRow.names),)  # controls: see _controls


def get_file(session: Session, file_id: int, *, lock: bool = False) -> FileRow:
    query = select(FileRow).where(FileRow.id == file_id).options(*_loaded())
    if lock:
        query = query.with_for_update()
    row = session.scalars(query).one_or_none()
    if row is None:
        raise LedgerError(f"file {file_id}: not in the ledger")
    return row


def find_file(session: Session, sha256: str, direction: Direction) -> FileRow | None:
    query = (
        select(FileRow)
        .where(FileRow.sha256 == sha256, FileRow.direction == direction.value)
        .options(*_loaded())
    )
    return session.scalars(query).one_or_none()


def outbound_by_name(session: Session, name: str) -> FileRow | None:
    query = (
        select(FileRow)
        .join(FileName, FileName.file_id == FileRow.id)
        .where(FileRow.direction == Direction.SENT.value, FileName.name == name)
    )
    return session.scalars(query).first()


def add_file(
    session: Session,
    *,
    sha256: str,
    size: int,
    direction: Direction,
    state: FileState,
    name: str,
    now: dt.datetime,
    transaction_type: str | None = None,
    local_path: str | None = None,
    controls: Sequence[Controls] = (),
) -> FileRow:
    row = FileRow(
        sha256=sha256,
        size=size,
        direction=direction.value,
        state=state.value,
        transaction_type=transaction_type,
        local_path=local_path,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    session.add(FileName(file_id=row.id, name=name, seen_at=now))
    session.add(FileEvent(file_id=row.id, at=now, event=state.value, name=name))
    set_controls(session, row, transaction_type, controls)
    session.flush()
    session.refresh(row)
    return row


def set_controls(
    session: Session, row: FileRow, transaction_type: str | None, controls: Iterable[Controls]
) -> None:
    """Record the file's type and control numbers (kept when already known)."""
    if transaction_type and not row.transaction_type:
        row.transaction_type = transaction_type
    t = _TRANSACTIONS.c
    query = select(t.isa13, t.gs06, t.st02).where(t.file_id == row.id)
    known = {(isa13, gs06, st02) for isa13, gs06, st02 in session.execute(query).all()}
    rows = []
    for c in (c.normalized() for c in controls):
        if (c.isa13, c.gs06, c.st02) in known:
            continue
        known.add((c.isa13, c.gs06, c.st02))
        rows.append(
            {
                "file_id": row.id,
                "isa13": c.isa13,
                "gs06": c.gs06,
                "st02": c.st02,
                "transaction_set_id": c.transaction_set_id,
            }
        )
        row.isa13 = row.isa13 or c.isa13
    if rows:
        # Core executemany, not an ORM object per set; the loaded collection is now stale.
        execute_many(session, insert(_TRANSACTIONS), rows)
        session.expire(row, ["transactions"])


def see_again(session: Session, row: FileRow, name: str, now: dt.datetime) -> None:
    """The same bytes arrived again (maybe under a new name): keep the name, log the event."""
    if name not in {n.name for n in row.names}:
        session.add(FileName(file_id=row.id, name=name, seen_at=now))
    session.add(FileEvent(file_id=row.id, at=now, event="duplicate", name=name))
    session.flush()
    session.refresh(row)


def set_file_state(
    session: Session, file_id: int, target: FileState, now: dt.datetime, note: str | None = None
) -> FileRow:
    """Move a file along :data:`FILE_TRANSITIONS`; already there is a no-op (reruns)."""
    row = get_file(session, file_id, lock=True)
    current = FileState(row.state)
    if current == target:
        return row
    check_file_transition(file_id, current, target)
    row.state = target.value
    row.updated_at = now
    if target == FileState.QUARANTINED:
        row.quarantine_reason = note
    session.add(FileEvent(file_id=file_id, at=now, event=target.value, note=note))
    session.flush()
    return row


def staged_files(session: Session) -> list[StagedFile]:
    """:func:`pending_uploads` without the bytes: the file's hash is the registry's."""
    query = (
        select(OutboxEntry.file_id, OutboxEntry.name, FileRow.sha256, OutboxEntry.staged_at)
        .join(FileRow, FileRow.id == OutboxEntry.file_id)
        .where(FileRow.state == FileState.STAGED.value)
        .order_by(OutboxEntry.file_id)
    )
    return [StagedFile(*row) for row in session.execute(query)]


def pending_uploads(session: Session) -> list[PendingUpload]:
    query = (
        select(OutboxEntry)
        .join(FileRow, FileRow.id == OutboxEntry.file_id)
        .where(FileRow.state == FileState.STAGED.value)
        .order_by(OutboxEntry.file_id)
    )
    return [
        PendingUpload(
            file_id=o.file_id,
            name=o.name,
            content=o.content,
            sha256=hashlib.sha256(o.content).hexdigest(),
            staged_at=o.staged_at,
        )
        for o in session.scalars(query)
    ]
