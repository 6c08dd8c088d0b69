"""Retries only for transient errors, in one layer: the tasks run through a real Prefect API.

A terminal error (an unknown profile) fails the task on its first run; a connection the
clearinghouse drops or refuses is tried ``profile.retry.attempts`` times in all — the task
layer does not multiply the transport's own retries.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows import tasks
from flows.runtime import Run
from pipeline.errors import (
    ConfigError,
    LedgerUnavailable,
    TransientTransportError,
    X12SyntaxError,
    is_transient,
)
from pipeline.steps import Workspace
from tests.flows.conftest import ON, PRACTICE, World

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_api")]

ATTEMPTS = 3


def _task_run(state: Any) -> Any:
    from prefect.client.orchestration import get_client

    # A task run outside a flow reports its states to the API as events, after it returns:
    # wait (bounded) for the final one rather than reading a stale RUNNING.
    with get_client(sync_client=True) as client:
        for _ in range(100):
            stored = client.read_task_run(state.state_details.task_run_id)
            if stored.state is not None and stored.state.is_final():
                return stored
            time.sleep(0.1)
        return stored


def _run(base: Path, clearinghouse: str) -> Run:
    return Run(ON, Workspace(base).ensure(), clearinghouse, PRACTICE)


def _profile_at(world: World, port: int, path: Path) -> Path:
    """The world's profile (keys, known_hosts) pointed at ``port``, with a fast bounded retry."""
    data = yaml.safe_load(world.profile_path.read_text())
    data["port"] = port
    data["connect_timeout_seconds"] = 2
    data["retry"] = {
        "attempts": ATTEMPTS,
        "initial_delay_seconds": 0.01,
        "max_delay_seconds": 0.02,
    }
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def dropping_server() -> Iterator[tuple[int, list[int]]]:
    """A TCP port that accepts each connection and closes it at once; counts the connections."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    accepted: list[int] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            accepted.append(1)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], accepted
    finally:
        stop.set()
        thread.join()
        listener.close()


def test_which_errors_are_retried_and_by_which_layer() -> None:
    from prefect.states import Failed

    assert is_transient(LedgerUnavailable("ledger.db: database is locked"))
    assert is_transient(TransientTransportError("connect: refused"))
    assert not is_transient(ConfigError("profile nope: not found"))
    assert not is_transient(X12SyntaxError("cut short", source="f.x12"))
    assert not is_transient(OSError("disk full"))
    # the task layer: a busy ledger yes; transport errors are the transport's own retry
    assert tasks.retry_worthy(LedgerUnavailable("locked"))
    assert not tasks.retry_worthy(TransientTransportError("refused"))
    assert not tasks.retry_worthy(ConfigError("bad"))
    condition = tasks._IO["retry_condition_fn"]
    assert condition(None, None, Failed(data=LedgerUnavailable("locked")))
    assert not condition(None, None, Failed(data=ConfigError("unknown profile")))


def test_an_unknown_profile_fails_the_task_at_once_without_retries(tmp_path: Path) -> None:
    run = _run(tmp_path, "no-such-clearinghouse")
    state = tasks.upload_pending(run, return_state=True)
    assert state.is_failed()
    with pytest.raises(ConfigError, match="no-such-clearinghouse"):
        state.result()
    stored = _task_run(state)
    assert stored.run_count == 1 and stored.state.type.value == "FAILED"


def test_a_dropped_connection_is_tried_exactly_the_profiles_attempts_in_all(
    world: World, tmp_path: Path, dropping_server: tuple[int, list[int]]
) -> None:
    port, accepted = dropping_server
    run = _run(tmp_path, str(_profile_at(world, port, tmp_path / "drop.yaml")))
    state = tasks.collect(run, return_state=True)
    assert state.is_failed()
    with pytest.raises(TransientTransportError):
        state.result()
    assert len(accepted) == ATTEMPTS  # not ATTEMPTS x (task retries + 1)
    assert _task_run(state).run_count == 1


def test_a_refused_connection_is_tried_exactly_the_profiles_attempts_in_all(
    world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # closed again: nothing listens there
    run = _run(tmp_path, str(_profile_at(world, port, tmp_path / "refused.yaml")))
    with caplog.at_level(logging.WARNING, logger="pipeline.transport.retry"):
        state = tasks.upload_pending(run, return_state=True)
        # staged nothing, so upload_pending never connects: collect always lists the server
        state = tasks.collect(run, return_state=True)
    assert state.is_failed()
    with pytest.raises(TransientTransportError, match=f"127.0.0.1:{port}"):
        state.result()
    retried = [r for r in caplog.records if r.name == "pipeline.transport.retry"]
    assert len(retried) == ATTEMPTS - 1  # every failed try but the last logs its retry
    assert all(f"/{ATTEMPTS} failed" in r.getMessage() for r in retried)
    assert _task_run(state).run_count == 1
