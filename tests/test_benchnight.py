"""The scale harness's tables: stage accounting, medians of runs, growth by size."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline import benchnight
from pipeline.benchnight import NightTimings, StageTiming

ROOT = Path(__file__).resolve().parents[1]


def night(claims: int, total: float, **cpu: float) -> NightTimings:
    stages = {
        name.replace("_", " "): StageTiming(name.replace("_", " "), 1, c * 2, c, 100.0 + c)
        for name, c in cpu.items()
    }
    return NightTimings(claims, total, 100.0 + total, "nproc 2", stages)


def test_stage_adds_calls_and_orders_rows_as_the_night_meets_them() -> None:
    benchnight.reset_timings()
    try:
        for name in ("report", "parse", "parse", "zz unlisted", "build"):
            with benchnight.stage(name):
                sum(range(1000))
        rows = benchnight.timings()
    finally:
        benchnight.reset_timings()
    assert list(rows) == ["build", "parse", "report", "zz unlisted"]
    assert rows["parse"].calls == 2 and rows["parse"].wall > 0 and rows["parse"].cpu >= 0


def test_another_process_table_is_absorbed_under_the_simulator_s_names(tmp_path: Path) -> None:
    """What the simulator's own process dumps at exit joins the night's table: adjudication
    under its own (nested) name, anything else prefixed, its peak RSS kept apart."""
    dumped = tmp_path / "child.json"
    script = (
        "from pipeline import benchnight\n"
        "benchnight.dump_on_exit()\n"
        "for name in ('simulator adjudication', 'practice load', 'simulator adjudication'):\n"
        "    with benchnight.stage(name):\n"
        "        sum(range(10000))\n"
    )
    env = dict(os.environ, **{benchnight.TIMINGS_OUT: str(dumped)})
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, timeout=60)
    benchnight.reset_timings()
    try:
        with benchnight.stage("practice load"):
            pass
        child_rss = benchnight.absorb(dumped)
        rows = benchnight.timings()
        shown = benchnight.render_table(rows, claims=10, total_wall=1.0)
    finally:
        benchnight.reset_timings()
    assert rows["simulator adjudication"].calls == 2
    assert rows["simulator: practice load"].calls == 1
    assert rows["practice load"].calls == 1  # the night's own row is not mixed with the child's
    assert child_rss > 0 and f"the simulator's own process: {child_rss:.0f} MiB" in shown
    assert benchnight.simulator_peak_rss_mib() == 0.0  # reset


def test_the_table_shows_staging_between_validate_and_upload() -> None:
    order = benchnight.STAGES
    assert order.index("validate") < order.index("ledger: staged") < order.index("upload")


def test_a_written_night_reads_back_the_same(tmp_path: Path) -> None:
    rows = {"parse": StageTiming("parse", 3, 1.25, 1.0, 321.0)}
    path = tmp_path / "timings.json"
    benchnight.write_night(path, rows, claims=1000, total_wall=12.5)
    back = benchnight.read_night(path)
    assert back.claims == 1000 and back.total_wall == 12.5 and back.stages == rows
    assert back.peak_rss_mib > 0 and "nproc" in back.machine


def test_the_median_is_taken_stage_by_stage_and_a_missing_stage_counts_zero() -> None:
    runs = [
        night(1000, 60.0, parse=1.0, export=9.0),
        night(1000, 90.0, parse=5.0, export=3.0),
        night(1000, 70.0, parse=2.0),
    ]
    median = benchnight.median_night(runs)
    assert median.total_wall == 70.0
    assert median.stages["parse"].cpu == 2.0 and median.stages["parse"].wall == 4.0
    assert median.stages["export"].cpu == 3.0  # of 9, 3 and 0
    text = benchnight.render_median(runs)
    assert "median of 3 run(s): total wall 70.0 s (runs 60.0, 70.0, 90.0)" in text


def test_runs_of_different_sizes_have_no_median() -> None:
    with pytest.raises(ValueError, match="same claim count"):
        benchnight.median_night([night(1000, 1.0), night(10000, 1.0)])


def test_growth_is_the_ratio_of_median_cpu_size_to_size() -> None:
    table = benchnight.growth_table(
        [night(10000, 100.0, parse=8.0, build=30.0), night(1000, 10.0, parse=1.0, build=1.5)]
    )
    lines = table.splitlines()
    assert lines[0] == "| stage | CPU s 1,000 | CPU s 10,000 | growth 1,000 -> 10,000 |"
    assert "| parse | 1.00 | 8.00 | 8.0x |" in lines
    assert "| build | 1.50 | 30.00 | 20.0x |" in lines  # super-linear shows
    assert lines[-1] == "| total wall s | 10.0 | 100.0 | 10.0x |"


def test_the_command_line_prints_the_median_and_the_growth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for size in (1000, 10000):
        for i, total in enumerate((3.0, 1.0, 2.0), start=1):
            run = tmp_path / f"bench-night-{size}" / f"run-{i}"
            run.mkdir(parents=True)
            rows = {"parse": StageTiming("parse", 1, total, total * size / 1000, 50.0)}
            benchnight.write_night(run / "timings.json", rows, claims=size, total_wall=total)
    files = [str(p) for p in sorted(tmp_path.glob("bench-night-1000/run-*/timings.json"))]
    assert benchnight.main(["median", *files]) == 0
    assert "total wall 2.0 s (runs 1.0, 2.0, 3.0)" in capsys.readouterr().out
    dirs = [str(tmp_path / "bench-night-1000"), str(tmp_path / "bench-night-10000")]
    assert benchnight.main(["growth", *dirs]) == 0
    assert "| parse | 2.00 | 20.00 | 10.0x |" in capsys.readouterr().out
    assert benchnight.main(["nonsense"]) == 2


def tiled_night(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """``claimflow demo --claims 240 --timings`` as a new user runs it: no Prefect server
    configured (the demo starts Prefect's temporary one), no ``CLAIMFLOW_*`` settings."""
    unset = ("PREFECT_API_URL", "PREFECT_HOME")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMFLOW_") and k not in unset}
    claimflow = str(Path(sys.executable).with_name("claimflow"))
    args = [claimflow, "demo", "--claims", "240", "--out", str(out), "--timings", *extra]
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=400)
    assert proc.returncode in (0, 1), proc.stderr  # 1: the night needs a person (held claims)
    return proc


