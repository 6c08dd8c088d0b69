"""Where the night stands: answers still expected, and claims by ledger state."""

from __future__ import annotations

from collections import Counter
from datetime import date

from pipeline.ledger import ClaimState, Direction, FileState, Ledger
from pipeline.steps.summaries import Awaiting
from pipeline.transport import ClearinghouseProfile

__all__ = ["awaiting", "claim_counts", "file_counts"]


def awaiting(ledger: Ledger, profile: ClearinghouseProfile, *, on: date) -> Awaiting:
    """Claims without an acknowledgment (when the profile returns any), 270 inquiries for
    appointments after ``on`` without a 271 (when it returns 271s), and 276 requests sent
    without a 277."""
    acks = len(ledger.claims_by_state(ClaimState.SUBMITTED)) if profile.acknowledgments else 0
    elig = 0
    if "271" in profile.returns:
        elig = sum(
            1
            for c in ledger.eligibility_checks(awaiting_response=True)
            if c.request_file_id is not None and (c.service_date is None or c.service_date > on)
        )
    status = sum(
        1 for c in ledger.status_checks() if c.request_file_id is not None and c.summary is None
    )
    return Awaiting(acknowledgments=acks, eligibility=elig, claim_status=status)


def claim_counts(ledger: Ledger) -> dict[str, int]:
    """Latest claim versions by state, plus ``sent`` (ever submitted) and ``accepted``."""
    every = ledger.claims_by_state(*ClaimState)
    states = Counter(c.state.value for c in every)
    unsent = states[ClaimState.READY] + states[ClaimState.SCRUB_FAILED]
    sent = len(every) - unsent
    counts = dict(sorted(states.items()))
    counts["sent"] = sent
    counts["accepted"] = sent - states[ClaimState.REJECTED] - states[ClaimState.SUBMITTED]
    counts["paid_any"] = states[ClaimState.PAID] + states[ClaimState.PARTIALLY_PAID]
    return counts


def file_counts(ledger: Ledger) -> dict[str, int]:
    """Totals so far: eligibility answers, 835 files posted, files quarantined."""
    posted = ledger.files_by_state(FileState.POSTED, direction=Direction.RECEIVED)
    return {
        "eligibility_answers": sum(1 for c in ledger.eligibility_checks() if c.summary),
        "remittances_posted": sum(1 for f in posted if f.transaction_type == "835"),
        "quarantined": len(ledger.files_by_state(FileState.QUARANTINED)),
    }
