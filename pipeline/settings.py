"""Settings from the environment (``CLAIMFLOW_*``); secrets are ``SecretStr`` and never logged.

Nothing secret is ever a flow parameter: flows read :func:`get_settings` at run time.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]

ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLAIMFLOW_", extra="ignore")

    home: Path = Path(".claimflow")
    """Working folder: ledger, control numbers, quarantine, downloaded files."""
    database_url: str | None = None
    """Any SQLAlchemy URL; default ``sqlite:///<home>/ledger.db``."""
    mappings_dir: Path = ROOT / "mappings"
    practice_dir: Path = ROOT / "sample_edi" / "practice"
    clearinghouse: str = "embedded"
    """Profile name in ``mappings/clearinghouses/<name>.yaml``."""
    sftp_key_passphrase: SecretStr | None = None
    realtime_username: str | None = None
    """User name for the clearinghouse's real-time (CORE) endpoint (WS-Security)."""
    realtime_password: SecretStr | None = None
    timezone: str = "America/New_York"
    nightly_cron: str = "0 2 * * *"
    underpaid_threshold_amount: Decimal = Decimal("5.00")
    underpaid_threshold_percent: Decimal = Decimal("3")
    dask_address: str | None = None
    """A Dask scheduler (``tcp://host:8786``): the flows' tasks and the CPU-heavy pipeline work
    (validation and parsing, split by transaction set or file) run on its workers."""
    workers: int = 1
    """``claimflow demo``/``nightly``/``run`` without ``dask_address``: more than 1 starts a
    local Dask cluster of that many worker processes for the run (``--workers``)."""

    @property
    def ledger_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'ledger.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
