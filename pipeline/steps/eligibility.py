"""271 -> the ledger's eligibility checks: one summary row per answered trace (TRN02)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from pipeline.benchnight import stage
from pipeline.errors import ClaimflowError
from pipeline.ledger import Ledger
from pipeline.steps.files import ELIGIBILITY, local_path, quarantine, waiting
from pipeline.steps.summaries import EligibilityResult
from pipeline.steps.workspace import Workspace

__all__ = ["eligibility_table", "process_eligibility", "summary_rows"]


def process_eligibility(ledger: Ledger, workspace: Workspace) -> EligibilityResult:
    summary = EligibilityResult()
    statuses: Counter[str] = Counter()
    for record in waiting(ledger, ELIGIBILITY):
        try:
            with stage("parse"):
                rows = summary_rows(local_path(record), record.names[0])
        except (ClaimflowError, OSError) as exc:
            reason = " ".join(str(exc).split())
            summary.attention.append(quarantine(ledger, workspace, record, reason))
            continue
        with stage("ledger: 271s"):
            answers = []
            for row in rows:
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


def summary_rows(path: Path, name: str) -> list[dict[str, Any]]:
    """The ``eligibility_summary`` rows of a 271, as ``parse_file`` tables them, read in one
    streaming pass that keeps no benefit rows: those are most of a 271 (15 per answer in the
    demo) and the ledger keeps only the summary. The whole file is read before anything is
    posted, so an unreadable file records nothing."""
    from pipeline.parse import iter_records
    from pipeline.parse.t271 import EligibilitySummary
    from pipeline.parse.tables import TableBuilder
    from pipeline.reconcile.inputs import records

    builder = TableBuilder()
    builder.add_all(r for r in iter_records(path, name=name) if type(r) is EligibilitySummary)
    return records(builder.frames(["eligibility_summary"])["eligibility_summary"])


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
