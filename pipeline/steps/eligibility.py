"""271 -> the ledger's eligibility checks: one summary row per answered trace (TRN02)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from pipeline.benchnight import stage
from pipeline.errors import ClaimflowError
from pipeline.ledger import Ledger
from pipeline.steps.files import ELIGIBILITY, local_path, quarantine, waiting
from pipeline.steps.summaries import EligibilityResult
from pipeline.steps.workspace import Workspace

__all__ = ["eligibility_table", "process_eligibility"]


def process_eligibility(ledger: Ledger, workspace: Workspace) -> EligibilityResult:
    from pipeline.parse import parse_file
    from pipeline.reconcile.inputs import records

    summary = EligibilityResult()
    statuses: Counter[str] = Counter()
    for record in waiting(ledger, ELIGIBILITY):
        try:
            with stage("parse"):
                parsed = parse_file(local_path(record), name=record.names[0])
        except (ClaimflowError, OSError) as exc:
            reason = " ".join(str(exc).split())
            summary.attention.append(quarantine(ledger, workspace, record, reason))
            continue
        with stage("ledger: 271s"):
            answers = []
            for row in records(parsed.tables.get("eligibility_summary")):
                trace = str(row.get("trace_number") or "")
                if not trace:
                    continue
                answers.append((trace, row))
                statuses[str(row.get("coverage_status") or "unknown")] += 1
                summary.responses += 1
            ledger.record_eligibility_responses(answers, file_id=record.id)  # one transaction
            ledger.mark_parsed(record.id)
            ledger.mark_posted(record.id)
        summary.files += 1
    summary.by_status = dict(sorted(statuses.items()))
    return summary


def eligibility_table(ledger: Ledger) -> list[dict[str, Any]]:
    """The ``eligibility_summary`` row of every answered inquiry (for reconciliation), with
    the patient, payer and date it was asked about (``patient_id``, ``payer_id``,
    ``service_date``: what patient estimates join on)."""
    return [
        dict(c.summary)
        | {"patient_id": c.patient_id, "payer_id": c.payer_id or "", "service_date": c.service_date}
        for c in ledger.eligibility_checks()
        if c.summary
    ]
