"""Received files by kind, and setting one aside (quarantine) without stopping the rest."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

from pipeline.ledger import Direction, FileRecord, FileState, Ledger
from pipeline.steps.workspace import Workspace
from pipeline.transport.base import fitted_name

__all__ = [
    "ACKNOWLEDGMENT",
    "ELIGIBILITY",
    "KNOWN",
    "REMITTANCE",
    "arrival_order",
    "quarantine",
    "waiting",
]

# The ledger stores ST01 (``277`` for a 277CA) or ``TA1`` for a bare TA1 interchange.
ACKNOWLEDGMENT = frozenset({"TA1", "999", "277"})
ELIGIBILITY = frozenset({"271"})
REMITTANCE = frozenset({"835"})
KNOWN = ACKNOWLEDGMENT | ELIGIBILITY | REMITTANCE


def waiting(ledger: Ledger, kinds: frozenset[str]) -> list[FileRecord]:
    """Received files of these kinds not processed yet, in arrival order."""
    return arrival_order(
        f
        for f in ledger.files_by_state(
            FileState.RECEIVED, direction=Direction.RECEIVED, with_controls=False
        )
        if (f.transaction_type or "") in kinds
    )


def arrival_order(files: Iterable[FileRecord]) -> list[FileRecord]:
    """Files in the order their sender numbered them (ISA13), then as registered.

    Downloads follow the server's listing, by modification time in whole seconds and then by
    name: files written in the same batch fall either side of a second at random, so the
    registration order (and every table posted in it) changed from run to run. The
    interchange control number is the sender's own sequence.
    """
    return sorted(files, key=lambda f: (_sequence(f.isa13), f.id))


def _sequence(isa13: str | None) -> int:
    text = (isa13 or "").strip()
    return int(text) if text.isdigit() else 10**9  # unnumbered: after the numbered, as came


def quarantine(ledger: Ledger, workspace: Workspace, record: FileRecord, reason: str) -> str:
    """Set the file aside in the ledger and copy it to ``quarantine/`` with its reason.

    Returns the one line for ``attention`` (file id, name, reason: what the ops engineer reads).
    """
    name = record.names[0] if record.names else f"file-{record.id}"
    line = f"file {record.id} ({name}) quarantined: {reason}"
    ledger.quarantine(record.id, reason)
    workspace.quarantine_dir.mkdir(parents=True, exist_ok=True)
    if record.local_path and Path(record.local_path).exists():
        shutil.copyfile(record.local_path, workspace.quarantine_dir / name)
    reason_file = workspace.quarantine_dir / fitted_name(name, suffix=".reason.txt")
    reason_file.write_text(line + "\n", encoding="utf-8")
    return line


def local_path(record: FileRecord) -> Path:
    if not record.local_path:
        raise FileNotFoundError(f"file {record.id}: no local copy recorded")
    return Path(record.local_path)
