"""Where a run keeps its files: one base folder, the same layout for the demo and the nightly.

Everything under it may hold PHI (the ledger, sent and received X12, quarantine, exports,
letters, the report, Prefect's home), so it is owner-only whatever the umask:
:meth:`Workspace.ensure` makes its folders 0700 and :func:`keep_private` makes every file and
folder this process creates from then on 0600 / 0700 (the CLI calls it first thing; flow runs
through ``ensure``). Files from older runs are protected by their 0700 folders.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pipeline.settings import Settings, get_settings

__all__ = ["PRIVATE_UMASK", "Workspace", "keep_private"]

PRIVATE_UMASK = 0o077
"""No access for group and others: new files 0600, new folders 0700."""


def keep_private() -> int:
    """Tighten this process's umask to at least :data:`PRIVATE_UMASK`; returns the old one.

    Process-wide on purpose: SQLite, pandas, openpyxl, Jinja output and Prefect's own server
    (a child process, which inherits it) all create files; one umask covers every writer.
    """
    old = os.umask(PRIVATE_UMASK)
    os.umask(old | PRIVATE_UMASK)
    return old


@dataclass(frozen=True)
class Workspace:
    """Paths under ``base`` (DESIGN.md § What the demo leaves) and the ledger URL.

    ``edi/sent`` keeps a copy of every file uploaded, ``edi/received`` every file downloaded,
    ``quarantine`` a copy of every file set aside with its reason beside it.
    """

    base: Path
    database_url: str | None = None
    """Any SQLAlchemy URL; default ``sqlite:///<base>/ledger.db``."""

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Workspace:
        s = settings or get_settings()
        return cls(Path(s.home).resolve(), s.database_url)

    @property
    def ledger_url(self) -> str:
        return self.database_url or f"sqlite:///{self.base / 'ledger.db'}"

    @property
    def sent_dir(self) -> Path:
        return self.base / "edi" / "sent"

    @property
    def received_dir(self) -> Path:
        return self.base / "edi" / "received"

    @property
    def quarantine_dir(self) -> Path:
        return self.base / "quarantine"

    @property
    def outgoing_dir(self) -> Path:
        """Files being built and validated, before the ledger stages them (then ``edi/sent``)."""
        return self.base / ".outgoing"

    @property
    def exports_dir(self) -> Path:
        return self.base / "exports"

    @property
    def letters_dir(self) -> Path:
        return self.base / "letters"

    @property
    def report_path(self) -> Path:
        return self.base / "report.html"

    def ensure(self) -> Workspace:
        """Create the folders owner-only (idempotent); new files are owner-only from now on."""
        keep_private()
        if not self.base.exists():
            self.base.mkdir(parents=True, mode=0o700)
        for folder in (
            self.base / "edi",
            self.sent_dir,
            self.received_dir,
            self.quarantine_dir,
            self.exports_dir,
            self.letters_dir,
        ):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(folder, 0o700)  # ours: tighten folders an older run left open
        return self
