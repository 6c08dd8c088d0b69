"""Where a run keeps its files: one base folder, the same layout for the demo and the nightly."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.settings import Settings, get_settings

__all__ = ["Workspace"]


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
        """Create the folders (idempotent)."""
        for folder in (self.sent_dir, self.received_dir, self.quarantine_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return self
