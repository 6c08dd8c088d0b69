"""The nightly job's steps, without Prefect: each takes its parts explicitly and returns a summary.

    ws = Workspace(Path("out")).ensure()
    with Ledger(ws.ledger_url) as ledger, open_transport(profile) as transport:
        send_eligibility(ledger, transport, practice, ws, profile, on=day)
        send_claims(ledger, transport, practice, ws, profile, on=day, codes=codes)
        collect(ledger, transport, ws)
        process_acknowledgments(ledger, ws); process_eligibility(ledger, ws)
        post_remittances(ledger, ws)
        stage_claim_status(ledger, practice, ws, profile, on=day); upload_pending(...)  # 276s
        reconcile_and_export(ledger, practice, ws, on=day)

Every step is safe to run again: the ledger knows what was sent (outbox), received (SHA-256)
and posted (events naming file and segment). ``flows/`` wraps these in Prefect tasks; a bad
file is quarantined (``attention`` says which and why) and the rest goes on.
"""

from pipeline.steps.acknowledgments import process_acknowledgments
from pipeline.steps.claim_status import claims_needing_status, stage_claim_status
from pipeline.steps.collect import collect
from pipeline.steps.eligibility import process_eligibility
from pipeline.steps.outbound import (
    envelope_time,
    send_claims,
    send_eligibility,
    stage_claims,
    stage_eligibility,
    upload_pending,
)
from pipeline.steps.reconciling import reconcile_and_export, submitted_claims
from pipeline.steps.remittance import (
    combine_tables,
    parse_return_file,
    post_remittance,
    post_remittances,
    remittances_waiting,
)
from pipeline.steps.status import (
    awaiting,
    claim_counts,
    claims_needing_person,
    file_counts,
    read_night,
    record_night,
)
from pipeline.steps.summaries import (
    AckSummary,
    Awaiting,
    CollectSummary,
    EligibilityResult,
    ReconcileSummary,
    RemitSummary,
    SendSummary,
    UploadSummary,
)
from pipeline.steps.workspace import Workspace

__all__ = [
    "AckSummary",
    "Awaiting",
    "CollectSummary",
    "EligibilityResult",
    "ReconcileSummary",
    "RemitSummary",
    "SendSummary",
    "UploadSummary",
    "Workspace",
    "awaiting",
    "claim_counts",
    "claims_needing_person",
    "claims_needing_status",
    "collect",
    "combine_tables",
    "envelope_time",
    "file_counts",
    "parse_return_file",
    "post_remittance",
    "post_remittances",
    "process_acknowledgments",
    "process_eligibility",
    "read_night",
    "reconcile_and_export",
    "record_night",
    "remittances_waiting",
    "send_claims",
    "send_eligibility",
    "stage_claim_status",
    "stage_claims",
    "stage_eligibility",
    "submitted_claims",
    "upload_pending",
]
