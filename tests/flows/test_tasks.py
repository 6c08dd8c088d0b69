"""Task logic through ``task.fn`` and the flow helpers: no Prefect API needed."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from flows import tasks
from flows.artifacts import json_records, markdown
from flows.nightly import Outcome
from flows.runtime import Run, parse_stamp
from pipeline.errors import ConfigError
from pipeline.ledger import FileState, Ledger
from pipeline.settings import get_settings
from pipeline.steps import Workspace
from tests.flows.conftest import ON, PRACTICE

REMIT = Path(__file__).resolve().parents[2] / "sample_edi" / "x12"


def _an_835() -> Path:
    found = sorted(REMIT.rglob("*835*"))
    if not found:
        pytest.skip("no sample 835 in sample_edi/x12")
    return found[0]


def test_parse_task_returns_tables_or_the_reason_it_cannot(tmp_path: Path) -> None:
    good = _an_835()
    parsed = tasks.parse_return_file.fn(str(good), good.name)
    assert parsed.transaction == "835" and len(parsed.tables["remit_claims"]) > 0
    cut = tmp_path / "cut.x12"
    cut.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    reason = tasks.parse_return_file.fn(str(cut), cut.name)
    assert isinstance(reason, str) and "cut.x12" in reason


def test_post_task_quarantines_an_unreadable_file_and_posts_the_rest(tmp_path: Path) -> None:
    ws = Workspace(tmp_path).ensure()
    good = _an_835()
    bad = ws.received_dir / "835_CUT.x12"
    bad.write_bytes(good.read_bytes()[:200])
    copy = ws.received_dir / good.name
    copy.write_bytes(good.read_bytes())
    with Ledger(ws.ledger_url) as ledger:
        bad_id = ledger.register_received(bad, bad.name).id
        good_id = ledger.register_received(copy, copy.name).id
    run = Run(ON, ws, "embedded", PRACTICE)
    parsed = tasks.parse_return_file.fn(str(copy), copy.name)
    summary = tasks.post_parsed.fn(run, [(bad_id, "cut short at byte 200"), (good_id, parsed)])
    assert summary.files == 1
    assert len(summary.attention) == 1 and "835_CUT.x12" in summary.attention[0]
    assert (ws.quarantine_dir / "835_CUT.x12.reason.txt").read_text().strip().endswith("byte 200")
    with Ledger(ws.ledger_url) as ledger:
        assert ledger.file(bad_id).state is FileState.QUARANTINED
        assert ledger.file(good_id).state is FileState.POSTED
    assert len(summary.tables["remit_claims"]) == len(parsed.tables["remit_claims"])


def test_table_rows_are_json_safe() -> None:
    columns = {"amount": [Decimal("12.50"), None], "day": [ON, None], "x": [1.5, math.nan]}
    frame = pd.DataFrame(columns)
    rows = json_records(frame)
    assert rows[0]["amount"] == "12.50" and rows[0]["day"].startswith("2026-11-27")
    assert rows[1] == {"amount": None, "day": None, "x": None}
    assert json_records(pd.DataFrame()) == []
    assert json_records(frame, limit=1) == rows[:1]  # an artifact's first rows only


def test_summary_says_what_needs_a_person() -> None:
    outcome = Outcome("claims", ON, facts={"claims sent": 3})
    assert outcome.message() == "claims 2026-11-27: done" and not outcome.needs_person
    outcome.attention = [f"file {n} (x.x12) quarantined: cut short" for n in range(7)]
    assert outcome.message().startswith("claims 2026-11-27 needs a person: file 0 (x.x12)")
    assert outcome.message().endswith("(+2 more)")
    text = markdown("claims", {"by state": {"paid": 2}}, outcome.attention[:1])
    assert "| by state | paid 2 |" in text and "## Needs a person" in text


def test_stamp_time_is_hh_mm() -> None:
    assert parse_stamp("02:00").hour == 2
    assert parse_stamp(None) is None
    with pytest.raises(ConfigError, match="HH:MM"):
        parse_stamp("2am")


def test_deployments_nightly_on_cron_in_the_configured_timezone_and_each_flow_on_demand() -> None:
    from flows.deployments import build_deployments

    settings = get_settings()
    deployments = {d.name: d for d in build_deployments()}
    assert set(deployments) == {
        "nightly",
        "eligibility",
        "claims",
        "remittance",
        "claim-status",
        "reconcile",
    }
    (schedule,) = deployments["nightly"].schedules
    assert schedule.schedule.cron == settings.nightly_cron
    assert schedule.schedule.timezone == settings.timezone
    assert deployments["nightly"].concurrency_limit == 1
    assert all(not deployments[n].schedules for n in deployments if n != "nightly")
    assert deployments["nightly"].parameters == {}  # settings, not secrets, from the environment
