"""The simulator driven with the demo practice's own 270 and 837P (issue 6, "done means")."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.clearinghouse.adjudicate import REQUIRED_KINDS
from pipeline.x12.reader import read_segments
from pipeline.x12.validate import format_report, validate_file
from tests.clearinghouse.conftest import MAPPINGS, Inputs, Run, run_simulator

CENT = Decimal("0.01")


def test_every_response_passes_validation(demo_run: Run) -> None:
    files = demo_run.claims_files + demo_run.eligibility_files
    kinds = Counter(f.name.split("_")[0] for f in files)
    assert kinds["999"] == 1 and kinds["277CA"] == 1 and kinds["271"] == 1
    assert kinds["TA1"] == 1  # the 837P asks for one (ISA14=1), the 270 does not
    assert kinds["835"] >= 5  # one per payer, plus the second payment
    for path in files:
        report = validate_file(path)
        assert report.status == "valid", "\n".join(format_report(report))


def _segments(path: Path) -> list[list[str]]:
    return [seg.elements for seg in read_segments(path)]


def test_835_balances_claim_line_and_transaction(demo_run: Run) -> None:
    for path in demo_run.by_kind("835"):
        segs = _segments(path)
        bpr = next(s for s in segs if s[0] == "BPR")
        clp_total = plb_total = Decimal(0)
        # [amount, adjustments] per claim (CLP03/CLP04) and per line (SVC02/SVC03)
        claims: list[list[Decimal]] = []
        lines: list[list[Decimal]] = []
        current: list[list[Decimal]] = []
        for s in segs:
            if s[0] == "CLP":
                claims.append([Decimal(s[3]), Decimal(s[4]), Decimal(0)])
                current = [claims[-1]]
                clp_total += Decimal(s[4])
            elif s[0] == "SVC":
                lines.append([Decimal(s[2]), Decimal(s[3]), Decimal(0)])
                current = [claims[-1], lines[-1]]
            elif s[0] == "CAS":
                for entry in current:
                    entry[2] += sum(Decimal(s[i]) for i in range(3, len(s), 3) if s[i])
            elif s[0] == "PLB":
                plb_total += sum(Decimal(s[i]) for i in range(4, len(s), 2))
        for charge, paid, adjusted in claims + lines:
            assert charge - adjusted == paid, path.name
        assert claims and lines
        assert clp_total - plb_total == Decimal(bpr[2]), path.name


def test_every_kind_of_trouble_appears(demo_run: Run) -> None:
    from pipeline.clearinghouse import read_ground_truth

    claims = read_ground_truth(demo_run.root, "claim")
    assert len(claims) > 100 and all(c["record"] == "claim" for c in claims)
    kinds = Counter(p["kind"] for r in claims for p in r["problems"])
    missing = [k for k in REQUIRED_KINDS if kinds[k] == 0]
    assert not missing, f"no {missing} on the demo practice; got {dict(kinds)}"


def test_trouble_is_visible_in_the_files(demo_run: Run) -> None:
    carcs: set[tuple[str, str]] = set()
    plb_codes: set[str] = set()
    statuses: set[str] = set()
    methods: set[str] = set()
    for path in demo_run.by_kind("835"):
        for s in _segments(path):
            if s[0] == "CAS":
                carcs.update((s[1], s[i]) for i in range(2, len(s), 3) if s[i])
            elif s[0] == "PLB":
                plb_codes.update(s[i].split(":")[0] for i in range(3, len(s), 2))
            elif s[0] == "CLP":
                statuses.add(s[2])
            elif s[0] == "BPR":
                methods.add(s[4])
    expected = {("CO", "197"), ("CO", "96"), ("CO", "29"), ("OA", "18"), ("CO", "50")}
    expected |= {("CO", "16"), ("CO", "59"), ("PR", "100"), ("PR", "45"), ("CO", "45")}
    assert expected <= carcs
    assert {"L6", "WO"} <= plb_codes
    assert {"1", "4", "22"} <= statuses
    assert {"ACH", "CHK"} <= methods
    stc = [s[1] for s in _segments(demo_run.by_kind("277CA")[0]) if s[0] == "STC"]
    assert any(v.startswith(("A3", "A7")) for v in stc) and any(v.startswith("A2") for v in stc)
    ta1 = [s for s in _segments(demo_run.by_kind("TA1")[-1]) if s[0] == "TA1"]
    assert ta1 and ta1[0][4] == "A"


def test_271_answers_active_inactive_and_unknown(demo_run: Run) -> None:
    segs = _segments(demo_run.by_kind("271")[0])
    assert any(s[0] == "AAA" and s[3] in ("75", "72", "71") for s in segs)
    assert any(s[0] == "EB" and s[1] == "6" for s in segs)
    assert any(s[0] == "EB" and s[1] == "1" for s in segs)
    rows = [r for r in demo_run.truth if r["record"] == "eligibility"]
    assert {r["coverage_status"] for r in rows} == {"active", "inactive", "rejected"}


def test_ground_truth_lines_match_the_835s_and_the_fee_schedule(demo_run: Run) -> None:
    from pipeline.clearinghouse.fees import FeeSchedule

    fees = FeeSchedule.load(MAPPINGS / "fee_schedules")
    allowed: dict[str, Decimal] = {}
    for path in demo_run.by_kind("835"):
        lcn = ""
        for s in _segments(path):
            if s[0] == "CLP":
                reversal = s[2] == "22"
            elif s[0] == "REF" and s[1] == "6R":
                lcn = s[2]
            elif s[0] == "AMT" and s[1] == "B6" and not reversal:
                allowed[lcn] = Decimal(s[2])  # the last (corrected) wins
    voided = {
        r["patient_control_number"]
        for r in demo_run.truth
        if r["record"] == "claim" and r["outcome"] == "voided"
    }
    lines = [
        r
        for r in demo_run.truth
        if r["record"] == "line" and r["patient_control_number"] not in voided
    ]
    assert lines and all(r["line_control_number"] for r in lines)
    checked = 0
    for r in lines:
        if r["rate"] is not None:
            on = date.fromisoformat(r["service_date"])
            modifiers = tuple(r["modifiers"])
            rate = fees.rate(r["payer_id"], r["basis"], r["procedure_code"], modifiers, on)
            assert rate is not None and Decimal(r["rate"]) == rate
            expected = min(Decimal(r["charge_amount"]), (rate * Decimal(r["units"])).quantize(CENT))
            assert Decimal(r["expected_allowed"]) == expected
        if r["allowed_amount"] is not None and not r["denied"]:
            assert allowed[r["line_control_number"]] == Decimal(r["allowed_amount"])
            checked += 1
            if not r["problems"]:
                assert Decimal(r["allowed_amount"]) == Decimal(r["expected_allowed"])
    assert checked > 100


def test_same_seed_same_bytes_other_seed_differs(
    demo_run: Run, demo_inputs: Inputs, tmp_path: Path
) -> None:
    again = run_simulator(tmp_path / "again", demo_inputs, seed=7)
    first = {f.name: f.read_bytes() for f in demo_run.claims_files + demo_run.eligibility_files}
    second = {f.name: f.read_bytes() for f in again.claims_files + again.eligibility_files}
    assert first == second
    assert (demo_run.root / "ground_truth" / "truth.jsonl").read_bytes() == (
        again.root / "ground_truth" / "truth.jsonl"
    ).read_bytes()
    other = run_simulator(tmp_path / "other", demo_inputs, seed=8)
    third = {f.name: f.read_bytes() for f in other.claims_files + other.eligibility_files}
    assert third != first
    changed = [n for n in first if n.startswith("835") and first[n] != third.get(n)]
    assert changed


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_other_seeds_still_carry_every_kind(demo_inputs: Inputs, tmp_path: Path, seed: int) -> None:
    run = run_simulator(tmp_path, demo_inputs, seed=seed)
    kinds = {p["kind"] for r in run.truth if r["record"] == "claim" for p in r["problems"]}
    assert set(REQUIRED_KINDS) <= kinds
