"""``clearinghouse serve --write-profile FILE`` then ``run --clearinghouse FILE``: the profile the
simulator writes reaches it (host, port, user, key, pinned host key), through the real CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.clearinghouse.sftpd import known_hosts_line
from pipeline.transport import load_profile, open_transport

ROOT = Path(__file__).resolve().parents[2]
PRACTICE = ROOT / "sample_edi" / "practice"


def cli_env(**extra: str) -> dict[str, str]:
    """This environment without claimflow's own settings (Prefect's API URL kept if set)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMFLOW_")}
    return {**env, "CLAIMFLOW_PRACTICE_DIR": str(PRACTICE), **extra}


def start_simulator(root: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "clearinghouse", "serve", "--root", str(root), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=cli_env(),
    )  # fmt: skip


def wait_for(path: Path, proc: subprocess.Popen[str], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"simulator exited {proc.returncode}: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} not written in {seconds} s")
        time.sleep(0.1)


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    profile = tmp_path / "elsewhere" / "sim.yaml"
    proc = start_simulator(tmp_path / "sim", "--write-profile", str(profile))
    try:
        wait_for(profile, proc)
        yield profile, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def test_written_profile_pins_the_running_simulator(
    simulator: tuple[Path, subprocess.Popen[str]], tmp_path: Path
) -> None:
    path, _proc = simulator
    assert path.stat().st_mode & 0o777 == 0o600
    profile = load_profile(path, base_dir=tmp_path / "nowhere")  # absolute paths: no base needed
    keys = tmp_path / "sim" / "keys"
    assert (profile.host, profile.user, profile.protocol) == ("127.0.0.1", "claimflow", "sftp")
    assert profile.port > 0
    assert profile.key_path == keys / "client_ed25519"
    assert profile.known_hosts_path == keys / "known_hosts"
    pinned = profile.known_hosts_path.read_text()
    assert pinned == known_hosts_line(keys / "host_ed25519", "127.0.0.1", profile.port)
    transport = open_transport(profile)  # pinned host key, client key: it connects
    try:
        assert transport.list() == []
    finally:
        transport.close()


def test_run_with_clearinghouse_file_reaches_the_simulator(
    simulator: tuple[Path, subprocess.Popen[str]], tmp_path: Path
) -> None:
    path, _proc = simulator
    workspace = tmp_path / "workspace"
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", "eligibility", "--date", "2026-11-27",
         "--clearinghouse", os.path.relpath(path, ROOT)],
        capture_output=True, text=True, timeout=280, cwd=ROOT,
        env=cli_env(CLAIMFLOW_HOME=str(workspace), CLAIMFLOW_CLEARINGHOUSE="nosuch"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    sent = [p.name for p in (workspace / "edi" / "sent").iterdir()]
    assert [n[:3] for n in sent] == ["270"]
    assert (tmp_path / "sim" / "sftp" / "outbound" / sent[0]).exists()
    received = [p.name for p in (workspace / "edi" / "received").iterdir()]
    assert [n[:3] for n in received] == ["271"]
    assert "still awaited                  0" in done.stdout, done.stdout


def test_realtime_check_with_clearinghouse_file_reaches_the_simulator(
    simulator: tuple[Path, subprocess.Popen[str]], tmp_path: Path
) -> None:
    """The written profile carries the real-time endpoint and its pinned certificate too."""
    path, _proc = simulator
    password = (tmp_path / "sim" / "keys" / "realtime_password").read_text().strip()
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "eligibility", "check", "A0001",
         "--date", "2026-11-28", "--clearinghouse", str(path)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
        env=cli_env(
            CLAIMFLOW_HOME=str(tmp_path / "workspace"), CLAIMFLOW_CLEARINGHOUSE="nosuch",
            CLAIMFLOW_REALTIME_USERNAME="claimflow", CLAIMFLOW_REALTIME_PASSWORD=password,
        ),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "active" in done.stdout and "answered in" in done.stdout


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["run", "eligibility", "--clearinghouse", "no-such-house"], "cannot read clearinghouse"),
        (["run", "claims", "--clearinghouse", "missing/profile.yaml"], "missing/profile.yaml"),
        (["run", "reconcile", "--clearinghouse", "embedded"], "reconcile talks to no"),
        (["nightly", "--clearinghouse", "bad name!"], "letters, digits"),
    ],
)
def test_a_bad_profile_is_one_line_before_prefect_starts(
    argv: list[str], says: str, tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", *argv, "--date", "2026-11-27"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
        env=cli_env(CLAIMFLOW_HOME=str(tmp_path)),
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and says in done.stderr, done.stderr
    assert not (tmp_path / ".prefect").exists()  # refused before Prefect was touched


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_simulator_stops_cleanly_on_a_signal(sig: signal.Signals, tmp_path: Path) -> None:
    """Connections closed, port freed, one line, exit 0 — quickly, no traceback."""
    import socket

    profile = tmp_path / "sim.yaml"
    proc = start_simulator(tmp_path / "sim", "--write-profile", str(profile))
    try:
        wait_for(profile, proc)
        port = load_profile(profile).port
        assert proc.stdout is not None
        while "to stop" not in proc.stdout.readline():
            pass
        started = time.monotonic()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0
    assert took < 10
    assert err == ""
    assert out.splitlines() == [f"clearinghouse stopped ({sig.name})"]
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), 2):
        pass
