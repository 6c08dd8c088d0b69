"""TA1, 999 and 277CA -> claim states: ``rejected`` or ``accepted`` (with the payer's REF*1K).

- TA1 R (the interchange refused): every claim sent in that ISA13 is rejected — except note
  025 (duplicate ISA13): a second copy was refused, the first stands; a person is told.
- 999 per AK2 set: A/E -> accepted, R -> rejected, for the claims the ledger sent in that
  GS06/ST02 (the ISA13 is looked up from the ledger's sent files: a 999 names only the group).
- 277CA per claim (TRN02 = CLM01): accepted with the payer claim number, or rejected with
  the STC category:status; pending changes nothing.
- 277 claim status answers (005010X212, to our 276s): :mod:`pipeline.steps.claim_status`.

Every event names the file (and segment when known), so reprocessing posts nothing twice. A
file that cannot be read is quarantined with the reader's message and the rest goes on.

Files are read as typed records (:func:`pipeline.parse.iter_records`), never as whole tables:
a 999 keeps one small verdict per acknowledged set, so a 40 MB one posts in flat memory. The
whole file is read before anything is posted, so a file cut short moves no claim.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, NamedTuple, cast

from pipeline.benchnight import stage
from pipeline.errors import ClaimflowError, IllegalTransition
from pipeline.ledger import (
    Cause,
    ClaimRecord,
    ClaimState,
    Controls,
    Direction,
    FileRecord,
    FileState,
    Ledger,
)
from pipeline.parse.t277 import ClaimStatus
from pipeline.parse.t277ca import ClaimAcknowledgment
from pipeline.parse.t999 import AckTransaction
from pipeline.parse.ta1 import AckInterchange
from pipeline.parse.tables import COLUMNS
from pipeline.steps.files import ACKNOWLEDGMENT, local_path, quarantine, waiting
from pipeline.steps.summaries import AckSummary
from pipeline.steps.workspace import Workspace

__all__ = ["move_claim", "process_acknowledgments"]

# TA1 first, then 999, then the payer's 277CA: the order the verdicts are given in.
_ORDER = {"TA1": 0, "999": 1, "277": 2}
_DUPLICATE_INTERCHANGE = "025"
_WORST = {"rejected": 3, "partially_accepted": 2, "accepted_with_errors": 1, "accepted": 0}
_TABLES: dict[type, str] = {
    AckInterchange: "ack_interchanges",
    AckTransaction: "ack_transactions",
    ClaimAcknowledgment: "claim_acknowledgments",
    ClaimStatus: "claim_statuses",
}
_GETTERS = {t: attrgetter(*COLUMNS[t]) for t in _TABLES.values()}


def process_acknowledgments(ledger: Ledger, workspace: Workspace) -> AckSummary:
    summary = AckSummary()
    files = sorted(
        waiting(ledger, ACKNOWLEDGMENT), key=lambda f: (_ORDER[f.transaction_type or ""], f.id)
    )
    groups: dict[str, str] | None = None
    for record in files:
        try:
            with stage("parse"):
                verdicts = _read(record)
        except (ClaimflowError, OSError) as exc:
            summary.attention.append(quarantine(ledger, workspace, record, _one_line(exc)))
            continue
        with stage("ledger: acknowledgments"):
            if groups is None:
                groups = _sent_groups(ledger)
            _post_acknowledgments(ledger, record, verdicts, groups, summary)
        summary.files += 1
    return summary


@dataclass
class _Verdicts:
    """What one acknowledgment file says, read in one streaming pass (no DataFrames).

    The whole file is read before anything is posted, so an unreadable file moves nothing.
    A 999 keeps one small verdict per acknowledged set (its worst finding), not its rows.
    """

    interchanges: list[dict[str, Any]] = field(default_factory=list)
    sets: dict[tuple[str, str], _SetVerdict] = field(default_factory=dict)
    shared: dict[object, Any] = field(default_factory=dict)
    """One copy of each repeated value (GS06, verdict): spooled rows come back from disk
    as fresh strings, and a 999 may acknowledge a million sets."""
    claims: list[ClaimAcknowledgment] = field(default_factory=list)
    statuses: list[ClaimStatus] = field(default_factory=list)


def _read(record: FileRecord) -> _Verdicts:
    from pipeline.parse import iter_records

    out = _Verdicts()
    for item in iter_records(local_path(record), name=record.names[0]):
        kind = type(item)
        if kind is AckTransaction:
            _keep_worst(out, cast(AckTransaction, item))
        elif kind is ClaimAcknowledgment:
            out.claims.append(cast(ClaimAcknowledgment, item))
        elif kind is ClaimStatus:
            out.statuses.append(cast(ClaimStatus, item))
        elif kind is AckInterchange:
            out.interchanges.append(_row(item))
    return out


def _post_acknowledgments(
    ledger: Ledger,
    record: FileRecord,
    verdicts: _Verdicts,
    groups: dict[str, str],
    summary: AckSummary,
) -> None:
    for row in verdicts.interchanges:
        _ta1(ledger, record, row, summary)
    _999(ledger, record, verdicts.sets, groups, summary)
    _277ca(ledger, record, [_row(c) for c in verdicts.claims], summary)
    if verdicts.statuses:  # a 277 (X212): answers to our 276s
        from pipeline.steps.claim_status import post_claim_statuses

        post_claim_statuses(ledger, record, [_row(s) for s in verdicts.statuses], summary)
    ledger.mark_parsed(record.id)
    ledger.mark_posted(record.id)


def _ta1(ledger: Ledger, record: FileRecord, row: dict[str, Any], summary: AckSummary) -> None:
    if row.get("status") != "rejected":
        return  # TA1 A/E: the envelope was fine; the 999 and 277CA decide the claims
    isa13 = str(row.get("interchange_control_number") or "")
    if row.get("note_code") == _DUPLICATE_INTERCHANGE:
        # The clearinghouse refused a second copy; the first one stands (and was answered).
        summary.attention.append(
            f"{record.names[0]}: interchange {isa13} arrived twice; the copy was refused (TA1 025)"
        )
        return
    code = f"TA1 {row.get('note_code') or ''}".strip()
    cause = Cause(record.id, _int(row.get("segment_number")), code, row.get("note_text"), isa13)
    for claim in ledger.claims_in_submission(isa13):
        move_claim(ledger, claim, ClaimState.REJECTED, cause, summary, source=record.names[0])


def _999(
    ledger: Ledger,
    record: FileRecord,
    sets: dict[tuple[str, str], _SetVerdict],
    groups: dict[str, str],
    summary: AckSummary,
) -> None:
    """Every AK2 set of a 999 in one transaction (ledger/posting.py), in file order."""
    verdicts: list[tuple[ClaimState, Cause, list[int]]] = []
    sent: dict[str, dict[str, list[int]]] = {}  # GS06 -> ST02 -> claim ids
    for (gs06, st02), found in sets.items():
        isa13 = groups.get(gs06)
        if isa13 is None:
            continue  # a group we never sent (or a 270's): nothing to move
        in_group = sent.get(gs06)
        if in_group is None:
            in_group = sent[gs06] = _claims_by_set(ledger, isa13, gs06)
        ids = in_group.get(st02)
        if not ids:
            continue  # a set of the group that carried none of our claims
        target = ClaimState.REJECTED if found.status == "rejected" else ClaimState.ACCEPTED
        code = f"999 {found.status_code}".strip()
        note = found.error_text or None
        cause = Cause(record.id, None, code, note, f"{gs06}/{st02}")
        verdicts.append((target, cause, ids))
    if not verdicts:
        return
    source = record.names[0]
    with ledger.posting(record.id) as posting:
        claims = posting.claims_by_id(i for _, _, ids in verdicts for i in ids)
        for target, cause, ids in verdicts:
            for claim_id in ids:
                claim = claims[claim_id]
                if target is ClaimState.ACCEPTED and claim.state is not ClaimState.SUBMITTED:
                    continue  # the 277CA already spoke; a 999 adds nothing then
                before = claim.state
                try:
                    new = posting.transition(claim_id, target, cause)
                except IllegalTransition as exc:
                    summary.attention.append(f"{source}: {exc}")
                    continue
                if new:
                    pcn = claim.patient_control_number
                    _count(summary, claim.id, target, before, cause, pcn, claim.payer_id, source)


def _277ca(
    ledger: Ledger, record: FileRecord, rows: list[dict[str, Any]], summary: AckSummary
) -> None:
    """Every claim of a 277CA in one transaction (ledger/posting.py), in file order."""
    rows = [r for r in rows if r.get("status") in ("accepted", "rejected")]
    if not rows:
        return
    source = record.names[0]
    with ledger.posting(record.id) as posting:
        known = posting.claims(str(r.get("patient_control_number") or "") for r in rows)
        for row in rows:
            pcn = str(row.get("patient_control_number") or "")
            claim = known.get(pcn)
            if claim is None:
                summary.attention.append(f"{source}: 277CA names claim {pcn!r}, not in the ledger")
                continue
            stc = ":".join(
                str(row.get(k) or "") for k in ("status_category", "status_code", "entity_code")
            ).rstrip(":")
            cause = Cause(record.id, _int(row.get("segment_number")), f"277CA {stc}",
                          row.get("status_text") or None, pcn)  # fmt: skip
            accepted = row.get("status") == "accepted"
            target = ClaimState.ACCEPTED if accepted else ClaimState.REJECTED
            number = str(row.get("payer_claim_control_number") or "") or None
            before = claim.state
            try:
                new = posting.transition(claim.id, target, cause, payer_claim_control_number=number)
            except IllegalTransition as exc:
                summary.attention.append(f"{source}: {exc}")
                continue
            if new:
                _count(summary, claim.id, target, before, cause, pcn, claim.payer_id, source)


def move_claim(
    ledger: Ledger,
    claim: ClaimRecord,
    target: ClaimState,
    cause: Cause,
    summary: AckSummary,
    *,
    source: str,
    number: str | None = None,
) -> None:
    try:
        event = ledger.transition(claim.id, target, cause, payer_claim_control_number=number)
    except IllegalTransition as exc:
        summary.attention.append(f"{source}: {exc}")
        return
    if event.replayed:
        return
    pcn = claim.patient_control_number
    _count(summary, claim.id, target, claim.state, cause, pcn, claim.payer_id, source)


def _count(
    summary: AckSummary,
    claim_id: int,
    target: ClaimState,
    before: ClaimState | None,
    cause: Cause,
    pcn: str,
    payer_id: str,
    source: str,
) -> None:
    if target is ClaimState.REJECTED:
        summary.verdict(claim_id, "rejected")
        summary.rejections.append(
            {
                "patient_control_number": pcn,
                "payer_id": payer_id,
                "source": source,
                "code": cause.code or "",
                "reason": cause.note or "",
            }
        )
    elif before is ClaimState.SUBMITTED:
        summary.verdict(claim_id, "accepted")


def _claims_by_set(ledger: Ledger, isa13: str, gs06: str) -> dict[str, list[int]]:
    """ST02 -> ids (in id order) of the claims sent in that set of group ``gs06``: one
    query per group, not per AK2 or claim (a 999 may acknowledge a million sets)."""
    return ledger.claims_by_set(isa13, gs06)


def _sent_groups(ledger: Ledger) -> dict[str, str]:
    """GS06 -> ISA13 of every file the ledger sent (999 AK102 names only the group)."""
    out: dict[str, str] = {}
    for f in ledger.files_by_state(FileState.STAGED, FileState.UPLOADED, direction=Direction.SENT):
        for ctl in f.controls:
            c = Controls(ctl.isa13, ctl.gs06, ctl.st02).normalized()
            out[c.gs06] = c.isa13
    return out


class _SetVerdict(NamedTuple):
    """The worst finding of a 999 about one acknowledged set (what ``_999`` posts)."""

    status: str
    status_code: str
    error_text: str


def _keep_worst(out: _Verdicts, found: AckTransaction) -> None:
    """999 rows collapsed to one per (GS06, ST02), keeping the first of the worst status."""
    st02 = found.transaction_control_number
    if not st02:
        return  # a group-level row (AK9)
    shared = out.shared
    gs06 = Controls("0", found.group_control_number, st02).normalized().gs06
    gs06 = shared.setdefault(gs06, gs06)
    verdict = _SetVerdict(found.status, found.status_code, found.error_text)
    verdict = shared.setdefault(verdict, verdict)
    key = (gs06, st02)
    old = out.sets.get(key)
    if old is None or _WORST.get(verdict.status, 0) > _WORST.get(old.status, 0):
        out.sets[key] = verdict


def _row(record: object) -> dict[str, Any]:
    """A record as the table row it would be (same columns; empty strings kept)."""
    table = _TABLES[type(record)]
    return dict(zip(COLUMNS[table], _GETTERS[table](record), strict=True))


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
