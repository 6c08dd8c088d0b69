"""Outputs holding PHI are owner-only (files 0600, folders 0700) whatever the caller's umask."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.steps.workspace import Workspace, keep_private

ROOT = Path(__file__).resolve().parents[1]
# Not PHI, readable on purpose (sftpd.ensure_keys): the client's public key and the pin.
PUBLIC = {"client_ed25519.pub", "known_hosts"}


@pytest.fixture
def loose_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _loose(base: Path) -> list[str]:
    """Every path under ``base`` that group or others can read, write or enter."""
    out = []
    for path in [base, *base.rglob("*")]:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode) or path.name in PUBLIC:
            continue
        if stat.S_IMODE(mode) & 0o077:
            out.append(f"{path.relative_to(base.parent)} {stat.S_IMODE(mode):o}")
    return out


def test_workspace_folders_and_new_files_are_owner_only(tmp_path: Path, loose_umask: None) -> None:
    (tmp_path / "ws" / "exports").mkdir(parents=True, mode=0o755)  # an older, open run
    ws = Workspace(tmp_path / "ws").ensure()
    for folder in (ws.sent_dir, ws.received_dir, ws.quarantine_dir, ws.exports_dir, ws.letters_dir):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    ws.report_path.write_text("<html/>")
    (ws.letters_dir / "sub").mkdir()
    assert stat.S_IMODE(ws.report_path.stat().st_mode) == 0o600
    assert stat.S_IMODE((ws.letters_dir / "sub").stat().st_mode) == 0o700


def test_keep_private_only_tightens(loose_umask: None) -> None:
    os.umask(0o277)
    assert keep_private() == 0o277
    assert os.umask(0o022) == 0o277


def test_demo_under_umask_022_leaves_nothing_open(tmp_path: Path) -> None:
    """The whole night (ledger.db, edi/sent and received, quarantine, exports, claimflow.xlsx,
    letters, report.html, the simulator's world, Prefect's home and database) under a umask
    that would make them world-readable."""
    out = tmp_path / "demo"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CLAIMFLOW_", "PREFECT_")) and k != "DO_NOT_TRACK"
    }
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "demo", "--out", str(out)],
        capture_output=True, text=True, timeout=290, cwd=ROOT, env=env,
        preexec_fn=lambda: os.umask(0o022),  # the caller's loose umask
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    for made in ("ledger.db", "report.html", "exports/claimflow.xlsx", "edi/sent", "quarantine"):
        assert (out / made).exists(), made
    assert any((out / "letters").iterdir())
    assert (out / ".prefect" / "prefect.db").exists()  # the ephemeral server's database
    assert _loose(out) == []
