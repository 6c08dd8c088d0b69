"""What a flow run needs, from settings and its parameters (never secrets): no Prefect here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline.build.codes import CodeSets, load_code_sets
from pipeline.errors import ConfigError
from pipeline.ledger import Ledger
from pipeline.practice import Practice, load_practice
from pipeline.settings import get_settings
from pipeline.steps import Workspace
from pipeline.transport import ClearinghouseProfile, Transport, load_profile, open_transport

__all__ = ["Run", "business_date", "make_run", "parse_stamp"]


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

    def practice(self) -> Practice:
        return load_practice(self.practice_dir).practice

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
