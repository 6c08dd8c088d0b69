"""One night at a time: two real processes on one workspace never interleave; the second is
refused with one line and exit 1, and a killed holder never leaves the workspace locked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from pipeline.errors import WorkspaceBusy
from pipeline.lock import LOCK_NAME, workspace_lock

ROOT = Path(__file__).resolve().parents[2]

HOLD = """
import sys, time
from pathlib import Path
from pipeline.lock import workspace_lock
with workspace_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(600)
"""


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the workspace's lock (as a running night does)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def _claimflow(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMFLOW_")}
    env["CLAIMFLOW_HOME"] = str(home)
    return subprocess.run(
        [str(Path(sys.executable).with_name("claimflow")), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_second_run_on_a_busy_workspace_exits_1_with_one_line(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    for args in (("run", "claims", "--date", "2026-11-27"), ("nightly", "--date", "2026-11-27")):
        second = _claimflow(*args, home=tmp_path)
        assert second.returncode == 1, second.stderr
        lines = second.stderr.strip().splitlines()
        assert lines == [
            f"claimflow: {tmp_path}: another claimflow run (pid {holder.pid}) is working in "
            "this workspace; try again when it has finished"
        ]
    assert not (tmp_path / "ledger.db").exists()  # refused before touching anything
    assert not (tmp_path / "last-night.json").exists()


def test_a_period_report_beside_a_running_night_exits_1_with_one_line(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    """Reconciling records flags and cases in the ledger: it waits for the night like a run."""
    second = _claimflow("report", "--from", "2026-11-01", "--to", "2026-11-30", home=tmp_path)
    assert second.returncode == 1, second.stderr
    assert second.stderr.strip().splitlines() == [
        f"claimflow: {tmp_path}: another claimflow run (pid {holder.pid}) is working in "
        "this workspace; try again when it has finished"
    ]
    assert not (tmp_path / "ledger.db").exists() and not (tmp_path / "periods").exists()


def test_a_killed_run_leaves_no_stale_lock(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    with pytest.raises(WorkspaceBusy, match=f"pid {holder.pid}"):
        with workspace_lock(tmp_path):
            pass
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    assert (tmp_path / LOCK_NAME).exists()  # the file stays; the OS dropped the lock with it
    with workspace_lock(tmp_path) as path:
        assert path.read_text().strip() == str(os.getpid())
        assert (path.stat().st_mode & 0o777) == 0o600


def test_the_lock_is_reentrant_in_one_process_and_released_after(tmp_path: Path) -> None:
    with workspace_lock(tmp_path), workspace_lock(tmp_path):  # the nightly and its subflows
        busy = subprocess.run(
            [sys.executable, "-c", HOLD, str(tmp_path)], cwd=ROOT, capture_output=True, text=True
        )
        assert busy.returncode == 1 and "WorkspaceBusy" in busy.stderr
        refused: list[BaseException] = []

        def other_thread() -> None:
            try:
                with workspace_lock(tmp_path):
                    pass
            except WorkspaceBusy as exc:
                refused.append(exc)

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        assert len(refused) == 1  # a second run in another thread of this process
    with workspace_lock(tmp_path):  # released when the outermost block ends
        pass


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_api")
def test_a_flow_started_on_a_busy_workspace_ends_failed_touching_nothing(
    tmp_path: Path, holder: subprocess.Popen[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As ``claimflow serve`` would start it: the flow itself takes the lock."""
    from flows.nightly import nightly
    from pipeline.settings import get_settings

    monkeypatch.setenv("CLAIMFLOW_HOME", str(tmp_path))
    monkeypatch.delenv("CLAIMFLOW_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        state = nightly(on=date(2026, 11, 27), return_state=True)
    finally:
        get_settings.cache_clear()
    assert state.is_failed() and f"pid {holder.pid}" in state.message
    assert not (tmp_path / "ledger.db").exists()
    assert not (tmp_path / "last-night.json").exists()
