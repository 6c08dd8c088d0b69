"""``claimflow status`` through the real CLI on a workspace (no Prefect, no SQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from pipeline.ledger import Ledger
from pipeline.steps import Workspace, record_night

ROOT = Path(__file__).resolve().parents[2]


def _status(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMFLOW_")}
    return subprocess.run(
        [str(Path(sys.executable).with_name("claimflow")), "status", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_status_of_a_workspace_without_a_ledger_is_one_line_exit_2(tmp_path: Path) -> None:
    done = _status("--workspace", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"claimflow: error: {tmp_path}: no ledger.db here (no night has run in this workspace)"
    ]


def test_status_shows_last_nights_result_and_what_needs_a_person(tmp_path: Path) -> None:
    ws = Workspace(tmp_path).ensure()
    with Ledger(ws.ledger_url):
        pass  # an empty ledger: no claims yet
    record_night(
        ws,
        state="Failed",
        on=date(2026, 11, 27),
        message="nightly 2026-11-27 needs a person: claims failed: connect refused",
        facts={"result": "failed during claims"},
        needs_person=["claims failed: connect refused"],
    )
    assert ((tmp_path / "last-night.json").stat().st_mode & 0o777) == 0o600
    text = _status("--workspace", str(tmp_path))
    assert text.returncode == 0, text.stderr
    assert "claims           none" in text.stdout
    assert "last night       2026-11-27: Failed" in text.stdout
    assert "  - last night (2026-11-27): nightly 2026-11-27 needs a person" in text.stdout
    data = json.loads(_status("--json", "--workspace", str(tmp_path)).stdout)
    assert data["claims"]["sent"] == 0 and data["files"]["quarantined"] == 0
    assert data["last_night"]["state"] == "Failed"
