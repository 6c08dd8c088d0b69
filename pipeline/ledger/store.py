"""The claims ledger: one object the flows open, each method one short transaction.

    ledger = Ledger(get_settings().ledger_url)     # migrates an empty database to head
    claim = ledger.record_claim(draft)
    ledger.stage_submission(data, name, [claim.id], [controls])
    for upload in ledger.pending_uploads():         # also retries what a crash left behind
        transport.upload(upload.name, upload.content)
        ledger.mark_uploaded(upload.file_id, upload.name)

Everything a rerun may repeat is idempotent: registering the same bytes, applying the same
event (claim, target state, cause file + segment), staging the same file, marking it uploaded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, selectinload

from pipeline.errors import DuplicateFileError, LedgerError, LedgerUnavailable
from pipeline.ledger import batch as _batch
from pipeline.ledger import cases as _cases
from pipeline.ledger import claims as _claims
from pipeline.ledger import eligibility as _eligibility
from pipeline.ledger import registry as _registry
from pipeline.ledger import status as _status
from pipeline.ledger.control import LedgerControlNumbers
from pipeline.ledger.engine import make_engine
from pipeline.ledger.lifecycle import ClaimState, Direction, FileState
from pipeline.ledger.migrate import upgrade
from pipeline.ledger.models import (
    CaseEvent,
    Claim,
    ClaimEvent,
    ClaimLine,
    ClaimStatusCheck,
    ClaimSubmission,
    EligibilityCheck,
    FileRow,
    OutboxEntry,
)
from pipeline.ledger.posting import Posting
from pipeline.ledger.records import (
    Cause,
    ClaimDraft,
    ClaimHead,
    ClaimRecord,
    Controls,
    EligibilityRecord,
    EligibilityRequest,
    FileRecord,
    LineRecord,
    PendingUpload,
    StagedFile,
    StatusCheckRecord,
    StatusCheckRequest,
    SubmissionRecord,
    TransitionRecord,
)

__all__ = ["Ledger", "open_ledger"]

log = logging.getLogger(__name__)
T = TypeVar("T")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


ELIGIBILITY_CHUNK = 2000
"""271 answers written per statement batch by :meth:`Ledger.record_eligibility_responses`."""


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    part: list[T] = []
    for item in items:
        part.append(item)
        if len(part) >= size:
            yield part
            part = []
    if part:
        yield part


def open_ledger(url: str, *, clock: Callable[[], dt.datetime] = _utcnow) -> Ledger:
    """Open (and migrate) the ledger at ``url``, e.g. ``get_settings().ledger_url``."""
    return Ledger(url, clock=clock)


class Ledger:
    """Claims ledger on any SQLAlchemy URL (SQLite file or PostgreSQL)."""

    def __init__(
        self,
        url: str,
        *,
        clock: Callable[[], dt.datetime] = _utcnow,
        migrate: bool = True,
    ) -> None:
        self.engine: Engine = make_engine(url)
        self.clock = clock
        if migrate:
            try:
                upgrade(self.engine)
            except OperationalError as exc:
                self.engine.dispose()
                where = self.engine.url.render_as_string(hide_password=True)
                raise LedgerUnavailable(f"ledger {where}: cannot open: {_first_line(exc)}") from exc
        self.control_numbers = LedgerControlNumbers(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        try:
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                yield session
        except OperationalError as exc:
            raise LedgerUnavailable(f"ledger: database unavailable: {_first_line(exc)}") from exc

    def _write(self, what: str, work: Callable[[Session], T]) -> T:
        """Run ``work`` in one transaction; losing a unique-key race to another process is
        retried once (the retry then finds the other process's row)."""
        for attempt in (1, 2):
            try:
                with self._tx() as s:
                    return work(s)
            except IntegrityError as exc:
                if attempt == 2:
                    raise LedgerError(
                        f"{what}: conflicts with stored data: {_first_line(exc)}"
                    ) from exc
        raise AssertionError("unreachable")

    def _now(self) -> dt.datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise LedgerError("ledger clock returned a naive datetime")
        return now.astimezone(dt.UTC)

    # -- file registry ------------------------------------------------------------------------

    def register_received(
        self,
        path: str | Path,
        remote_name: str,
        *,
        transaction_type: str | None = None,
        controls: Sequence[Controls] | None = None,
        strict: bool = False,
    ) -> FileRecord:
        """Register a downloaded file by content; ``.is_duplicate`` when seen before.

        Type and control numbers are read from the envelopes unless given. ``strict`` raises
        ``DuplicateFileError`` for a duplicate (after recording that it was seen again).
        """
        local = Path(path)
        sha256, size = _registry.hash_file(local)
        if controls is None:
            sniffed, found = _registry.sniff_controls(local)
            transaction_type = transaction_type or sniffed
            controls = found
        record = self._register(sha256, size, local, remote_name, transaction_type, controls)
        if record.is_duplicate:
            log.info("received file %s is a duplicate of ledger file %d", remote_name, record.id)
            if strict:
                raise DuplicateFileError(
                    f"{remote_name}: same bytes as ledger file {record.id} ({record.names[0]})"
                )
        return record

    def _register(
        self,
        sha256: str,
        size: int,
        local: Path,
        name: str,
        transaction_type: str | None,
        controls: Sequence[Controls],
    ) -> FileRecord:

        def work(s: Session) -> FileRecord:
            now = self._now()
            row = _registry.find_file(s, sha256, Direction.RECEIVED)
            if row is not None:
                _registry.see_again(s, row, name, now)
                return _registry.file_record(row, is_duplicate=True)
            row = _registry.add_file(
                s,
                sha256=sha256,
                size=size,
                direction=Direction.RECEIVED,
                state=FileState.RECEIVED,
                name=name,
                now=now,
                transaction_type=transaction_type,
                local_path=str(local),
                controls=controls,
            )
            return _registry.file_record(row)

        return self._write(f"registering {name}", work)

    def mark_parsed(
        self,
        file_id: int,
        *,
        transaction_type: str | None = None,
        controls: Sequence[Controls] = (),
    ) -> FileRecord:
        with self._tx() as s:
            row = _registry.set_file_state(s, file_id, FileState.PARSED, self._now())
            _registry.set_controls(s, row, transaction_type, controls)
            s.flush()
            s.refresh(row)
            return _registry.file_record(row)

    def mark_posted(self, file_id: int) -> FileRecord:
        return self._file_state(file_id, FileState.POSTED)

    def quarantine(self, file_id: int, reason: str) -> FileRecord:
        """Set a file aside with a one-line reason (shown to the ops engineer)."""
        log.warning("file %d quarantined", file_id)
        return self._file_state(file_id, FileState.QUARANTINED, reason)

    def release(self, file_id: int, note: str) -> FileRecord:
        """Back from quarantine to ``received``: the next run processes it again."""
        return self._file_state(file_id, FileState.RECEIVED, note)

    def _file_state(self, file_id: int, state: FileState, note: str | None = None) -> FileRecord:
        with self._tx() as s:
            row = _registry.set_file_state(s, file_id, state, self._now(), note)
            return _registry.file_record(row)

    def file(self, file_id: int) -> FileRecord:
        with self._tx() as s:
            return _registry.file_record(_registry.get_file(s, file_id))

    def file_by_sha256(
        self, sha256: str, direction: Direction = Direction.RECEIVED
    ) -> FileRecord | None:
        with self._tx() as s:
            row = _registry.find_file(s, sha256, direction)
            return _registry.file_record(row) if row is not None else None

    def files_by_state(
        self, *states: FileState, direction: Direction | None = None, with_controls: bool = True
    ) -> list[FileRecord]:
        """Files in these states, oldest first. ``with_controls=False``: ``controls`` left empty
        (a night's 270/271 carry one ST per inquiry: 100k rows nobody asked for)."""
        loads = [selectinload(FileRow.names)]
        if with_controls:
            loads.append(selectinload(FileRow.transactions))
        query = (
            select(FileRow)
            .where(FileRow.state.in_([s.value for s in states]))
            .options(*loads)
            .order_by(FileRow.id)
        )
        if direction is not None:
            query = query.where(FileRow.direction == direction.value)
        with self._tx() as s:
            return [
                _registry.file_record(row, with_controls=with_controls) for row in s.scalars(query)
            ]

    # -- outbox -------------------------------------------------------------------------------

    def stage_submission(
        self,
        content: bytes,
        name: str,
        claims: Sequence[int] | Mapping[int, Controls],
        controls: Sequence[Controls],
        *,
        transaction_type: str = "837",
        local_path: str | Path | None = None,
        eligibility: Sequence[EligibilityRequest] = (),
        status_checks: Sequence[StatusCheckRequest] = (),
    ) -> FileRecord:
        """Commit an outbound file and its claims' ``submitted`` state in one transaction.

        ``claims`` are claim ids (all in the one transaction set of ``controls``) or a mapping
        claim id -> the set that carries it. ``name`` is the remote name the upload will use.
        Staging the same bytes again returns the first record (``is_duplicate``); a claim
        already submitted raises ``IllegalTransition`` and nothing is staged.
        """
        carriers = self._carriers(name, claims, controls)
        sha256 = hashlib.sha256(content).hexdigest()

        def work(s: Session) -> FileRecord:
            now = self._now()
            existing = _registry.find_file(s, sha256, Direction.SENT)
            if existing is not None:
                return _registry.file_record(existing, is_duplicate=True)
            clash = _registry.outbound_by_name(s, name)
            if clash is not None:
                raise LedgerError(f"{name}: outbound name already used by ledger file {clash.id}")
            row = _registry.add_file(
                s,
                sha256=sha256,
                size=len(content),
                direction=Direction.SENT,
                state=FileState.STAGED,
                name=name,
                now=now,
                transaction_type=transaction_type,
                local_path=str(local_path) if local_path is not None else None,
                controls=controls,
            )
            s.add(OutboxEntry(file_id=row.id, name=name, content=content, staged_at=now))
            s.flush()
            # The claims in a few statements (ledger/posting.py), not a round trip each.
            posting = Posting(s, row.id, now)
            loaded = posting.claims_by_id(carriers)
            submissions = []
            for claim_id, ctl in sorted(carriers.items()):
                if claim_id not in loaded:
                    raise LedgerError(f"claim {claim_id}: not in the ledger")
                cause = Cause(file_id=row.id, code="staged", note=f"ISA13 {ctl.isa13}")
                posting.transition(claim_id, ClaimState.SUBMITTED, cause)
                submissions.append(
                    {
                        "claim_id": claim_id,
                        "file_id": row.id,
                        "isa13": ctl.isa13,
                        "gs06": ctl.gs06,
                        "st02": ctl.st02,
                        "submitted_at": now,
                    }
                )
            posting.flush()
            if submissions:
                _batch.execute_many(s, insert(ClaimSubmission), submissions)
            _eligibility.record_requests(s, eligibility, row.id, now)
            for check in status_checks:
                _status.record_request(s, check, row.id, now)
            s.flush()
            return _registry.file_record(row)

        record = self._write(f"staging {name}", work)
        if record.is_duplicate:
            return record
        log.info(
            "staged file %d (%d claims, %d inquiries)", record.id, len(carriers), len(eligibility)
        )
        return record

    @staticmethod
    def _carriers(
        name: str, claims: Sequence[int] | Mapping[int, Controls], controls: Sequence[Controls]
    ) -> dict[int, Controls]:
        if isinstance(claims, Mapping):
            return {claim_id: ctl.normalized() for claim_id, ctl in claims.items()}
        if not claims:
            return {}
        if len(controls) != 1:
            raise LedgerError(
                f"{name}: {len(controls)} transaction sets; map each claim to its ST02"
            )
        return {claim_id: controls[0].normalized() for claim_id in claims}

    def pending_uploads(self) -> list[PendingUpload]:
        """Staged outbound files whose remote rename is not confirmed yet, oldest first."""
        with self._tx() as s:
            return _registry.pending_uploads(s)

    def staged_files(self) -> list[StagedFile]:
        """:meth:`pending_uploads` without their bytes (a night's 837P is tens of MB): the
        uploader reads them with :meth:`outbox_content` only when its local copy is not right."""
        with self._tx() as s:
            return _registry.staged_files(s)

    def outbox_content(self, file_id: int) -> bytes:
        """The bytes of an outbound file, as staged."""
        with self._tx() as s:
            content = s.scalar(select(OutboxEntry.content).where(OutboxEntry.file_id == file_id))
            if content is None:
                raise LedgerError(f"file {file_id}: not an outbound file")
            return bytes(content)

    def mark_uploaded(self, file_id: int, remote_name: str | None = None) -> FileRecord:
        """Call only after the remote rename succeeded; again is a no-op."""
        with self._tx() as s:
            now = self._now()
            row = _registry.get_file(s, file_id, lock=True)
            entry = s.get(OutboxEntry, file_id)
            if entry is None:
                raise LedgerError(f"file {file_id}: not an outbound file")
            if row.state != FileState.UPLOADED.value:
                remote = remote_name or entry.name
                _registry.set_file_state(s, file_id, FileState.UPLOADED, now, remote)
                entry.uploaded_at = now
                entry.remote_name = remote
            return _registry.file_record(row)

    # -- claims -------------------------------------------------------------------------------

    def record_claim(self, draft: ClaimDraft) -> ClaimRecord:
        """Create a claim, or update its unsent latest version; reruns change nothing.

        - no claim with this PCN: version 1 in ``draft.state`` (``ready``/``scrub_failed``);
        - latest version not sent yet: its fields and lines are replaced, state follows draft;
        - latest version sent: returned unchanged, unless ``draft.new_version`` — then a new
          version linked to it is created and the old one moves to ``resubmitted``.
        """

        def work(s: Session) -> ClaimRecord:
            return _batch.record_claims(s, [draft], self._now())[0]

        return self._write(f"claim {draft.patient_control_number}", work)

    def record_claims(self, drafts: Sequence[ClaimDraft]) -> list[ClaimRecord]:
        """:meth:`record_claim` for many drafts in one transaction (a night's encounters:
        one commit, not one per claim); same rules, same records, in ``drafts`` order."""

        def work(s: Session) -> list[ClaimRecord]:
            pcns = {draft.patient_control_number for draft in drafts}
            if len(pcns) == len(drafts):
                return _batch.record_claims(s, drafts, self._now())  # a few statements
            # The same PCN twice: each draft must see what the one before it did.
            rows = [_claims.record_claim(s, draft, self._now()) for draft in drafts]
            s.flush()
            return [_claims.claim_record(row) for row in rows]

        return self._write(f"{len(drafts)} claims", work) if drafts else []

    def record_claim_ids(
        self, drafts: Sequence[ClaimDraft], *, chunk: int = 5000
    ) -> dict[str, int]:
        """:meth:`record_claims`, ``chunk`` drafts at a time in the same one transaction, and
        only PCN -> claim id back: a night's claim records (every line) and the batch's work
        rows are never all in memory at once. Same rows, ids and events as :meth:`record_claims`.
        """

        def work(s: Session) -> dict[str, int]:
            out: dict[str, int] = {}
            for start in range(0, len(drafts), chunk):
                part = drafts[start : start + chunk]
                pcns = {draft.patient_control_number for draft in part}
                if len(pcns) == len(part) and not pcns & out.keys():
                    records = _batch.record_claims(s, part, self._now())
                else:  # a PCN again: each draft must see what the one before it did
                    rows = [_claims.record_claim(s, draft, self._now()) for draft in part]
                    s.flush()
                    records = [_claims.claim_record(row) for row in rows]
                out.update((r.patient_control_number, r.id) for r in records)
                del records
            return out

        return self._write(f"{len(drafts)} claims", work) if drafts else {}

    def latest_claims(self, patient_control_numbers: Iterable[str]) -> dict[str, ClaimRecord]:
        """PCN -> its latest version, for every PCN the ledger knows (chunked queries)."""
        with self._tx() as s:
            return _batch.latest_records(s, patient_control_numbers, lock=False)

    def latest_heads(self, patient_control_numbers: Iterable[str]) -> dict[str, ClaimHead]:
        """PCN -> id and state of its latest version (no lines: a fraction of the memory of
        :meth:`latest_claims` when that is all the caller reads)."""
        with self._tx() as s:
            return _batch.latest_heads(s, patient_control_numbers)

    def transition(
        self,
        claim_id: int,
        target: ClaimState,
        cause: Cause | None = None,
        *,
        payer_claim_control_number: str | None = None,
    ) -> TransitionRecord:
        """Move a claim along the lifecycle, recording why; a replayed event is a no-op.

        Raises ``IllegalTransition`` for a move the table forbids. The payer's claim control
        number (277CA REF*1K / 835 CLP07) can be stored in the same transaction.
        """
        with self._tx() as s:
            claim = _claims.get_claim(s, claim_id, lock=True)
            event = _claims.apply_transition(s, claim, target, cause or Cause(), self._now())
            if payer_claim_control_number and not event.replayed:
                claim.payer_claim_control_number = payer_claim_control_number
            return event

    @contextmanager
    def posting(self, file_id: int) -> Iterator[Posting]:
        """One file's claim transitions in one transaction (:mod:`pipeline.ledger.posting`):
        the same verdicts and exactly-once rule as :meth:`transition`, a few statements in
        all. Nothing is written when the block raises."""
        with self._tx() as s:
            posting = Posting(s, file_id, self._now())
            yield posting
            posting.flush()

    def set_payer_claim_control_number(self, claim_id: int, number: str) -> ClaimRecord:
        with self._tx() as s:
            claim = _claims.get_claim(s, claim_id, lock=True)
            claim.payer_claim_control_number = number
            claim.updated_at = self._now()
            return _claims.claim_record(claim)

    def claim(self, patient_control_number: str, version: int | None = None) -> ClaimRecord | None:
        """The latest version of a PCN (or the given one); None when unknown."""
        with self._tx() as s:
            if version is None:
                row = _claims.latest_claim(s, patient_control_number)
            else:
                row = s.scalars(
                    select(Claim)
                    .where(
                        Claim.patient_control_number == patient_control_number,
                        Claim.version == version,
                    )
                    .options(selectinload(Claim.lines))
                ).one_or_none()
            return _claims.claim_record(row) if row is not None else None

    def claim_by_id(self, claim_id: int) -> ClaimRecord:
        with self._tx() as s:
            return _claims.claim_record(_claims.get_claim(s, claim_id))

    def claim_versions(self, patient_control_number: str) -> list[ClaimRecord]:
        query = (
            select(Claim)
            .where(Claim.patient_control_number == patient_control_number)
            .order_by(Claim.version)
        )
        return self._claims(query)

    def claims_by_state(
        self, *states: ClaimState, payer_id: str | None = None, with_lines: bool = True
    ) -> list[ClaimRecord]:
        """In id order; ``with_lines=False``: without their lines (``lines=()``)."""
        query = select(Claim).where(Claim.state.in_([s.value for s in states])).order_by(Claim.id)
        if payer_id is not None:
            query = query.where(Claim.payer_id == payer_id)
        return self._claims(query, with_lines=with_lines)

    def claims_in_submission(
        self, isa13: str, gs06: str | None = None, st02: str | None = None
    ) -> list[ClaimRecord]:
        """Claims sent in an interchange (TA1), a group (999 AK1) or a set (999 AK2)."""
        key = Controls(isa13, gs06 or "", st02 or "").normalized()
        sub = select(ClaimSubmission.claim_id).where(ClaimSubmission.isa13 == key.isa13)
        if gs06 is not None:
            sub = sub.where(ClaimSubmission.gs06 == key.gs06)
        if st02 is not None:
            sub = sub.where(ClaimSubmission.st02 == key.st02)
        return self._claims(select(Claim).where(Claim.id.in_(sub)).order_by(Claim.id))

    def claims_by_set(self, isa13: str, gs06: str) -> dict[str, list[int]]:
        """ST02 -> ids (in id order) of the claims sent in each set of a group: what a 999's
        AK2s name, in one query (a 999 may acknowledge a million sets)."""
        key = Controls(isa13, gs06, "").normalized()
        sub = ClaimSubmission
        query = (
            select(sub.st02, sub.claim_id)
            .where(sub.isa13 == key.isa13, sub.gs06 == key.gs06)
            .order_by(sub.claim_id, sub.id)
        )
        out: dict[str, list[int]] = {}
        with self._tx() as s:
            for st02, claim_id in s.execute(query):
                ids = out.setdefault(st02, [])
                if not ids or ids[-1] != claim_id:
                    ids.append(claim_id)
        return out

    def _claims(self, query: Any, *, with_lines: bool = True) -> list[ClaimRecord]:
        with self._tx() as s:
            return _batch.claim_records(s, query, with_lines=with_lines)  # Core, not ORM

    def claim_lines(self, claim_id: int) -> list[LineRecord]:
        query = (
            select(ClaimLine).where(ClaimLine.claim_id == claim_id).order_by(ClaimLine.line_number)
        )
        with self._tx() as s:
            return [_claims.line_record(row) for row in s.scalars(query)]

    def event_references(self, claim_ids: Iterable[int]) -> dict[int, set[str]]:
        """Claim id -> the references of its events (the claim_keys of the CLPs it took)."""
        wanted = sorted(set(claim_ids))
        out: dict[int, set[str]] = {cid: set() for cid in wanted}
        with self._tx() as s:
            for start in range(0, len(wanted), 900):
                query = select(ClaimEvent.claim_id, ClaimEvent.reference).where(
                    ClaimEvent.claim_id.in_(wanted[start : start + 900])
                )
                for cid, reference in s.execute(query):
                    out[cid].add(reference or "")
        return out

    def transitions(self, claim_id: int) -> list[TransitionRecord]:
        query = select(ClaimEvent).where(ClaimEvent.claim_id == claim_id).order_by(ClaimEvent.id)
        with self._tx() as s:
            return [_claims.transition_record(row) for row in s.scalars(query)]

    def last_submitted(self) -> dict[int, dt.datetime]:
        """When each claim version was last sent, for every claim ever sent (one query)."""
        query = select(ClaimSubmission.claim_id, ClaimSubmission.submitted_at)
        last: dict[int, dt.datetime] = {}
        with self._tx() as s:
            for claim_id, at in s.execute(query):
                if claim_id not in last or at > last[claim_id]:
                    last[claim_id] = at
        return last

    def submissions(self, claim_id: int) -> list[SubmissionRecord]:
        """Every sending of this claim version, oldest first (timely-filing proof)."""
        query = (
            select(ClaimSubmission, FileRow, OutboxEntry)
            .join(FileRow, FileRow.id == ClaimSubmission.file_id)
            .outerjoin(OutboxEntry, OutboxEntry.file_id == FileRow.id)
            .where(ClaimSubmission.claim_id == claim_id)
            .order_by(ClaimSubmission.id)
        )
        with self._tx() as s:
            return [
                SubmissionRecord(
                    claim_id=sub.claim_id,
                    file_id=sub.file_id,
                    file_name=entry.name if entry is not None else "",
                    sha256=file.sha256,
                    controls=Controls(sub.isa13, sub.gs06, sub.st02, file.transaction_type or ""),
                    submitted_at=sub.submitted_at,
                    uploaded_at=entry.uploaded_at if entry is not None else None,
                    remote_name=entry.remote_name if entry is not None else None,
                )
                for sub, file, entry in s.execute(query)
            ]

    # -- eligibility --------------------------------------------------------------------------

    def record_eligibility_request(
        self, request: EligibilityRequest, *, file_id: int | None = None
    ) -> EligibilityRecord:

        def work(s: Session) -> EligibilityRecord:
            _eligibility.record_requests(s, [request], file_id, self._now())
            return _eligibility.eligibility_record(_eligibility.find(s, request.trace_number))

        return self._write(f"eligibility {request.trace_number}", work)

    def record_eligibility_response(
        self, trace_number: str, summary: Mapping[str, Any], *, file_id: int | None = None
    ) -> EligibilityRecord:
        """Store the 271 ``eligibility_summary`` row for a trace (JSON; amounts as strings)."""

        def work(s: Session) -> EligibilityRecord:
            _eligibility.record_responses(s, [(trace_number, summary)], file_id, self._now())
            return _eligibility.eligibility_record(_eligibility.find(s, trace_number))

        return self._write(f"eligibility {trace_number}", work)

    def record_eligibility_responses(
        self,
        answers: Iterable[tuple[str, Mapping[str, Any]]],
        *,
        file_id: int | None = None,
        chunk: int | None = None,
    ) -> int:
        """:meth:`record_eligibility_response` for a whole 271 file in one transaction, set-based
        ``chunk`` (default :data:`ELIGIBILITY_CHUNK`) answers at a time: a big 271's JSON rows
        and statement parameters are never all in memory at once. ``answers`` is iterated once
        per attempt (a retried write reads it again): a list, or an iterable that starts afresh
        each time. Returns how many answers were read."""
        now = self._now()  # one answer time for the whole file, as when it was one statement
        size = chunk or ELIGIBILITY_CHUNK

        def work(s: Session) -> int:
            count = 0
            for part in _chunks(answers, size):
                _eligibility.record_responses(s, part, file_id, now)
                count += len(part)
            return count

        return self._write(f"eligibility answers of file {file_id}", work)

    def eligibility(self, trace_number: str) -> EligibilityRecord | None:
        query = select(EligibilityCheck).where(EligibilityCheck.trace_number == trace_number)
        with self._tx() as s:
            row = s.scalars(query).one_or_none()
            return _eligibility.eligibility_record(row) if row is not None else None

    def eligibility_asked(self) -> set[tuple[str | None, dt.date | None]]:
        """(patient, date of service) of every inquiry sent (no 271 summaries decoded)."""
        query = select(EligibilityCheck.patient_id, EligibilityCheck.service_date)
        with self._tx() as s:
            return {(patient, day) for patient, day in s.execute(query)}

    def eligibility_answered(self) -> int:
        """How many inquiries have their 271 summary (stored with ``responded_at``)."""
        query = select(func.count()).where(EligibilityCheck.responded_at.is_not(None))
        with self._tx() as s:
            return int(s.execute(query).scalar_one())

    def eligibility_checks(
        self, *, patient_id: str | None = None, awaiting_response: bool = False
    ) -> list[EligibilityRecord]:
        query = select(EligibilityCheck).order_by(EligibilityCheck.id)
        if patient_id is not None:
            query = query.where(EligibilityCheck.patient_id == patient_id)
        if awaiting_response:
            query = query.where(EligibilityCheck.responded_at.is_(None))
        with self._tx() as s:
            # Core rows (attribute access like the model's): no ORM objects for a night's 271s.
            rows = s.execute(query.with_only_columns(*EligibilityCheck.__table__.c))
            return [_eligibility.eligibility_record(row) for row in rows]  # type: ignore[arg-type]

    def iter_eligibility_checks(self, *, chunk: int = 2000) -> Iterator[EligibilityRecord]:
        """Every inquiry in ledger order, read ``chunk`` rows at a time: a night's 271s (their
        JSON summaries) are never all in memory at once, as with :meth:`eligibility_checks`."""
        query = select(EligibilityCheck).order_by(EligibilityCheck.id)
        with self._tx() as s:
            rows = s.execute(
                query.with_only_columns(*EligibilityCheck.__table__.c),
                execution_options={"yield_per": chunk},
            )
            for row in rows:
                yield _eligibility.eligibility_record(row)  # type: ignore[arg-type]

    # -- claim status (276/277) -----------------------------------------------------------------

    def record_status_request(
        self, request: StatusCheckRequest, *, file_id: int | None = None
    ) -> StatusCheckRecord:

        def work(s: Session) -> StatusCheckRecord:
            return _status.status_record(_status.record_request(s, request, file_id, self._now()))

        return self._write(f"claim status {request.trace_number}", work)

    def record_status_response(
        self, trace_number: str, summary: Mapping[str, Any], *, file_id: int | None = None
    ) -> StatusCheckRecord:
        """Store the 277 ``claim_statuses`` row for a trace (JSON; amounts as strings)."""

        def work(s: Session) -> StatusCheckRecord:
            row = _status.record_response(s, trace_number, summary, file_id, self._now())
            return _status.status_record(row)

        return self._write(f"claim status {trace_number}", work)

    def status_checks(
        self, *, claim_id: int | None = None, patient_control_number: str | None = None
    ) -> list[StatusCheckRecord]:
        """Status requests (and answers), oldest first."""
        query = select(ClaimStatusCheck).order_by(ClaimStatusCheck.id)
        if claim_id is not None:
            query = query.where(ClaimStatusCheck.claim_id == claim_id)
        if patient_control_number is not None:
            query = query.where(ClaimStatusCheck.patient_control_number == patient_control_number)
        with self._tx() as s:
            return [_status.status_record(row) for row in s.scalars(query)]

    # -- NSA cases and appeals (pipeline.ledger.cases) ----------------------------------------

    def record_case_event(self, new: _cases.NewCaseEvent) -> _cases.CaseEventRecord:
        """Append an NSA / appeal / remittance-receipt event (a replay is a no-op)."""

        def work(s: Session) -> _cases.CaseEventRecord:
            return _cases.record_case_events(s, [new], self._now())[0]

        return self._write(f"case {new.case_id}", work)

    def record_case_events(
        self, events: Sequence[_cases.NewCaseEvent]
    ) -> list[_cases.CaseEventRecord]:
        """:meth:`record_case_event` for many events in one transaction (one 835's CLPs)."""

        def work(s: Session) -> list[_cases.CaseEventRecord]:
            return _cases.record_case_events(s, events, self._now())  # set-based

        return self._write(f"{len(events)} case events", work) if events else []

    def case_events(
        self,
        *,
        case_id: str | None = None,
        patient_control_number: str | None = None,
        kind: str | None = None,
    ) -> list[_cases.CaseEventRecord]:
        """Case events in the order they were recorded."""
        query = select(CaseEvent).order_by(CaseEvent.id)
        if case_id is not None:
            query = query.where(CaseEvent.case_id == case_id)
        if patient_control_number is not None:
            query = query.where(CaseEvent.patient_control_number == patient_control_number)
        if kind is not None:
            query = query.where(CaseEvent.kind == kind)
        with self._tx() as s:
            return [_cases.case_event_record(row) for row in s.scalars(query)]


def _first_line(exc: Exception) -> str:
    """The driver's message without SQL, parameters or PostgreSQL's DETAIL (may hold PHI)."""
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or ["unknown error"])[0]
