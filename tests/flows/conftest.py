"""Fixtures: an embedded clearinghouse on loopback, a workspace, and the parts the steps take."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path

import pytest

from pipeline.build.codes import CodeSets, load_code_sets
from pipeline.clearinghouse import Clearinghouse, Faults
from pipeline.ledger import Ledger
from pipeline.practice import Practice, load_practice
from pipeline.settings import get_settings
from pipeline.steps import Workspace
from pipeline.transport import ClearinghouseProfile, load_profile

ROOT = Path(__file__).resolve().parents[2]
PRACTICE = ROOT / "sample_edi" / "practice"
ON = date(2026, 11, 27)
AT = time(2, 0)


@dataclass
class World:
    """A running simulator, a workspace and the profile that reaches it."""

    clearinghouse: Clearinghouse
    workspace: Workspace
    profile: ClearinghouseProfile
    profile_path: Path

    @property
    def sftp(self) -> Path:
        return self.clearinghouse.root / "sftp"

    def remote(self, folder: str) -> list[str]:
        """File names in a server folder (``outbound``, ``inbound``, ``archive``)."""
        path = self.sftp / folder
        return sorted(p.name for p in path.iterdir() if p.is_file()) if path.exists() else []

    def ledger(self) -> Ledger:
        return Ledger(self.workspace.ledger_url)


@pytest.fixture(scope="session")
def practice() -> Practice:
    if not (PRACTICE / "encounters.csv").exists():
        pytest.skip("sample_edi/practice is not present")
    return load_practice(PRACTICE).practice


@pytest.fixture(scope="session")
def codes() -> CodeSets:
    return load_code_sets(get_settings().mappings_dir)


def start_world(base: Path, faults: Faults | None = None) -> Iterator[World]:
    from flows.commands import write_embedded_profile

    with Clearinghouse(base / "clearinghouse", seed=7, practice=PRACTICE, faults=faults) as ch:
        profile_path = write_embedded_profile(base / "embedded-profile.yaml", ch.root, ch.port)
        yield World(ch, Workspace(base).ensure(), load_profile(profile_path), profile_path)


@pytest.fixture
def world(tmp_path: Path, practice: Practice) -> Iterator[World]:
    yield from start_world(tmp_path)


@pytest.fixture
def settings_for(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Point the settings (what flows read) at a world; restored afterwards."""

    def point(w: World) -> None:
        monkeypatch.setenv("CLAIMFLOW_HOME", str(w.workspace.base))
        monkeypatch.setenv("CLAIMFLOW_DATABASE_URL", w.workspace.ledger_url)
        monkeypatch.setenv("CLAIMFLOW_PRACTICE_DIR", str(PRACTICE))
        monkeypatch.setenv("CLAIMFLOW_CLEARINGHOUSE", str(w.profile_path))
        get_settings.cache_clear()

    yield point
    get_settings.cache_clear()
