"""What each step returns: small records the flows turn into logs and Prefect artifacts.

``attention`` lists one line per thing a person must look at (a quarantined file, a file that
failed validation, an event the ledger refused); the flows end ``Failed`` only when it is not
empty. Claims held by the scrubber or rejected by the payer are work items, not failures: they
are in ``held`` / ``rejections`` and in the exports, and the nightly ends ``Completed`` named
``NeedsAttention`` for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

__all__ = [
    "AckSummary",
    "Awaiting",
    "CollectSummary",
    "EligibilityResult",
    "ReconcileSummary",
    "RemitSummary",
    "SendSummary",
    "UploadSummary",
]


@dataclass
class UploadSummary:
    uploaded: list[str] = field(default_factory=list)
    """Remote names sent by this call."""
    already_there: list[str] = field(default_factory=list)
    """Found on the server with the same bytes (an earlier run's upload whose answer was lost)."""


@dataclass
class SendSummary:
    """A 270 or 837P built, validated and staged in the ledger outbox (then uploaded)."""

    transaction: str
    file: str | None = None
    """Remote name of the file staged now (None: nothing new to send)."""
    count: int = 0
    """Inquiries or claims in it."""
    already_sent: int = 0
    """Appointments / encounters skipped because an earlier run sent them."""
    held: list[dict[str, str]] = field(default_factory=list)
    """Scrub findings that hold a claim or an inquiry (encounter, rule, field, message)."""
    upload: UploadSummary = field(default_factory=UploadSummary)
    attention: list[str] = field(default_factory=list)


@dataclass
class CollectSummary:
    received: list[str] = field(default_factory=list)
    """New files, registered in the ledger."""
    duplicates: list[str] = field(default_factory=list)
    """Same bytes as a file received before: registered as seen again, not processed."""
    refused: list[str] = field(default_factory=list)
    attention: list[str] = field(default_factory=list)


@dataclass
class AckSummary:
    files: int = 0
    verdicts: dict[int, str] = field(default_factory=dict)
    """Claim id -> its latest verdict here (``accepted`` / ``rejected``): a claim a 999 accepted
    and its 277CA then rejected is counted once, as rejected."""
    rejections: list[dict[str, str]] = field(default_factory=list)
    """One row per rejected claim: patient_control_number, source, code, reason."""
    attention: list[str] = field(default_factory=list)
    statuses: int = 0
    """277 claim status answers posted (one per claim asked about)."""

    @property
    def accepted(self) -> int:
        return sum(v == "accepted" for v in self.verdicts.values())

    @property
    def rejected(self) -> int:
        return sum(v == "rejected" for v in self.verdicts.values())

    def verdict(self, claim_id: int, verdict: str) -> None:
        self.verdicts.pop(claim_id, None)  # re-insert: the latest verdict wins, in order
        self.verdicts[claim_id] = verdict

    def add(self, other: AckSummary) -> None:
        """Fold a later poll's summary into this one."""
        self.files += other.files
        self.statuses += other.statuses
        for claim_id, verdict in other.verdicts.items():
            self.verdict(claim_id, verdict)
        self.rejections += other.rejections
        self.attention += other.attention


@dataclass
class EligibilityResult:
    files: int = 0
    responses: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    """coverage_status (active / inactive / rejected) -> answers."""
    attention: list[str] = field(default_factory=list)

    def add(self, other: EligibilityResult) -> None:
        """Fold a later poll's result into this one."""
        self.files += other.files
        self.responses += other.responses
        for status, n in other.by_status.items():
            self.by_status[status] = self.by_status.get(status, 0) + n
        self.attention += other.attention


@dataclass
class RemitSummary:
    files: int = 0
    claims: int = 0
    """CLP occurrences posted."""
    by_state: dict[str, int] = field(default_factory=dict)
    """Ledger state reached (paid, partially_paid, denied, reversed) -> CLP occurrences."""
    unmatched: list[str] = field(default_factory=list)
    """Claim keys of CLPs naming no claim in the ledger (reconciliation queues them)."""
    payments: Decimal = Decimal("0")
    tables: dict[str, Any] = field(default_factory=dict, repr=False)
    """The remittance tables of the files posted by this call (DESIGN names)."""
    attention: list[str] = field(default_factory=list)


@dataclass
class ReconcileSummary:
    as_of: str = ""
    remittances: int = 0
    flags: int = 0
    by_flag: dict[str, int] = field(default_factory=dict)
    dollars_flagged: Decimal = Decimal("0")
    """``amount_at_stake`` of every flag but ``patient_responsibility`` (underpaid, denied,
    NSA, paid to the patient): money to recover."""
    worklist: int = 0
    letters: int = 0
    exports: list[Path] = field(default_factory=list)
    report: Path | None = None
    tables: dict[str, Any] = field(default_factory=dict, repr=False)
    """``flags`` only (the reconcile flow publishes its first rows): every table is in
    ``exports``, and a summary kept for the rest of a night must not keep them all."""
    attention: list[str] = field(default_factory=list)


@dataclass
class Awaiting:
    """Answers still expected from the clearinghouse for what was sent."""

    acknowledgments: int = 0
    """Claims submitted with no TA1/999/277CA verdict yet."""
    eligibility: int = 0
    """270 inquiries for upcoming appointments with no 271 yet."""
    claim_status: int = 0
    """276 claim status requests sent in a file with no 277 answer yet."""

    @property
    def done(self) -> bool:
        return not (self.acknowledgments or self.eligibility or self.claim_status)
