"""What a flow run needs, from settings and its parameters (never secrets): no Prefect here."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline.build.codes import CodeSets, load_code_sets
from pipeline.errors import ConfigError
from pipeline.ledger import Ledger
from pipeline.practice import Practice, PracticeCache
from pipeline.settings import get_settings
from pipeline.steps import Workspace
from pipeline.transport import ClearinghouseProfile, Transport, load_profile, open_transport

__all__ = [
    "PRACTICES",
    "PREFECT_STARTUP",
    "Run",
    "business_date",
    "make_run",
    "parse_stamp",
    "prefect_environment",
]

PREFECT_STARTUP = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",  # a busy machine starts slowly
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_LOGGING_LEVEL": "WARNING",
}
"""Prefect's start-up settings for ``claimflow demo`` and ``claimflow run`` (besides its home)."""


def prefect_environment(home: Path) -> dict[str, str]:
    """Set :data:`PREFECT_STARTUP` and ``PREFECT_HOME=<home>/.prefect`` where the user has not.

    Call before Prefect is imported (it reads them once). The Prefect home (its database when
    no server is configured) holds flow parameters and results, so it lives in the workspace,
    created owner-only. Returns what is now in effect.
    """
    import os

    prefect_home = home / ".prefect"
    defaults = {"PREFECT_HOME": str(prefect_home), **PREFECT_STARTUP}
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    if os.environ["PREFECT_HOME"] == str(prefect_home):
        prefect_home.mkdir(parents=True, exist_ok=True, mode=0o700)
    return {key: os.environ[key] for key in defaults}


def business_date(on: date | None) -> date:
    """``on``, or today in the configured timezone."""
    return on or datetime.now(ZoneInfo(get_settings().timezone)).date()


def parse_stamp(text: str | None) -> time | None:
    if not text:
        return None
    try:
        return time.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(f"stamp_time {text!r}: use HH:MM") from exc


PRACTICES = PracticeCache()
"""The practice loaded in this process (the nightly's tasks share it; read-only)."""


@dataclass(frozen=True)
class Run:
    """One flow run's parts: the business date, the workspace, the profile and practice."""

    on: date
    workspace: Workspace
    clearinghouse: str
    practice_dir: Path
    stamp: time | None = None

    def ledger(self) -> Ledger:
        return Ledger(self.workspace.ledger_url)

    def profile(self) -> ClearinghouseProfile:
        return load_profile(self.clearinghouse)

    @contextmanager
    def transport(self) -> Iterator[Transport]:
        transport = open_transport(self.profile())
        try:
            yield transport
        finally:
            transport.close()

    @contextmanager
    def fan_out(self) -> Iterator[Executor | None]:
        """Where the pipeline's split work runs (a big 271 read in pieces): the workers of the
        Dask cluster at ``CLAIMFLOW_DASK_ADDRESS``, else nowhere else (``None``: here)."""
        address = get_settings().dask_address
        if not address:
            yield None
            return
        from distributed import Client

        with Client(address, set_as_default=False) as client:  # type: ignore[no-untyped-call]
            yield client.get_executor()

    def practice(self) -> Practice:
        """The practice export, read once per night: every task of a night asks for the same
        folder, so it is loaded again only when its files change (:data:`PRACTICES`)."""
        return PRACTICES.load(self.practice_dir).practice

    def take_practice(self) -> Practice:
        """The practice, no longer kept by :data:`PRACTICES` (for the night's last step: what
        it lets go of is freed; the next run reads the export again)."""
        return PRACTICES.take(self.practice_dir).practice

    def codes(self) -> CodeSets:
        return load_code_sets(get_settings().mappings_dir)


def make_run(on: date | None, clearinghouse: str | None, stamp_time: str | None = None) -> Run:
    settings = get_settings()
    workspace = Workspace.from_settings(settings).ensure()
    return Run(
        on=business_date(on),
        workspace=workspace,
        clearinghouse=clearinghouse or settings.clearinghouse,
        practice_dir=Path(settings.practice_dir),
        stamp=parse_stamp(stamp_time),
    )
