"""``claimflow demo --out DIR`` through the real CLI: exit 0, every output, and a second run into
the same folder sends and posts nothing new (the same numbers)."""

from __future__ import annotations

import json
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
    assert totals["claims sent"] == "125" and len(totals) == len(TOTALS), first.stdout
    _nothing_sent_against_its_271(out)
    assert len(list((out / "exports" / "good_faith_estimates").glob("GFE-*.html"))) == 35
    _check_nsa_cases(out)

    again = run_demo(out)
    assert again.returncode == 0, again.stderr[-3000:]
    assert _totals(again.stdout) == totals
    assert _facts(again.stdout)["sent by this run"] == "0"
    assert sorted(p.name for p in (out / "edi" / "sent").iterdir()) == sent
    assert len(list((out / "edi" / "received").iterdir())) == len(received)


def _nothing_sent_against_its_271(out: Path) -> None:
    """Issue 12: no claim goes to coverage its 271 called inactive or unknown; the CO-96s left
    are routed by the 271 (none on a plan whose 271 showed no out-of-network benefit)."""
    import csv
    import sqlite3

    db = sqlite3.connect(out / "ledger.db")
    try:
        answers = {
            (patient, payer, day): json.loads(summary)
            for patient, payer, day, summary in db.execute(
                "select patient_id, payer_id, service_date, summary from eligibility_checks"
                " where summary is not null"
            )
        }
        sent = db.execute(
            "select patient_control_number, patient_id, payer_id, service_date_start from claims"
            " where state not in ('ready', 'scrub_failed') and frequency_code != '8'"
        ).fetchall()  # a void takes back a claim: nothing to ask about
    finally:
        db.close()
    assert len(sent) == 123  # 125 sent, two of them voids (E0155, E0156)
    statuses = [answers[(p, payer, day)]["coverage_status"] for _, p, payer, day in sent]
    assert statuses.count("active") == 123  # every claim sent was asked about its DOS: active
    not_covered = {
        pcn
        for pcn, p, payer, day in sent
        if answers[(p, payer, day)].get("out_of_network_coverage") == "not_covered"
    }
    with (out / "exports" / "flags.csv").open(encoding="utf-8") as fh:
        co96 = [r for r in csv.DictReader(fh) if r["carc"] == "96"]
    for flag in co96:
        if flag["patient_control_number"] in not_covered:
            assert flag["flag"] == "patient_responsibility" or "No Surprises" in flag["action"]
        else:  # the 271 showed out-of-network benefits: the denial is disputed
            assert flag["flag"] == "denied_appealable" and "271 shows" in flag["action"]


def _check_nsa_cases(out: Path) -> None:
    """The demo's NSA cases against dates counted by hand on a calendar (DOMAIN.md §9.4).

    LS0000021 (CTS02, 64483 at an in-network ASC): the 835 paid Fri 2026-12-11 (day 1); the notice
    is due by business day 30 = Tue 2027-01-26 (Christmas, New Year's Day, MLK Day skipped). The
    run's as-of date is its business date (2026-11-27, before the payment), so the draft is
    dated the day the payment arrived and the negotiation would end on the same business day
    30, Tue 2027-01-26; the IDR window is Wed 2027-01-27 to Mon 2027-02-01. The offer is the
    practice's UCR rate 552.00 beside the plan's QPA 287.50; the plan allowed the QPA.
    LS0000023 (FAB03): paid Sat 2026-12-12, so day 1 is Mon 2026-12-14 and the notice is due
    Wed 2027-01-27, one business day after LS0000021's.
    """
    import csv

    with (out / "exports" / "nsa_cases.csv").open() as fh:
        cases = {r["patient_control_number"]: r for r in csv.DictReader(fh)}
    ls21 = cases["LS0000021"]
    assert (ls21["received_on"], ls21["notice_deadline"], ls21["notice_date"]) == (
        "2026-12-11",
        "2027-01-26",
        "2026-12-11",
    )
    assert (ls21["negotiation_end"], ls21["idr_window_start"], ls21["idr_window_end"]) == (
        "2027-01-26",
        "2027-01-27",
        "2027-02-01",
    )
    assert (ls21["offer_amount"], ls21["qpa_amount"], ls21["allowed_amount"]) == (
        "552.00",
        "287.50",
        "287.50",
    )
    assert (ls21["status"], ls21["next_deadline"]) == ("notice_due", "2027-01-26")
    assert (cases["LS0000023"]["received_on"], cases["LS0000023"]["notice_deadline"]) == (
        "2026-12-12",
        "2027-01-27",
    )
    notice = (out / "letters" / "LS0000021-nsa_open_negotiation.md").read_text()
    for words in (
        "December 11, 2026",
        "last day January 26, 2027",
        "by January 26, 2027",
        "January 27, 2027 through February 1, 2027",
        "$552.00",
        "$287.50",
    ):
        assert words in notice, words
