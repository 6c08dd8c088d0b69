"""Claim status (276/277, 005010X212) for claims the payer has not answered within its window.

The nightly ``claim-status`` step, after the remittances are posted:

1. :func:`claims_needing_status`: claims still ``submitted`` or ``accepted`` (no 835 posted),
   last sent more than the payer's ``response_window_days`` before the business date (payer
   profile), and not asked about in the last :data:`RECHECK_DAYS` days;
2. :func:`stage_claim_status`: one 276 for them, built from the 837P as sent
   (:func:`pipeline.build.t276.status_request`), validated, staged in the outbox together with
   its requests (``claim_status_checks``) and uploaded like every other file (batch, over the
   clearinghouse's SFTP; ``claimflow status check PCN`` asks one claim in real time instead);
3. the 277 comes back with the other acknowledgments; :func:`post_claim_statuses` stores each
   answer and moves the claim by its STC category (``mappings/codes/claim_status_actions.csv``):
   pending / finalized / paid / denied -> ``accepted`` (recorded even when already accepted,
   with the 277's category:status, paid amount and trace as the cause), not found / rejected
   -> ``rejected``; errors change nothing and are reported.
4. :func:`annotate_flags`: the reconciliation's ``no_response`` flags say what the payer
   answered and what to do; a claim the payer has no record of (or rejected) gets a
   ``rejected_correct_resubmit`` flag with its timely filing deadline.

Every event names the 277 file and segment, so reprocessing posts nothing twice.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from pipeline.build.t276 import build_276, status_request
from pipeline.ledger import (
    Cause,
    ClaimRecord,
    ClaimState,
    FileRecord,
    Ledger,
    StatusCheckRecord,
    StatusCheckRequest,
)
from pipeline.practice import Practice
from pipeline.practice.records import ClaimRecord as SentClaim
from pipeline.steps.acknowledgments import move_claim
from pipeline.steps.summaries import AckSummary, SendSummary
from pipeline.steps.workspace import Workspace
from pipeline.transport import ClearinghouseProfile

__all__ = [
    "RECHECK_DAYS",
    "annotate_flags",
    "claims_needing_status",
    "latest_answers",
    "post_claim_statuses",
    "sent_claims",
    "stage_claim_status",
]

RECHECK_DAYS = 14
"""A claim asked about is not asked again for this many days (payers update weekly at best)."""
DEFAULT_RESPONSE_WINDOW = 30
_WAITING = (ClaimState.SUBMITTED, ClaimState.ACCEPTED)
_NOT_ON_FILE = frozenset({"not_found", "rejected"})


@dataclass(frozen=True)
class Due:
    """A claim to ask about, with the day it was last sent."""

    claim: ClaimRecord
    sent_on: date


def claims_needing_status(ledger: Ledger, practice: Practice, *, on: date) -> list[Due]:
    """Claims without an 835 past the payer's response window, not asked about lately."""
    asked: dict[int, date] = {}
    for check in ledger.status_checks():
        if check.claim_id is not None and check.requested_at is not None:
            day = min(check.requested_at.date(), on)
            asked[check.claim_id] = max(day, asked.get(check.claim_id, day))
    due = []
    last_sent = ledger.last_submitted()  # one query, not one per waiting claim
    for claim in ledger.claims_by_state(*_WAITING):
        if claim.id not in last_sent:
            continue
        sent_on = min(last_sent[claim.id].date(), on)
        payer = practice.payers.get(claim.payer_id)
        window = payer.response_window_days if payer else DEFAULT_RESPONSE_WINDOW
        if (on - sent_on).days <= window:
            continue
        last = asked.get(claim.id)
        if last is not None and (on - last).days < RECHECK_DAYS:
            continue
        due.append(Due(claim, sent_on))
    return due


def sent_claims(ledger: Ledger, claims: Iterable[ClaimRecord]) -> dict[int, SentClaim]:
    """Claim id -> the 837P claim as last sent (read back from the ledger's copy of the file)."""
    from pipeline.parse.t837p import read_837p

    read: dict[int, list[SentClaim]] = {}
    out: dict[int, SentClaim] = {}
    for claim in claims:
        submissions = ledger.submissions(claim.id)
        if not submissions:
            continue
        file_id = submissions[-1].file_id
        if file_id not in read:
            record = ledger.file(file_id)
            path = Path(record.local_path) if record.local_path else None
            read[file_id] = read_837p(path) if path is not None and path.exists() else []
        found = [
            c for c in read[file_id] if c.patient_control_number == claim.patient_control_number
        ]
        if found:
            out[claim.id] = found[-1]
    return out


