"""The flows against a real Prefect API (``prefect_api``): final states and artifacts read back
through the Prefect client; the remittance flow on a two-worker Dask cluster."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import pandas as pd
import pytest

from pipeline import steps
from pipeline.build.codes import CodeSets
from pipeline.practice import Practice
from pipeline.transport import open_transport
from tests.flows.conftest import AT, ON, World, start_world

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_api")]


def _artifacts(flow_run_id: UUID) -> dict[str, Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return {a.key: a for a in found}


def _flow_run(flow_run_id: UUID) -> Any:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id)


def _rows(artifact: Any) -> list[dict[str, Any]]:
    data = artifact.data
    return json.loads(data) if isinstance(data, str) else data


def test_nightly_completes_and_publishes_its_summary_and_tables(
    world: World, settings_for: Callable[[World], None]
) -> None:
    from flows.nightly import Outcome, nightly, remittance
    from flows.runtime import PRACTICES
    from pipeline.practice import load_practice
    from tests.flows.conftest import PRACTICE

    settings_for(world)
    shared = PRACTICES.load(PRACTICE).practice  # the night's tasks share this load
    loads = PRACTICES.loads
    state = nightly(on=ON, wait_seconds=20, stamp_time="02:00", return_state=True)
    assert state.is_completed(), state.message
    # The export is read once a night (here: before it), no task changed the practice it
    # shared, and the last step took it from the cache (its memory goes with reconcile).
    assert PRACTICES.loads == loads
    fresh = load_practice(PRACTICE).practice
    assert shared.model_dump() == fresh.model_dump()  # (private indexes aside)
    PRACTICES.load(PRACTICE)
    assert PRACTICES.loads == loads + 1  # read again: the cache no longer held it
    outcome = state.result()
    assert isinstance(outcome, Outcome)
    assert outcome.facts["claims sent"] == 125 and outcome.facts["rejected"] >= 1
    # No subflow's DataFrames outlive it: the night's remittance and reconciliation tables
    # are in the exports, not held by the nightly (or by Prefect) for the rest of the night.
    gc.collect()
    held = [o.flow for o in gc.get_objects() if isinstance(o, Outcome) and o.frames]
    assert held == [] and outcome.facts["835 files posted"] > 0  # (the remittance ran)
    run_id = state.state_details.flow_run_id
    stored = _flow_run(run_id)
    assert stored.name and stored.state.type.value == "COMPLETED"
    artifacts = _artifacts(run_id)
    assert {"nightly-summary", "nightly-flags", "nightly-rejections"} <= set(artifacts)
    summary = artifacts["nightly-summary"]
    assert summary.type == "markdown" and "| claims sent | 125 |" in summary.data
    flags = _rows(artifacts["nightly-flags"])
    assert len(flags) == outcome.facts["flags"] > 0
    assert {"patient_control_number", "flag", "amount_at_stake"} <= set(flags[0])
    assert all(isinstance(r["amount_at_stake"], str | None) for r in flags)  # decimal strings
    rejections = _rows(artifacts["nightly-rejections"])
    assert [r["patient_control_number"] for r in rejections]
    assert not (world.workspace.base / "exports" / "flags.csv").read_text().count("nan,")

    # A bad file in the night: quarantined, and the run ends Failed saying which and why.
    (world.sftp / "inbound" / "835_BROKEN_000000999.x12").write_bytes(b"ISA*00*garbage~")
    failed = remittance(on=ON, return_state=True)
    assert failed.is_failed()
    assert "835_BROKEN_000000999.x12" in failed.message and "quarantined" in failed.message
    stored = _flow_run(failed.state_details.flow_run_id)
    assert stored.state.type.value == "FAILED" and "835_BROKEN" in stored.state.message
    assert (world.workspace.quarantine_dir / "835_BROKEN_000000999.x12.reason.txt").exists()


def _submitted_world(base: Path, practice: Practice, codes: CodeSets) -> World:
    """A fresh world whose inbound folder holds the simulator's answers to the demo claims."""
    for w in start_world(base):
        transport = open_transport(w.profile)
        try:
            with w.ledger() as ledger:
                steps.send_claims(
                    ledger, transport, practice, w.workspace, w.profile, on=ON, codes=codes, at=AT
                )
        finally:
            transport.close()
        w.clearinghouse.wait_idle()
        return w  # the server stops; the answers stay in its inbound folder for the flow
    raise AssertionError("unreachable")


def test_remittance_on_a_two_worker_dask_cluster_gives_the_same_tables(
    tmp_path: Path,
    practice: Practice,
    codes: CodeSets,
    settings_for: Callable[[World], None],
) -> None:
    from prefect_dask import DaskTaskRunner

    from flows.nightly import remittance

    outcomes = {}
    for label, runner in (
        ("default", None),
        ("dask", DaskTaskRunner(cluster_kwargs={"n_workers": 2, "processes": False})),
    ):
        sent = _submitted_world(tmp_path / label, practice, codes)
        for w in start_world(tmp_path / label):  # same root, server up again for collect
            assert w.remote("inbound") == sent.remote("inbound")
            settings_for(w)
            flow = remittance if runner is None else remittance.with_options(task_runner=runner)
            state = flow(on=ON, return_state=True)
            assert state.is_completed(), state.message
            outcomes[label] = state.result()
    default, dask = outcomes["default"], outcomes["dask"]
    assert default.facts == dask.facts and default.facts["835 files posted"] >= 5
    assert set(default.frames) == set(dask.frames) >= {"remit_claims", "remit_service_lines"}
    for name, frame in default.frames.items():
        pd.testing.assert_frame_equal(frame, dask.frames[name], check_like=False)


def test_a_long_table_artifact_shows_its_first_rows_and_says_how_many_there_are() -> None:
    import uuid

    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.artifacts import ARTIFACT_ROWS, publish_table

    key = f"cap-{uuid.uuid4().hex[:12]}"
    rows = [{"n": n} for n in range(ARTIFACT_ROWS + 5)]

    @flow(persist_result=False)
    def publish() -> None:  # artifacts belong to a run (outside one is deprecated)
        publish_table(key, rows, "flags")
        # Only the first rows made (the reconcile flow's flags), with the whole table's count.
        publish_table(f"{key}-first", rows[:ARTIFACT_ROWS], "flags", total=len(rows))

    publish()
    for name in (key, f"{key}-first"):
        with get_client(sync_client=True) as client:
            (found,) = client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[name]))
            )
        shown = _rows(found)
        assert [r["n"] for r in shown] == list(range(ARTIFACT_ROWS))
        assert found.description == (
            f"flags (first {ARTIFACT_ROWS:,} of {ARTIFACT_ROWS + 5:,} rows; "
            "the whole table is in exports/)"
        )
