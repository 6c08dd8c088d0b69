"""Claim and file states, and the transitions the ledger allows between them (data, not code).

The claim lifecycle is DESIGN.md § Claims ledger::

    scrub_failed | ready -> submitted -> rejected (TA1/999/277CA) | accepted
        -> paid | partially_paid | denied | reversed -> appeal_due -> appealed -> closed
    (written_off, resubmitted as needed)

A few edges the drawing leaves implicit are allowed because real files produce them (each is
commented in :data:`CLAIM_TRANSITIONS`); everything not listed raises ``IllegalTransition``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from pipeline.errors import IllegalTransition

__all__ = [
    "CLAIM_TRANSITIONS",
    "FILE_TRANSITIONS",
    "INITIAL_CLAIM_STATES",
    "ClaimState",
    "Direction",
    "FileState",
    "check_claim_transition",
    "check_file_transition",
]


class ClaimState(StrEnum):
    SCRUB_FAILED = "scrub_failed"
    READY = "ready"
    SUBMITTED = "submitted"
    REJECTED = "rejected"
    ACCEPTED = "accepted"
    PAID = "paid"
    PARTIALLY_PAID = "partially_paid"
    DENIED = "denied"
    REVERSED = "reversed"
    APPEAL_DUE = "appeal_due"
    APPEALED = "appealed"
    CLOSED = "closed"
    WRITTEN_OFF = "written_off"
    RESUBMITTED = "resubmitted"


class FileState(StrEnum):
    RECEIVED = "received"
    PARSED = "parsed"
    POSTED = "posted"
    QUARANTINED = "quarantined"
    STAGED = "staged"
    """Outbound: committed with its claims, not yet confirmed on the remote side."""
    UPLOADED = "uploaded"
    """Outbound: the remote rename succeeded."""


class Direction(StrEnum):
    SENT = "sent"
    RECEIVED = "received"


S = ClaimState
_ADJUDICATED = (S.PAID, S.PARTIALLY_PAID, S.DENIED)

INITIAL_CLAIM_STATES: frozenset[ClaimState] = frozenset({S.SCRUB_FAILED, S.READY})

CLAIM_TRANSITIONS: Mapping[ClaimState, frozenset[ClaimState]] = MappingProxyType(
    {
        # Fixed practice data re-scrubbed either way before anything is sent.
        S.SCRUB_FAILED: frozenset({S.READY, S.SCRUB_FAILED, S.WRITTEN_OFF, S.CLOSED}),
        S.READY: frozenset({S.SUBMITTED, S.SCRUB_FAILED, S.WRITTEN_OFF, S.CLOSED}),
        # 835 straight after submission: clearinghouses that return no 277CA (profile) still pay.
        S.SUBMITTED: frozenset({S.REJECTED, S.ACCEPTED, *_ADJUDICATED}),
        # 999 R -> fix -> resend the same PCN (ready); 277CA reject -> new version (resubmitted).
        S.REJECTED: frozenset({S.READY, S.RESUBMITTED, S.WRITTEN_OFF, S.CLOSED}),
        # accepted -> accepted: 999 then payer 277CA, both kept as timely-filing proof;
        # accepted -> rejected: 999 accepted the set, the 277CA then rejected the claim.
        S.ACCEPTED: frozenset({S.ACCEPTED, S.REJECTED, *_ADJUDICATED}),
        S.PAID: frozenset({S.REVERSED, S.APPEAL_DUE, S.RESUBMITTED, S.CLOSED, S.WRITTEN_OFF}),
        S.PARTIALLY_PAID: frozenset(
            {S.REVERSED, S.APPEAL_DUE, S.RESUBMITTED, S.CLOSED, S.WRITTEN_OFF}
        ),
        S.DENIED: frozenset({S.REVERSED, S.APPEAL_DUE, S.RESUBMITTED, S.CLOSED, S.WRITTEN_OFF}),
        # The correction CLP after a CLP02=22 reversal re-adjudicates the claim.
        S.REVERSED: frozenset({*_ADJUDICATED, S.APPEAL_DUE, S.RESUBMITTED, S.CLOSED}),
        S.APPEAL_DUE: frozenset({S.APPEALED, S.RESUBMITTED, S.CLOSED, S.WRITTEN_OFF}),
        # appealed -> appealed: next level; the decision arrives as a new 835.
        S.APPEALED: frozenset(
            {S.APPEALED, S.APPEAL_DUE, *_ADJUDICATED, S.REVERSED, S.CLOSED, S.WRITTEN_OFF}
        ),
        # Payers recoup (reverse) and pay late long after the office closed the claim.
        S.CLOSED: frozenset({S.REVERSED}),
        S.WRITTEN_OFF: frozenset({S.REVERSED, S.PAID, S.PARTIALLY_PAID, S.CLOSED}),
        # The replaced version may still be reversed by the payer when it adjudicates the new one.
        S.RESUBMITTED: frozenset({S.REVERSED, S.CLOSED}),
    }
)

F = FileState
FILE_TRANSITIONS: Mapping[FileState, frozenset[FileState]] = MappingProxyType(
    {
        F.RECEIVED: frozenset({F.PARSED, F.QUARANTINED}),
        F.PARSED: frozenset({F.POSTED, F.QUARANTINED}),
        F.POSTED: frozenset(),
        # Released by the ops engineer after a fix: processed again from the start.
        F.QUARANTINED: frozenset({F.RECEIVED}),
        F.STAGED: frozenset({F.UPLOADED}),
        F.UPLOADED: frozenset(),
    }
)


def check_claim_transition(claim_id: int, current: ClaimState | None, target: ClaimState) -> None:
    """Raise ``IllegalTransition`` unless ``current -> target`` is in the table."""
    allowed = INITIAL_CLAIM_STATES if current is None else CLAIM_TRANSITIONS[current]
    if target not in allowed:
        start = current.value if current is not None else "(new)"
        raise IllegalTransition(f"claim {claim_id}: {start} -> {target.value} is not allowed")


def check_file_transition(file_id: int, current: FileState, target: FileState) -> None:
    if target not in FILE_TRANSITIONS[current]:
        raise IllegalTransition(f"file {file_id}: {current.value} -> {target.value} is not allowed")
