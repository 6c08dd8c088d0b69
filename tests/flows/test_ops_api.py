"""Operations through a real Prefect API (``PREFECT_API_URL``): the pipeline's log lines in the
run's logs, the summary artifact of a failed run, the final state of a night needing a person."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
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


def _artifacts(flow_run_id: UUID) -> dict[str, Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return {a.key: a for a in found}


def _stored_state(flow_run_id: UUID) -> Any:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id).state


def _summary_facts(markdown: str) -> dict[str, str]:
    rows = (line.split("|") for line in markdown.splitlines() if line.startswith("| "))
    return {r[1].strip(): r[2].strip() for r in rows if len(r) >= 4}


def _status(base: Path) -> dict[str, Any]:
    """``claimflow status --json`` through the real CLI."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMFLOW_")}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("claimflow")), "status", "--json",
         "--workspace", str(base)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def test_a_failed_night_still_publishes_its_summary_saying_what_needs_a_person(
    world: World, settings_for: Callable[[World], None]
) -> None:
    from flows.nightly import claims, nightly

    settings_for(world)
    state = nightly(on=ON, clearinghouse="no-such-clearinghouse", return_state=True)
    assert state.is_failed()
    assert state.message.startswith(f"nightly {ON} needs a person: eligibility failed")
    assert "no-such-clearinghouse" in state.message and "Traceback" not in state.message
    run_id = state.state_details.flow_run_id
    assert _stored_state(run_id).type.value == "FAILED"
    summary = _artifacts(run_id)["nightly-summary"].data
    assert "## Needs a person" in summary and "no-such-clearinghouse" in summary
    assert "| result | failed during eligibility |" in summary
    # a flow run on its own too
    alone = claims(on=ON, clearinghouse="no-such-clearinghouse", return_state=True)
    assert alone.is_failed() and "claims failed" in alone.message
    assert (
        "no-such-clearinghouse"
        in _artifacts(alone.state_details.flow_run_id)["claims-summary"].data
    )
    status = _status(world.workspace.base)
    assert status["last_night"]["state"] == "Failed"
    assert any("eligibility failed" in line for line in status["needs_person"])


def test_a_night_with_rejections_says_so_and_its_counts_agree_everywhere(
    world: World, settings_for: Callable[[World], None]
) -> None:
    from flows.nightly import NEEDS_ATTENTION, nightly
    from pipeline import steps

    settings_for(world)
    state = nightly(on=ON, wait_seconds=20, stamp_time="02:00", return_state=True)
    assert state.is_completed() and state.name == NEEDS_ATTENTION, state.message
    stored = _stored_state(state.state_details.flow_run_id)
    assert stored.type.value == "COMPLETED" and stored.name == NEEDS_ATTENTION
    assert "rejected: correct and resubmit" in stored.message
    assert "held by the scrubber" in stored.message
    with world.ledger() as ledger:
        counts = steps.claim_counts(ledger)
    assert counts["rejected"] >= 1
    summary = _artifacts(state.state_details.flow_run_id)["nightly-summary"].data
    facts = _summary_facts(summary)
    status = _status(world.workspace.base)
    claims = status["claims"]
    pairs = {  # summary fact, status key, ledger key
        "claims sent": ("sent", "sent"),
        "awaiting acknowledgment": ("awaiting_acknowledgment", "awaiting_acknowledgment"),
        "accepted": ("accepted", "accepted"),
        "rejected": ("rejected", "rejected"),
        "paid": ("paid", "paid_any"),
        "denied": ("denied", "denied"),
        "later states": ("later_states", "other"),
        "held by the scrubber": ("held_by_scrubber", "scrub_failed"),
    }
    for fact, (key, ledger_key) in pairs.items():
        assert int(facts[fact]) == claims[key] == counts[ledger_key], fact
    parts = ("awaiting acknowledgment", "accepted", "rejected", "paid", "denied", "later states")
    assert sum(int(facts[p]) for p in parts) == int(facts["claims sent"])  # each claim once
    assert (
        sum(claims["by_state"].values())
        == counts["sent"] + counts["scrub_failed"] + counts["ready"]
    )
    assert status["last_night"]["state"] == NEEDS_ATTENTION
    assert status["last_night"]["facts"]["rejected"] == counts["rejected"]
    assert status["files"]["quarantined"] == 0
    assert any("rejected" in line for line in status["needs_person"])
