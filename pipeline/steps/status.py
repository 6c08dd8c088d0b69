"""Where the night stands: answers still expected, claims by ledger state, what needs a person,
and the last night's result (``last-night.json`` in the workspace)."""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pipeline.ledger import ClaimState, Direction, FileState, Ledger
from pipeline.steps.summaries import Awaiting
from pipeline.steps.workspace import Workspace
from pipeline.transport import ClearinghouseProfile

__all__ = [
    "LAST_NIGHT",
    "awaiting",
    "claim_counts",
    "claims_needing_person",
    "file_counts",
    "night_status",
    "read_night",
    "record_night",
    "render_status",
]

LAST_NIGHT = "last-night.json"


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
    """Each claim once, in its latest version's state; plus ``sent`` (ever submitted),
    ``awaiting_acknowledgment`` (``submitted``), ``paid_any`` (paid in full or in part) and
    ``other`` (the later states: reversed, appeals, closed, written off, resubmitted).

    ``awaiting_acknowledgment + accepted + rejected + paid_any + denied + other == sent``:
    the summaries, the artifacts and ``claimflow status`` all show these numbers.
    """
    every = ledger.claims_by_state(*ClaimState)
    states = Counter(c.state.value for c in every)
    unsent = states[ClaimState.READY] + states[ClaimState.SCRUB_FAILED]
    counts = {s.value: states[s] for s in ClaimState}
    counts["sent"] = len(every) - unsent
    counts["awaiting_acknowledgment"] = states[ClaimState.SUBMITTED]
    counts["paid_any"] = states[ClaimState.PAID] + states[ClaimState.PARTIALLY_PAID]
    counts["other"] = counts["sent"] - sum(
        states[s]
        for s in (
            ClaimState.SUBMITTED,
            ClaimState.ACCEPTED,
            ClaimState.REJECTED,
            ClaimState.PAID,
            ClaimState.PARTIALLY_PAID,
            ClaimState.DENIED,
        )
    )
    return counts


def file_counts(ledger: Ledger) -> dict[str, int]:
    """Totals so far: eligibility answers, 835 files posted, files quarantined."""
    posted = ledger.files_by_state(
        FileState.POSTED, direction=Direction.RECEIVED, with_controls=False
    )
    return {
        "eligibility_answers": ledger.eligibility_answered(),
        "remittances_posted": sum(1 for f in posted if f.transaction_type == "835"),
        "quarantined": len(ledger.files_by_state(FileState.QUARANTINED, with_controls=False)),
    }


def claims_needing_person(counts: dict[str, int]) -> list[str]:
    """Work items from :func:`claim_counts`: claims a person must correct before they can go."""
    lines = []
    if counts.get("rejected"):
        lines.append(f"{counts['rejected']} claim(s) rejected: correct and resubmit")
    if counts.get("scrub_failed"):
        lines.append(f"{counts['scrub_failed']} claim(s) held by the scrubber: fix and rebill")
    return lines


def record_night(
    workspace: Workspace,
    *,
    state: str,
    on: date,
    message: str,
    facts: dict[str, Any],
    needs_person: list[str],
) -> Path:
    """Write the night's result atomically, readable by its owner only."""
    path = workspace.base / LAST_NIGHT
    record = {
        "business_date": on.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "state": state,
        "message": message,
        "facts": facts,
        "needs_person": needs_person,
    }
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(record, out, indent=2, default=str)
    tmp.replace(path)
    return path


def read_night(workspace: Workspace) -> dict[str, Any] | None:
    """The last night's result, or None before the first night (or if unreadable)."""
    try:
        data = json.loads((workspace.base / LAST_NIGHT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def night_status(ledger: Ledger, workspace: Workspace) -> dict[str, Any]:
    """``claimflow status``: claims by state, files waiting or quarantined, what needs a person
    and the last night's result — the same counts as the nightly summary."""
    counts = claim_counts(ledger)
    by_state = {s.value: counts[s.value] for s in ClaimState if counts[s.value]}
    received = ledger.files_by_state(
        FileState.RECEIVED, FileState.PARSED, direction=Direction.RECEIVED, with_controls=False
    )
    quarantined = ledger.files_by_state(FileState.QUARANTINED, with_controls=False)
    pending = ledger.pending_uploads()
    last = read_night(workspace)
    needs = claims_needing_person(counts)
    needs += [f"{f.names[0]}: quarantined ({f.quarantine_reason or 'see its reason file'})"
              for f in quarantined]  # fmt: skip
    if last and last.get("state") not in ("Completed", None):
        needs += [f"last night ({last.get('business_date')}): {last.get('message')}"]
    return {
        "workspace": str(workspace.base),
        "claims": {
            "by_state": by_state,
            "sent": counts["sent"],
            "awaiting_acknowledgment": counts["awaiting_acknowledgment"],
            "accepted": counts["accepted"],
            "rejected": counts["rejected"],
            "paid": counts["paid_any"],
            "denied": counts["denied"],
            "later_states": counts["other"],
            "held_by_scrubber": counts["scrub_failed"],
        },
        "files": {
            "waiting_to_post": len(received),
            "waiting_to_upload": len(pending),
            "quarantined": len(quarantined),
        },
        "needs_person": needs,
        "last_night": last,
    }


def render_status(status: dict[str, Any]) -> str:
    """The human form: a few aligned lines."""
    claims, files, last = status["claims"], status["files"], status["last_night"]
    states = ", ".join(f"{k} {v}" for k, v in claims["by_state"].items()) or "none"
    lines = [
        f"workspace        {status['workspace']}",
        f"claims           {states}",
        f"                 sent {claims['sent']}: awaiting acknowledgment "
        f"{claims['awaiting_acknowledgment']}, accepted {claims['accepted']}, rejected "
        f"{claims['rejected']}, paid {claims['paid']}, denied {claims['denied']}, later states "
        f"{claims['later_states']}",
        f"files            waiting to post {files['waiting_to_post']}, waiting to upload "
        f"{files['waiting_to_upload']}, quarantined {files['quarantined']}",
    ]
    if last:
        lines.append(
            f"last night       {last.get('business_date')}: {last.get('state')} — "
            f"{last.get('message')}"
        )
    else:
        lines.append("last night       none recorded")
    lines.append("needs a person" + ("" if status["needs_person"] else "   nothing"))
    lines += [f"  - {line}" for line in status["needs_person"]]
    return "\n".join(lines)
