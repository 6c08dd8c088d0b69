"""``claimflow demo --out DIR`` through the real CLI: exit 0, every output, and a second run into
the same folder sends and posts nothing new (the same numbers)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.conftest import run_demo

TOTALS = ("claims sent", "accepted", "rejected", "paid", "denied", "flags", "dollars flagged")


def _facts(stdout: str) -> dict[str, str]:
    """The printed summary: ``  key   value`` lines."""
    pairs = (re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in stdout.splitlines())
    return {p[0]: p[1] for p in pairs if len(p) == 2}


def _totals(stdout: str) -> dict[str, str]:
    return {k: v for k, v in _facts(stdout).items() if k in TOTALS}


def test_demo_writes_everything_and_a_rerun_doubles_nothing(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    out, first = demo_run  # the session's demo run (shared with the money tests)
    assert first.returncode == 0, first.stderr[-3000:]
    sent = sorted(p.name for p in (out / "edi" / "sent").iterdir())
    assert [n[:3] for n in sent] == ["270", "837"]
    received = list((out / "edi" / "received").iterdir())
    assert {p.name.split("_")[0] for p in received} >= {"TA1", "999", "277CA", "835", "271"}
    for name in ("flags.csv", "flags.parquet", "appeal_worklist.csv", "claimflow.xlsx"):
        assert (out / "exports" / name).stat().st_size > 0, name
    assert any((out / "letters").iterdir())
    assert (out / "report.html").stat().st_size > 1000
    assert (out / "ledger.db").exists()
    assert (out / "clearinghouse" / "ground_truth" / "truth.jsonl").stat().st_size > 0
    totals = _totals(first.stdout)
    assert totals["claims sent"] == "160" and len(totals) == len(TOTALS), first.stdout

    again = run_demo(out)
    assert again.returncode == 0, again.stderr[-3000:]
    assert _totals(again.stdout) == totals
    assert _facts(again.stdout)["sent by this run"] == "0"
    assert sorted(p.name for p in (out / "edi" / "sent").iterdir()) == sent
    assert len(list((out / "edi" / "received").iterdir())) == len(received)
