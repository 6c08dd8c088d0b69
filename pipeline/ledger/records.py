"""What the ledger takes in (drafts, causes) and hands out (frozen records, no open sessions)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from pipeline.ledger.lifecycle import ClaimState, Direction, FileState

__all__ = [
    "Cause",
    "ClaimDraft",
    "ClaimHead",
    "ClaimRecord",
    "Controls",
    "EligibilityRecord",
    "EligibilityRequest",
    "FileRecord",
    "LineDraft",
    "LineRecord",
    "PendingUpload",
    "StagedFile",
    "StatusCheckRecord",
    "StatusCheckRequest",
    "SubmissionRecord",
    "TransitionRecord",
]


@dataclass(frozen=True)
class Controls:
    """The envelope numbers of one transaction set: ISA13, GS06, ST02 (and ST01)."""

    isa13: str
    gs06: str
    st02: str
    transaction_set_id: str = ""

    def normalized(self) -> Controls:
        """ISA13 zero-padded to 9 digits, GS06 without leading zeros (as 999 AK102 compares)."""
        gs06 = self.gs06.strip()
        if gs06.isdigit():
            gs06 = str(int(gs06))
        return Controls(
            self.isa13.strip().zfill(9), gs06, self.st02.strip(), self.transaction_set_id
        )


@dataclass(frozen=True)
class Cause:
    """Why a claim changed state: the file and segment that said so, a code, a note.

    A cause naming a file (or a ``reference``, e.g. an appeal id) is an identity: applying it
    to the same claim and target state again is a no-op, so a rerun night posts nothing twice.
    """

    file_id: int | None = None
    segment_number: int | None = None
    code: str | None = None
    note: str | None = None
    reference: str | None = None
    amount: Decimal | None = None

    def identity(self) -> str | None:
        if self.file_id is None and self.reference is None:
            return None
        return (
            f"file={self.file_id or ''}:seg={self.segment_number or ''}:ref={self.reference or ''}"
        )


@dataclass(frozen=True)
class LineDraft:
    line_number: int
    """LX01, 1-based."""
    line_control_number: str
    """REF*6R: unique per line and claim version."""
    procedure_code: str
    charge_amount: Decimal
    service_date: dt.date
    units: Decimal = Decimal(1)
    modifiers: tuple[str, ...] = ()
    place_of_service: str | None = None


@dataclass(frozen=True)
class ClaimDraft:
    """A claim as the builder/scrubber produced it, before the ledger numbers its version."""

    patient_control_number: str
    payer_id: str
    charge_amount: Decimal
    service_date_start: dt.date
    service_date_end: dt.date
    lines: Sequence[LineDraft] = ()
    state: ClaimState = ClaimState.READY
    """``ready`` or ``scrub_failed``."""
    frequency_code: str = "1"
    payer_name: str | None = None
    patient_id: str | None = None
    encounter_id: str | None = None
    new_version: bool = False
    """A corrected/replacement claim: a new version when the latest one was already sent."""
    cause: Cause = field(default_factory=Cause)


@dataclass(frozen=True)
class EligibilityRequest:
    """One 270 inquiry, keyed by its TRN02 trace number."""

    trace_number: str
    payer_id: str
    member_id: str | None = None
    patient_id: str | None = None
    service_date: dt.date | None = None
    service_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileRecord:
    id: int
    sha256: str
    size: int
    direction: Direction
    state: FileState
    names: tuple[str, ...]
    """Every name these bytes came under, first seen first."""
    transaction_type: str | None
    local_path: str | None
    isa13: str | None
    controls: tuple[Controls, ...]
    quarantine_reason: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    is_duplicate: bool = False
    """True when these bytes were registered before (under this or another name): do not
    process them again — the first registration's ``state`` says how far they got."""


@dataclass(frozen=True)
class LineRecord:
    id: int
    claim_id: int
    line_number: int
    line_control_number: str
    procedure_code: str
    modifiers: tuple[str, ...]
    units: Decimal
    charge_amount: Decimal
    service_date: dt.date
    place_of_service: str | None


@dataclass(frozen=True)
class ClaimRecord:
    id: int
    patient_control_number: str
    version: int
    replaces_claim_id: int | None
    frequency_code: str
    state: ClaimState
    payer_id: str
    payer_name: str | None
    payer_claim_control_number: str | None
    charge_amount: Decimal
    service_date_start: dt.date
    service_date_end: dt.date
    patient_id: str | None
    encounter_id: str | None
    lines: tuple[LineRecord, ...]
    created_at: dt.datetime
    updated_at: dt.datetime


class ClaimHead(NamedTuple):
    """A claim's id and state: what reconciliation asks of every claim sent (a whole
    :class:`ClaimRecord` with its lines cost ~30x as much for a night's claims)."""

    id: int
    state: ClaimState


@dataclass(frozen=True)
class TransitionRecord:
    id: int
    claim_id: int
    at: dt.datetime
    from_state: ClaimState | None
    to_state: ClaimState
    file_id: int | None
    segment_number: int | None
    code: str | None
    note: str | None
    reference: str | None
    amount: Decimal | None
    replayed: bool = False
    """True when this call matched an event already stored (nothing changed)."""


@dataclass(frozen=True)
class SubmissionRecord:
    """One sending of a claim: the proof of timely filing starts here."""

    claim_id: int
    file_id: int
    file_name: str
    sha256: str
    controls: Controls
    submitted_at: dt.datetime
    """When the file and the claim's ``submitted`` state were committed (staged)."""
    uploaded_at: dt.datetime | None
    """When the remote rename was confirmed; None while the upload is pending."""
    remote_name: str | None


@dataclass(frozen=True)
class PendingUpload:
    file_id: int
    name: str
    content: bytes
    sha256: str
    staged_at: dt.datetime


@dataclass(frozen=True)
class StagedFile:
    """A pending upload without its bytes (``Ledger.outbox_content`` reads them)."""

    file_id: int
    name: str
    sha256: str
    staged_at: dt.datetime


@dataclass(frozen=True)
class EligibilityRecord:
    id: int
    trace_number: str
    payer_id: str | None
    member_id: str | None
    patient_id: str | None
    service_date: dt.date | None
    service_types: tuple[str, ...]
    request_file_id: int | None
    requested_at: dt.datetime | None
    response_file_id: int | None
    responded_at: dt.datetime | None
    coverage_status: str | None
    summary: Mapping[str, Any] | None


@dataclass(frozen=True)
class StatusCheckRequest:
    """One 276 claim status request, keyed by its 2200D TRN02 trace number."""

    trace_number: str
    claim_id: int | None
    patient_control_number: str
    payer_id: str
    channel: str = "batch"
    """``batch`` (a file through the clearinghouse) or ``realtime`` (CORE)."""


@dataclass(frozen=True)
class StatusCheckRecord:
    id: int
    trace_number: str
    claim_id: int | None
    patient_control_number: str | None
    payer_id: str | None
    channel: str
    request_file_id: int | None
    requested_at: dt.datetime | None
    response_file_id: int | None
    responded_at: dt.datetime | None
    status_category: str | None
    status_code: str | None
    status: str | None
    summary: Mapping[str, Any] | None
