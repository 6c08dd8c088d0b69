"""``claimflow run`` starts Prefect like ``demo``; ``claimflow serve`` needs a Prefect server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows.runtime import PREFECT_STARTUP, prefect_environment

ROOT = Path(__file__).resolve().parents[1]
PRACTICE = ROOT / "sample_edi" / "practice"
KEYS = ("PREFECT_HOME", *PREFECT_STARTUP)


def _clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CLAIMFLOW_", "PREFECT_")) and k != "DO_NOT_TRACK"
    }
    return {**env, **extra}


def test_startup_settings_default_into_the_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in KEYS:
        monkeypatch.delenv(key, raising=False)
    applied = prefect_environment(tmp_path)
    assert applied == {
        "PREFECT_HOME": str(tmp_path / ".prefect"),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    assert all(os.environ[k] == v for k, v in applied.items())
    assert (tmp_path / ".prefect").stat().st_mode & 0o777 == 0o700


def test_what_the_user_set_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "mine"))
    monkeypatch.setenv("PREFECT_LOGGING_LEVEL", "DEBUG")
    applied = prefect_environment(tmp_path / "ws")
    assert applied["PREFECT_HOME"] == str(tmp_path / "mine")
    assert applied["PREFECT_LOGGING_LEVEL"] == "DEBUG"
    assert applied["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] == "120"
    assert not (tmp_path / "ws" / ".prefect").exists()


def test_run_uses_the_demo_startup_with_prefect_home_in_the_workspace(tmp_path: Path) -> None:
    """The real command, no Prefect configured: the ephemeral server's database lands in the
    workspace and Prefect logs at WARNING (no INFO chatter)."""
    env = _clean_env(CLAIMFLOW_HOME=str(tmp_path), CLAIMFLOW_PRACTICE_DIR=str(PRACTICE))
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", "reconcile", "--date", "2026-11-27"],
        capture_output=True, text=True, timeout=280, cwd=ROOT, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "as of                          2026-11-27" in done.stdout
    assert (tmp_path / ".prefect" / "prefect.db").stat().st_size > 0
    assert " INFO " not in done.stderr and "Traceback" not in done.stderr


def test_serve_refuses_without_a_prefect_server(tmp_path: Path) -> None:
    """No PREFECT_API_URL (nor a profile giving one): one line, exit 2, nothing served."""
    env = _clean_env(PREFECT_HOME=str(tmp_path / "prefect"), CLAIMFLOW_HOME=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "serve"],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env=env,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("claimflow: error: claimflow serve needs a Prefect server")
    assert "PREFECT_API_URL" in done.stderr
    assert "Traceback" not in done.stderr
