"""Operations through a real Prefect API (``PREFECT_API_URL``): the pipeline's log lines in the
run's logs, the summary artifact of a failed run, the final state of a night needing a person."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest

from tests.flows.conftest import ON, World

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_api")]


def _logs(flow_run_id: UUID, want: Callable[[Any], bool], timeout: float = 20) -> list[Any]:
    """The run's logs once one matches ``want`` (they reach the API in the background)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()
    deadline = time.monotonic() + timeout
    while True:
        with get_client(sync_client=True) as client:
            logs = client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
            )
        if any(want(r) for r in logs) or time.monotonic() > deadline:
            return logs
        time.sleep(0.5)


def test_pipeline_log_lines_reach_the_runs_logs_in_prefect(
    world: World, settings_for: Callable[[World], None]
) -> None:
    from flows.nightly import remittance

    settings_for(world)
    state = remittance(on=ON, return_state=True)
    assert state.is_completed(), state.message
    logs = _logs(state.state_details.flow_run_id, lambda r: r.name.startswith("pipeline."))
    ours = [r for r in logs if r.name.startswith("pipeline.")]
    assert any(
        r.name == "pipeline.transport.sftp" and f"127.0.0.1:{world.profile.port}" in r.message
        for r in ours
    ), [(r.name, r.message) for r in logs]
    assert all(r.task_run_id is not None for r in ours)  # filed under the task that logged it
