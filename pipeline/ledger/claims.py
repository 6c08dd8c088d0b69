"""Claims, their lines, lifecycle events and submissions, as functions of an open session."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from pipeline.errors import IllegalTransition, LedgerError
from pipeline.ledger.lifecycle import INITIAL_CLAIM_STATES, ClaimState, check_claim_transition
from pipeline.ledger.models import Claim, ClaimEvent, ClaimLine, ClaimSubmission
from pipeline.ledger.records import (
    Cause,
    ClaimDraft,
    ClaimRecord,
    LineDraft,
    LineRecord,
    TransitionRecord,
)

__all__ = [
    "apply_transition",
    "claim_record",
    "get_claim",
    "latest_claim",
    "record_claim",
    "transition_record",
]

_UNSENT = frozenset({ClaimState.READY, ClaimState.SCRUB_FAILED})


def line_record(row: ClaimLine) -> LineRecord:
    return LineRecord(
        id=row.id,
        claim_id=row.claim_id,
        line_number=row.line_number,
        line_control_number=row.line_control_number,
        procedure_code=row.procedure_code,
        modifiers=tuple(m for m in row.modifiers.split(":") if m),
        units=row.units,
        charge_amount=row.charge_amount,
        service_date=row.service_date,
        place_of_service=row.place_of_service,
    )


def claim_record(row: Claim) -> ClaimRecord:
    return ClaimRecord(
        id=row.id,
        patient_control_number=row.patient_control_number,
        version=row.version,
        replaces_claim_id=row.replaces_claim_id,
        frequency_code=row.frequency_code,
        state=ClaimState(row.state),
        payer_id=row.payer_id,
        payer_name=row.payer_name,
        payer_claim_control_number=row.payer_claim_control_number,
        charge_amount=row.charge_amount,
        service_date_start=row.service_date_start,
        service_date_end=row.service_date_end,
        patient_id=row.patient_id,
        encounter_id=row.encounter_id,
        lines=tuple(line_record(line) for line in row.lines),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def transition_record(row: ClaimEvent, *, replayed: bool = False) -> TransitionRecord:
    return TransitionRecord(
        id=row.id,
        claim_id=row.claim_id,
        at=row.at,
        from_state=ClaimState(row.from_state) if row.from_state else None,
        to_state=ClaimState(row.to_state),
        file_id=row.file_id,
        segment_number=row.segment_number,
        code=row.code,
        note=row.note,
        reference=row.reference,
        amount=row.amount,
        replayed=replayed,
    )


def get_claim(session: Session, claim_id: int, *, lock: bool = False) -> Claim:
    query = select(Claim).where(Claim.id == claim_id).options(selectinload(Claim.lines))
    if lock:
        # PostgreSQL: a second worker waits here, then sees the state the first one left.
        query = query.with_for_update()
    row = session.scalars(query).one_or_none()
    if row is None:
        raise LedgerError(f"claim {claim_id}: not in the ledger")
    return row


def latest_claim(session: Session, pcn: str, *, lock: bool = False) -> Claim | None:
    query = (
        select(Claim)
        .where(Claim.patient_control_number == pcn)
        .order_by(Claim.version.desc())
        .limit(1)
        .options(selectinload(Claim.lines))
    )
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def apply_transition(
    session: Session, claim: Claim, target: ClaimState, cause: Cause, now: dt.datetime
) -> TransitionRecord:
    """Record ``claim -> target`` unless this very event is already stored (then a no-op).

    ``claim`` must have been loaded with ``lock=True`` in this transaction.
    """
    identity = cause.identity()
    if identity is not None:
        key = f"{target.value}|{identity}"
        seen = session.scalars(
            select(ClaimEvent).where(ClaimEvent.claim_id == claim.id, ClaimEvent.dedupe_key == key)
        ).first()
        if seen is not None:
            return transition_record(seen, replayed=True)
    else:
        # No file or reference to recognise it by: a replay is "the last event said the same".
        last = session.scalars(
            select(ClaimEvent)
            .where(ClaimEvent.claim_id == claim.id)
            .order_by(ClaimEvent.id.desc())
            .limit(1)
        ).first()
        if (
            last is not None
            and last.to_state == target.value
            and last.file_id is None
            and last.reference is None
            and (last.code, last.note) == (cause.code, cause.note)
        ):
            return transition_record(last, replayed=True)
        count = session.scalar(
            select(func.count()).select_from(ClaimEvent).where(ClaimEvent.claim_id == claim.id)
        )
        key = f"{target.value}|seq={(count or 0) + 1}"
    current = ClaimState(claim.state) if claim.state else None
    check_claim_transition(claim.id, current, target)
    event = ClaimEvent(
        claim_id=claim.id,
        at=now,
        from_state=current.value if current else None,
        to_state=target.value,
        file_id=cause.file_id,
        segment_number=cause.segment_number,
        code=cause.code,
        note=cause.note,
        reference=cause.reference,
        amount=cause.amount,
        dedupe_key=key,
    )
    session.add(event)
    claim.state = target.value
    claim.updated_at = now
    session.flush()
    return transition_record(event)


def record_claim(session: Session, draft: ClaimDraft, now: dt.datetime) -> Claim:
    """Create or update the claim version a draft describes (see ``Ledger.record_claim``)."""
    if draft.state not in INITIAL_CLAIM_STATES:
        raise IllegalTransition(
            f"claim {draft.patient_control_number}: a new claim starts ready or scrub_failed, "
            f"not {draft.state.value}"
        )
    _check_lines(draft)
    latest = latest_claim(session, draft.patient_control_number, lock=True)
    if latest is not None and ClaimState(latest.state) in _UNSENT:
        _fill(latest, draft, now)
        _set_lines(session, latest, draft.lines)
        if latest.state != draft.state.value or draft.state == ClaimState.SCRUB_FAILED:
            apply_transition(session, latest, draft.state, draft.cause, now)
        return latest
    if latest is not None and not draft.new_version:
        return latest  # already sent: a rerun of the build changes nothing
    version = 1 if latest is None else latest.version + 1
    claim = Claim(
        patient_control_number=draft.patient_control_number,
        version=version,
        replaces_claim_id=latest.id if latest is not None else None,
        state="",
        created_at=now,
    )
    _fill(claim, draft, now)
    session.add(claim)
    session.flush()
    _set_lines(session, claim, draft.lines)
    if latest is not None:
        # The replaced version leaves the active lifecycle in the same transaction.
        apply_transition(
            session,
            latest,
            ClaimState.RESUBMITTED,
            Cause(reference=f"version={version}", note=f"replaced by version {version}"),
            now,
        )
    apply_transition(session, claim, draft.state, draft.cause, now)
    return claim


def _check_lines(draft: ClaimDraft) -> None:
    numbers = [line.line_number for line in draft.lines]
    controls = [line.line_control_number for line in draft.lines]
    if len(set(numbers)) != len(numbers) or len(set(controls)) != len(controls):
        raise LedgerError(
            f"claim {draft.patient_control_number}: line numbers and REF*6R must be unique"
        )


def _fill(claim: Claim, draft: ClaimDraft, now: dt.datetime) -> None:
    claim.frequency_code = draft.frequency_code
    claim.payer_id = draft.payer_id
    claim.payer_name = draft.payer_name
    claim.charge_amount = draft.charge_amount
    claim.service_date_start = draft.service_date_start
    claim.service_date_end = draft.service_date_end
    claim.patient_id = draft.patient_id
    claim.encounter_id = draft.encounter_id
    claim.updated_at = now


def _set_lines(session: Session, claim: Claim, lines: Sequence[LineDraft]) -> None:
    # Update rows in place by line number: delete-then-insert of the same (claim, LX) in one
    # flush would trip the unique constraint (the ORM inserts before it deletes).
    existing = {line.line_number: line for line in claim.lines}
    wanted = {line.line_number for line in lines}
    for number, row in existing.items():
        if number not in wanted:
            claim.lines.remove(row)
    session.flush()
    for draft in lines:
        found = existing.get(draft.line_number)
        if found is None:
            row = ClaimLine(claim_id=claim.id, line_number=draft.line_number)
            claim.lines.append(row)
        else:
            row = found
        row.line_control_number = draft.line_control_number
        row.procedure_code = draft.procedure_code
        row.modifiers = ":".join(draft.modifiers)
        row.units = draft.units
        row.charge_amount = draft.charge_amount
        row.service_date = draft.service_date
        row.place_of_service = draft.place_of_service
    session.flush()


def add_submission(
    session: Session, claim: Claim, file_id: int, isa13: str, gs06: str, st02: str, now: dt.datetime
) -> None:
    session.add(
        ClaimSubmission(
            claim_id=claim.id, file_id=file_id, isa13=isa13, gs06=gs06, st02=st02, submitted_at=now
        )
    )
