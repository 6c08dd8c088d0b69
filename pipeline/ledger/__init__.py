"""Claims ledger (SQLAlchemy 2 + Alembic): file registry, claim lifecycle, outbox, control numbers.

Open it with :class:`Ledger` (``Ledger(get_settings().ledger_url)``); it migrates the database to
the newest schema on open. See :mod:`pipeline.ledger.store` for the calls the flows make and
:mod:`pipeline.ledger.lifecycle` for the allowed claim and file transitions.
"""

from pipeline.ledger.control import LedgerControlNumbers
from pipeline.ledger.lifecycle import (
    CLAIM_TRANSITIONS,
    FILE_TRANSITIONS,
    ClaimState,
    Direction,
    FileState,
)
from pipeline.ledger.records import (
    Cause,
    ClaimDraft,
    ClaimHead,
    ClaimRecord,
    Controls,
    EligibilityRecord,
    EligibilityRequest,
    FileRecord,
    LineDraft,
    LineRecord,
    PendingUpload,
    StagedFile,
    StatusCheckRecord,
    StatusCheckRequest,
    SubmissionRecord,
    TransitionRecord,
)
from pipeline.ledger.store import Ledger, open_ledger

__all__ = [
    "CLAIM_TRANSITIONS",
    "FILE_TRANSITIONS",
    "Cause",
    "ClaimDraft",
    "ClaimHead",
    "ClaimRecord",
    "ClaimState",
    "Controls",
    "Direction",
    "EligibilityRecord",
    "EligibilityRequest",
    "FileRecord",
    "FileState",
    "Ledger",
    "LedgerControlNumbers",
    "LineDraft",
    "LineRecord",
    "PendingUpload",
    "StagedFile",
    "StatusCheckRecord",
    "StatusCheckRequest",
    "SubmissionRecord",
    "TransitionRecord",
    "open_ledger",
]