def stage_claim_status(
    ledger: Ledger,
    practice: Practice,
    workspace: Workspace,
    profile: ClearinghouseProfile,
    *,
    on: date,
    at: time | None = None,
) -> SendSummary:
    """One 276 for the claims due (:func:`claims_needing_status`), staged with its requests."""
    # The outbound step's validate-then-stage path, shared so a 276 is checked like any file.
    from pipeline.benchnight import stage
    from pipeline.steps.outbound import _remote_name, _stage, envelope_time

    with stage("claim status: due"):
        due = claims_needing_status(ledger, practice, on=on)
    summary = SendSummary("276")
    if not due:
        return summary
    claims = {d.claim.id: d.claim for d in due}
    with stage("claim status: due"):
        sent = sent_claims(ledger, claims.values())
    for claim_id in sorted(set(claims) - set(sent)):
        pcn = claims[claim_id].patient_control_number
        summary.attention.append(f"claim {pcn}: no copy of the 837P it was sent in; not asked")
    ids = sorted(sent)
    requests = [
        status_request(
            sent[i], payer_claim_control_number=claims[i].payer_claim_control_number or ""
        )
        for i in ids
    ]
    bp = practice.billing_provider
    buffer = io.StringIO()
    with stage("build"):
        built = build_276(
            requests,
            buffer,
            submitter=(bp.name.upper(), bp.submitter_etin),
            receiver_id=bp.receiver_id,
            control_numbers=ledger.control_numbers,
            now=envelope_time(on, at),
        )
    summary.held = [
        {"patient_control_number": pcn, "rule": "x12_value", "message": why, "encounter_id": "",
         "field": ""}
        for pcn, why in built.skipped
    ]  # fmt: skip
    if not built.requests:
        return summary
    by_pcn = {claims[i].patient_control_number: claims[i] for i in ids}
    checks = [
        StatusCheckRequest(
            trace_number=r.trace_number,
            claim_id=by_pcn[r.patient_control_number].id,
            patient_control_number=r.patient_control_number,
            payer_id=r.payer_id,
        )
        for r in built.requests
    ]
    content = buffer.getvalue().encode("ascii")
    name = _remote_name(profile, practice, "276", built.interchange_control_number)
    if _stage(ledger, workspace, summary, content, name, {}, (), "276", checks):
        summary.count = len(checks)
    return summary


def post_claim_statuses(
    ledger: Ledger, record: FileRecord, rows: list[dict[str, Any]], summary: AckSummary
) -> None:
    """Store every 277 answer of ``record`` and move its claim (see the module docstring)."""
    name = record.names[0] if record.names else f"file {record.id}"
    for row in rows:
        if row.get("level") != "claim":
            if row.get("status") == "error":
                summary.attention.append(f"{name}: the payer could not answer: {_stc(row)}")
            continue
        trace = str(row.get("trace_number") or "")
        check = ledger.record_status_response(trace, row, file_id=record.id)
        summary.statuses += 1
        claim = _claim_of(ledger, check, row)
        if claim is None:
            pcn = row.get("patient_control_number")
            summary.attention.append(f"{name}: 277 answers for claim {pcn!r}, not in the ledger")
            continue
        _apply(ledger, record, claim, row, summary, name)


def _claim_of(ledger: Ledger, check: StatusCheckRecord, row: dict[str, Any]) -> ClaimRecord | None:
    if check.claim_id is not None:
        return ledger.claim_by_id(check.claim_id)
    pcn = str(row.get("patient_control_number") or "")
    return ledger.claim(pcn) if pcn else None


def _apply(
    ledger: Ledger,
    record: FileRecord,
    claim: ClaimRecord,
    row: dict[str, Any],
    summary: AckSummary,
    name: str,
) -> None:
    from pipeline.parse.t277 import category_actions

    action = category_actions().get(str(row.get("status_category") or ""), {})
    target = action.get("ledger") or ""
    if row.get("status") == "error":
        summary.attention.append(f"{name}: claim {claim.patient_control_number}: {_stc(row)}")
        return
    if not target or claim.state not in _WAITING:
        return  # an 835 (or a person) decided since we asked: the answer is kept, no move
    paid = row.get("paid_amount")
    cause = Cause(
        record.id,
        _int(row.get("segment_number")),
        f"277 {_code(row)}",
        row.get("status_text") or None,
        str(row.get("trace_number") or "") or None,
        Decimal(str(paid)) if paid not in (None, "") else None,
    )
    number = str(row.get("payer_claim_control_number") or "") or None
    move_claim(ledger, claim, ClaimState(target), cause, summary, source=name, number=number)


