"""Collect: list the inbound folder, download, register in the ledger, only then archive.

Files the ledger has seen before (same SHA-256) are registered as seen again and not processed
twice. A file whose envelope names no transaction this pipeline reads is quarantined at once.
"""

from __future__ import annotations

from typing import Literal

from pipeline.benchnight import stage
from pipeline.ledger import Ledger
from pipeline.steps.files import KNOWN, quarantine
from pipeline.steps.summaries import CollectSummary
from pipeline.steps.workspace import Workspace
from pipeline.transport import DownloadResult, Transport, receive

__all__ = ["collect"]


def collect(
    ledger: Ledger,
    transport: Transport,
    workspace: Workspace,
    *,
    after: Literal["archive", "delete", "keep"] = "archive",
) -> CollectSummary:
    """Everything waiting in the inbound folder, downloaded into ``edi/received``."""
    summary = CollectSummary()
    workspace.received_dir.mkdir(parents=True, exist_ok=True)

    def register(download: DownloadResult) -> None:
        record = ledger.register_received(download.path, download.name)
        if record.is_duplicate:
            summary.duplicates.append(download.name)
            return
        summary.received.append(download.name)
        if (record.transaction_type or "") not in KNOWN:
            what = record.transaction_type or "no readable X12 transaction"
            summary.attention.append(
                quarantine(ledger, workspace, record, f"{what}: not a return file claimflow reads")
            )

    with stage("download"):
        _, refused = receive(transport, workspace.received_dir, register, after=after)
    for name, exc in refused:
        summary.refused.append(name)
        summary.attention.append(f"inbound file {name!r} refused: {exc}")
    return summary
