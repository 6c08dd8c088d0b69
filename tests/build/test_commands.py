"""``claimflow build 837p`` / ``build 270``: exit codes, scrub report, files and traces."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.build.commands import build_270_command, build_837p_command
from pipeline.cli import app
from pipeline.parse.t270 import read_270
from pipeline.parse.t837p import read_837p
from pipeline.settings import get_settings
from tests.build.conftest import DEMO, ROOT, TODAY


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("CLAIMFLOW_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    yield tmp_path / "home"
    get_settings.cache_clear()


def test_build_837p_reports_holds_and_exits_1(home: Path, tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    target = tmp_path / "out" / "claims.837p"
    code = build_837p_command(DEMO, out=target, today=TODAY, stdout=out, stderr=err)
    assert code == 1
    report = out.getvalue()
    assert report.startswith("scrub: 160 claim(s) built, 25 held")
    assert "HELD E0172 (LS0000172)\n  error   [aob_missing] patient.aob:" in report
    assert len(read_837p(target)) == 160
    assert (home / "ledger.db").exists()  # control numbers come from the ledger
    assert not list(target.parent.glob(".*.tmp"))
    # Control numbers never repeat between runs.
    again = tmp_path / "again.837p"
    build_837p_command(DEMO, out=again, today=TODAY, stdout=io.StringIO())
    first, second = read_837p(target)[0], read_837p(again)[0]
    assert first.interchange_control_number != second.interchange_control_number


def test_build_837p_exits_0_when_nothing_is_held(home: Path, tmp_path: Path) -> None:
    practice = tmp_path / "clean"
    practice.mkdir()
    for f in DEMO.glob("*.csv"):
        rows = list(csv.DictReader(f.open(encoding="utf-8")))
        if f.name in {"encounters.csv", "charges.csv"}:
            rows = [r for r in rows if r["Visit #"] < "E0161"]
        with (practice / f.name).open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    out = io.StringIO()
    code = build_837p_command(practice, out=tmp_path / "c.837p", today=TODAY, stdout=out)
    assert code == 0, out.getvalue()
    assert "160 claim(s) built, 0 held" in out.getvalue()


def test_build_270_writes_inquiries_and_traces(home: Path, tmp_path: Path) -> None:
    out = io.StringIO()
    target = tmp_path / "elig.270"
    code = build_270_command(DEMO, out=target, on=None, today=date(2026, 11, 27), stdout=out)
    assert code == 0
    inquiries = read_270(target)
    assert {i.service_date for i in inquiries} == {date(2026, 11, 28)}  # default: tomorrow
    with target.with_name("elig.270.traces.csv").open(encoding="utf-8") as fh:
        traces = {r["trace_number"]: r for r in csv.DictReader(fh)}
    assert set(traces) == {i.trace_number for i in inquiries}
    assert "wrote" in out.getvalue()


def test_cli_bad_input_is_one_line_exit_2(home: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    run = subprocess.run(
        [sys.executable, "-m", "pipeline", "build", "837p", "--practice", str(missing),
         "--out", str(tmp_path / "x.837p")],
        capture_output=True, text=True, cwd=ROOT, env={"CLAIMFLOW_HOME": str(home)},
        check=False,
    )  # fmt: skip
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0
    assert "practice folder does not exist" in run.stderr


def test_build_837p_date_makes_the_scrub_reproducible(home: Path, tmp_path: Path) -> None:
    """``--date`` is the day the scrubber judges future dates and timely filing by."""
    ten_days_on = "2026-12-10"  # E0167's DOS 2026-12-03 is past; E0168 is 143 days old
    run = CliRunner().invoke(
        app, ["build", "837p", "--practice", str(DEMO), "--out", str(tmp_path / "a.837p"),
              "--date", ten_days_on],
    )  # fmt: skip
    assert run.exit_code == 1, run.output
    assert "HELD E0167" not in run.output
    assert "[timely_filing] service_date: 143 days after DOS; WGH04 allows 90" in run.output
    # E0167 goes out once its date has passed: one more claim than on the demo's today.
    assert "scrub: 161 claim(s) built" in run.output
    again = io.StringIO()
    build_837p_command(DEMO, out=tmp_path / "b.837p", on=TODAY, stdout=again)
    assert "HELD E0167 (LS0000167)\n  error   [dos_future]" in again.getvalue()


def test_build_270_without_appointments_names_the_dates_that_have_some(
    home: Path, tmp_path: Path
) -> None:
    out = io.StringIO()
    target = tmp_path / "none.270"
    code = build_270_command(DEMO, out=target, on=date(2027, 1, 4), stdout=out)
    assert code == 0 and not target.exists()
    lines = out.getvalue().splitlines()
    assert lines[0] == f"no appointments to check on 2027-01-04; {target} not written"
    assert lines[1] == (
        "appointments are on 2026-11-28 (20), 2026-11-30 (8), 2026-12-01 (7); "
        "choose one with --date"
    )