@pytest.fixture(scope="module")
def threads_night(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("threads") / "night"
    return out, tiled_night(out).stdout


@pytest.mark.e2e
def test_the_scale_harness_runs_a_tiled_night_and_keeps_its_table(
    threads_night: tuple[Path, str],
) -> None:
    """``claimflow demo --claims N --timings``: the night at N encounters, every stage timed.

    Prefect's temporary API starts in the background while the practice is written and loaded
    ("Prefect start" is the wait left); the simulator runs in its own process and its rows
    ("simulator adjudication", "simulator: practice load") come back into the table."""
    out, stdout = threads_night
    saved = benchnight.read_night(out / "timings.json")
    assert saved.claims == 240
    with (out / "practice" / "encounters.csv").open(newline="", encoding="utf-8") as f:
        assert sum(1 for _ in csv.DictReader(f)) == 240
    missing = [name for name in benchnight.STAGES if name not in saved.stages]
    assert missing == []
    for name in benchnight.STAGES:
        assert f"| {name} |" in stdout or f"| ↳ {name} |" in stdout
    staged = sum(s.wall for s in saved.stages.values() if s.name not in benchnight.NESTED)
    assert 0 < staged <= saved.total_wall
    assert saved.simulator_peak_rss_mib > 0  # the simulator's own process


@pytest.mark.e2e
def test_the_night_on_a_two_worker_dask_cluster_writes_the_same_tables(
    threads_night: tuple[Path, str], tmp_path: Path
) -> None:
    """Scale-out: ``--workers 2`` runs the mapped tasks (835 parsing) and the pipeline's split
    work on a local two-process Dask cluster (prefect-dask); every export, letter and EDI file
    is the same, byte for byte, as the night on threads."""
    threads, _ = threads_night
    dask = tmp_path / "night"
    tiled_night(dask, "--workers", "2")
    assert benchnight.read_night(dask / "timings.json").stages["Dask cluster start"].calls == 1
    for folder in ("exports", "letters", "edi"):
        expected = sorted(p.relative_to(threads) for p in (threads / folder).rglob("*"))
        got = sorted(p.relative_to(dask) for p in (dask / folder).rglob("*"))
        assert got == expected
        for rel in expected:
            if rel.suffix == ".parquet":  # the same rows and types (the writer stamps its file)
                assert pq.read_table(dask / rel).equals(pq.read_table(threads / rel)), rel
            elif (threads / rel).is_file() and rel.suffix != ".xlsx":
                assert (dask / rel).read_bytes() == (threads / rel).read_bytes(), rel


def test_memtrace_prints_live_rss_at_each_stage_boundary(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(benchnight.MEMTRACE, "1")
    try:
        with benchnight.stage("memtrace probe"):
            held = bytearray(64 * 2**20)
            held[::4096] = b"x" * len(held[::4096])  # every page touched: 64 MiB resident
    finally:
        benchnight.reset_timings()
    lines = [line.split() for line in capsys.readouterr().err.splitlines()]
    begin, end = (line for line in lines if "probe" in line)
    assert begin[1] == "begin" and end[1] == "end"
    live = {line[1]: float(line[line.index("live") + 1]) for line in (begin, end)}
    assert live["end"] - live["begin"] >= 60
    del held