def latest_answers(ledger: Ledger) -> dict[str, StatusCheckRecord]:
    """Patient control number -> its most recent answered status check."""
    out: dict[str, StatusCheckRecord] = {}
    for check in ledger.status_checks():
        if check.summary and check.patient_control_number:
            out[check.patient_control_number] = check
    return out


def annotate_flags(flags: Any, ledger: Ledger, practice: Practice) -> Any:
    """The reconciliation's ``flags`` table with what the payers' 277s said (see module doc)."""
    import pandas as pd

    from pipeline.parse.t277 import category_actions

    answers = latest_answers(ledger)
    if not answers:
        return flags
    frame = flags.copy() if flags is not None else pd.DataFrame()
    flagged: set[tuple[str, str]] = set()
    for i, row in frame.iterrows():
        pcn, flag = str(row.get("patient_control_number") or ""), str(row.get("flag") or "")
        flagged.add((pcn, flag))
        check = answers.get(pcn)
        if flag != "no_response" or check is None or not check.summary:
            continue
        said = check.summary
        action = category_actions().get(str(said.get("status_category") or ""), {})
        frame.at[i, "reason"] = f"{row['reason']}; payer's 277 on {_day(check)}: {_said(said)}"
        if action.get("action"):
            frame.at[i, "action"] = f"{action['action']} (filing limit {row.get('deadline')})"
    extra = [
        _resubmit_row(frame.columns, claim, answers[claim.patient_control_number], practice)
        for claim in ledger.claims_by_state(ClaimState.REJECTED)
        if claim.patient_control_number in answers
        and answers[claim.patient_control_number].status in _NOT_ON_FILE
        and (claim.patient_control_number, "rejected_correct_resubmit") not in flagged
    ]
    if not extra:
        return frame
    return pd.concat([frame, pd.DataFrame(extra)], ignore_index=True)


def _resubmit_row(
    columns: Iterable[str], claim: ClaimRecord, check: StatusCheckRecord, practice: Practice
) -> dict[str, Any]:
    from pipeline.parse.t277 import category_actions

    said = check.summary or {}
    payer = practice.payers.get(claim.payer_id)
    filing = claim.service_date_start + timedelta(days=payer.timely_filing_days if payer else 365)
    action = category_actions().get(str(said.get("status_category") or ""), {})
    row: dict[str, Any] = dict.fromkeys(columns, None)
    row.update(
        patient_control_number=claim.patient_control_number,
        line_control_number="",
        payer=claim.payer_id,
        flag="rejected_correct_resubmit",
        reason=f"payer's 277 on {_day(check)}: {_said(said)}",
        basis="",
        expected_amount=None,
        paid_amount=Decimal("0"),
        amount_at_stake=claim.charge_amount,
        deadline=filing,
        action=f"{action.get('action') or 'Correct and resubmit'} (filing limit {filing})",
    )
    return row


def _said(summary: Any) -> str:
    text = f"{_code(summary)} {summary.get('status_text') or ''}".strip()
    paid = summary.get("paid_amount")
    if paid not in (None, ""):
        text += f"; paid {Decimal(str(paid)):.2f}"
        if summary.get("payment_date"):
            text += f" on {summary['payment_date']}"
        if summary.get("check_number"):
            text += f" (check/EFT {summary['check_number']})"
    return text


def _day(check: StatusCheckRecord) -> str:
    """The day the payer's answer speaks for (STC02), else when it was posted."""
    said = check.summary or {}
    if said.get("status_date"):
        return str(said["status_date"])
    return check.responded_at.date().isoformat() if check.responded_at else "?"


def _code(row: Any) -> str:
    return ":".join(
        str(row.get(k) or "") for k in ("status_category", "status_code", "entity_code")
    ).rstrip(":")


def _stc(row: dict[str, Any]) -> str:
    return f"{_code(row)} {row.get('status_text') or ''}".strip()


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
