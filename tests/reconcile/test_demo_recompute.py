"""The demo's money, recomputed by an auditor's route: only the raw X12 files the demo exchanged
(835s received, the 837P sent — split on their delimiters here, not parsed by the code under
test) and the practice's CSV export, agreeing to the cent with exports/*.csv.

Rules applied here, from DOMAIN.md and DESIGN.md: the latest CLP02 ≠ 22 of a claim is its
adjudication; every CLP04 counts as paid except a reversal (CLP02 22) of a payer claim number
(CLP07) these files never paid; a PLB WO naming a CLP07 is recouped from that claim. The patient
owes the PR amounts (never PR-100, which is what the plan paid the patient), and after a
secondary payer at most what the primary left (primary_eob*.csv) less what the secondary paid;
a secondary paying past that leaves a credit balance. A No Surprises Act visit to an
out-of-network payer is the NSA block's (in-network cost sharing from the 271, tested with
it): here only its dollars are checked to add up.
"""

from __future__ import annotations

import csv
import re
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import ROOT

D = Decimal
ZERO = D(0)
PRACTICE = ROOT / "sample_edi" / "practice"
NSA_POS = {"19", "21", "22", "23", "24"}
NSA_CODES = {"99281", "99282", "99283", "99284", "99285", "A0430", "A0431", "A0435", "A0436"}
NSA_RARCS = {"N830", *(f"N{n}" for n in range(864, 878))}


@dataclass
class Clp:
    pcn: str
    status: str
    charge: Decimal
    paid: Decimal
    icn: str
    trace: str
    cas: list[tuple[str, str, Decimal, bool]] = field(default_factory=list)  # grp, carc, amt, line
    rarcs: set[str] = field(default_factory=set)


def _segments(path: Path) -> tuple[list[list[str]], str]:
    text = path.read_text()
    element, composite, terminator = text[3], text[104], text[105]
    segs = [s.strip().split(element) for s in text.split(terminator) if s.strip()]
    return segs, composite


def _read_835s(folder: Path) -> tuple[list[Clp], list[tuple[str, str, Decimal]]]:
    clps: list[Clp] = []
    plb: list[tuple[str, str, Decimal]] = []  # (code, reference, amount)
    for path in sorted(folder.glob("835*")):
        segs, comp = _segments(path)
        trace, current, in_line = "", None, False
        for seg in segs:
            tag = seg[0]
            if tag == "TRN":
                trace = seg[2]
            elif tag == "CLP":
                current = Clp(seg[1], seg[2], D(seg[3]), D(seg[4]), seg[7], trace)
                clps.append(current)
                in_line = False
            elif tag == "SVC":
                in_line = True
            elif tag == "CAS" and current is not None:
                for i in range(2, len(seg), 3):
                    if seg[i]:
                        current.cas.append((seg[1], seg[i], D(seg[i + 1]), in_line))
            elif tag == "LQ" and current is not None and seg[1] == "HE":
                current.rarcs.add(seg[2])
            elif tag == "PLB":
                for i in range(3, len(seg), 2):
                    code, _, ref = seg[i].partition(comp)
                    plb.append((code, ref, D(seg[i + 1])))
            elif tag in ("SE", "LX"):
                current = None if tag == "SE" else current
    return clps, plb


def _read_837(folder: Path) -> dict[str, tuple[Decimal, str]]:
    """CLM01 → (CLM02, frequency CLM05-3) of every claim sent."""
    out: dict[str, tuple[Decimal, str]] = {}
    for path in sorted(folder.glob("837*")):
        segs, comp = _segments(path)
        for seg in segs:
            if seg[0] == "CLM":
                out[seg[1]] = (D(seg[2]), seg[5].split(comp)[2])
    return out


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _out_of_network() -> set[str]:
    oon = set()
    for path in (ROOT / "mappings" / "payers").glob("*.yaml"):
        for line in path.read_text().splitlines():
            if line.replace(" ", "") == "network_status:out_of_network":
                oon.add(path.stem)
    return oon


def _nsa_visits() -> set[str]:
    """PCNs of visits the No Surprises Act protects by POS, emergency or procedure."""
    encounters = {r["Visit #"]: r for r in _csv(PRACTICE / "encounters.csv")}
    codes: dict[str, set[str]] = defaultdict(set)
    for row in _csv(PRACTICE / "charges.csv"):
        codes[row["Visit #"]].add(row["CPT"])
    return {
        e["Claim #"]
        for visit, e in encounters.items()
        if e["POS"] in NSA_POS or e["Emergency"] == "Y" or codes[visit] & NSA_CODES
    }


def _primary_eob() -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    """PCN → (primary paid, its non-PR adjustments, its PR): claim level (primary_eob.csv) and
    per line (primary_eob_lines.csv)."""
    pcn = {r["Visit #"]: r["Claim #"] for r in _csv(PRACTICE / "encounters.csv")}
    adjustments: dict[str, list[str]] = defaultdict(list)
    paid: dict[str, Decimal] = {}
    for row in _csv(PRACTICE / "primary_eob.csv"):
        paid[row["Visit #"]] = D(row["Paid"])
        adjustments[row["Visit #"]] += row["Adjustments"].split(";")
    lines = PRACTICE / "primary_eob_lines.csv"
    for row in _csv(lines) if lines.exists() else []:
        adjustments[row["Visit #"]] += row["Adjustments"].split(";")
    out = {}
    for visit, amount in paid.items():
        adj = pr = ZERO
        for part in adjustments[visit]:
            code, _, value = part.strip().partition("=")
            if code.startswith("PR-"):
                pr += D(value)
            elif code:
                adj += D(value)
        out[pcn[visit]] = (amount, adj, pr)
    return out


def _money(value: str) -> Decimal:
    return D(value) if value else ZERO


@pytest.fixture(scope="module")
def demo(demo_run: tuple[Path, subprocess.CompletedProcess[str]]) -> Path:
    out, run = demo_run
    assert run.returncode == 0, run.stderr[-2000:]
    return out


def test_flags_and_ar_recomputed_from_the_raw_files_agree_to_the_cent(demo: Path) -> None:
    clps, plb = _read_835s(demo / "edi" / "received")
    sent = _read_837(demo / "edi" / "sent")
    oon, nsa, primary = _out_of_network(), _nsa_visits(), _primary_eob()
    payer_of = {
        r["patient_control_number"]: r["payer_id"] for r in _csv(demo / "exports" / "ar_claims.csv")
    }
    paid_icns = {c.icn for c in clps if c.status != "22"}
    by_pcn: dict[str, list[Clp]] = defaultdict(list)
    for c in clps:
        by_pcn[c.pcn].append(c)
    recouped: dict[str, Decimal] = defaultdict(lambda: ZERO)
    icn_owner = {c.icn: c.pcn for c in clps if c.status != "22"}
    for code, ref, amount in plb:
        if code == "WO" and ref in icn_owner:
            recouped[icn_owner[ref]] += amount

    want_patient, want_to_patient, want_credit, want_paid = {}, {}, {}, {}
    protected: set[str] = set()
    for pcn in sent:
        answers = by_pcn.get(pcn, [])
        books = [c for c in answers if c.status != "22" or c.icn in paid_icns]
        want_paid[pcn] = sum((c.paid for c in books), ZERO) - recouped[pcn]
        final = [c for c in answers if c.status != "22"]
        if not final:
            continue
        last = final[-1]
        if payer_of.get(pcn) in oon and (pcn in nsa or last.rarcs & NSA_RARCS):
            protected.add(pcn)
        billable = sum((a for g, r, a, _ in last.cas if g == "PR" and r != "100"), ZERO)
        to_patient = sum((a for _g, r, a, _ in last.cas if r == "100"), ZERO)
        if pcn in primary:
            left = primary[pcn][2]
            billable = min(billable, max(left - last.paid, ZERO))
            if last.paid > left:
                want_credit[pcn] = last.paid - left
        want_patient[pcn] = billable
        want_to_patient[pcn] = to_patient

    flags = _csv(demo / "exports" / "flags.csv")

    def flagged(name: str) -> dict[str, Decimal]:
        out: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for f in flags:
            if f["flag"] == name:
                out[f["patient_control_number"]] += D(f["amount_at_stake"])
        return dict(out)

    got_patient = {p: a for p, a in flagged("patient_responsibility").items() if p not in protected}
    assert got_patient == {p: a for p, a in want_patient.items() if a > 0 and p not in protected}
    assert len(got_patient) > 50
    assert flagged("overpayment") == want_credit
    got_to_patient = {p: a for p, a in flagged("paid_to_patient").items() if a}
    assert got_to_patient == {p: a for p, a in want_to_patient.items() if a}

    # A/R: one row per claim sent; every dollar of the charge accounted for.
    ar = {r["patient_control_number"]: r for r in _csv(demo / "exports" / "ar_claims.csv")}
    assert set(ar) == set(sent)
    for pcn, (charge, frequency) in sent.items():
        row = ar[pcn]
        charge = ZERO if frequency == "8" else charge
        prior_paid, prior_adj, _pr = primary.get(pcn, (ZERO, ZERO, ZERO))
        patient = want_patient.get(pcn, ZERO) + want_to_patient.get(pcn, ZERO)
        if pcn in protected:  # the NSA block's in-network limit: its sum still adds up
            patient = _money(row["patient_responsibility"])
        assert _money(row["charge_amount"]) == charge, pcn
        assert _money(row["paid_amount"]) == want_paid[pcn], pcn
        assert _money(row["patient_responsibility"]) == patient, pcn
        assert (_money(row["prior_paid_amount"]), _money(row["prior_adjustment_amount"])) == (
            prior_paid,
            prior_adj,
        ), pcn
        rest = _money(row["ar_balance"]) + _money(row["adjustment_amount"])
        assert rest == charge - prior_paid - prior_adj - want_paid[pcn] - patient, pcn
        if not [c for c in by_pcn.get(pcn, []) if c.status != "22"]:
            assert _money(row["ar_balance"]) == charge - prior_paid - prior_adj, pcn
        if pcn in want_credit:
            assert _money(row["ar_balance"]) == -want_credit[pcn], pcn

    # Deposits: BPR02 per trace = Σ CLP04 − Σ PLB, and the TOTAL row is their sum.
    deposits = _csv(demo / "exports" / "deposits.csv")
    total = sum((c.paid for c in clps), ZERO) - sum((a for _c, _r, a in plb), ZERO)
    assert _money(deposits[-1]["deposit_amount"]) == total
    assert _money(deposits[-1]["posted_total"]) == total
    assert {_money(d["difference"]) for d in deposits} == {ZERO}


def test_demo_over_billing_on_secondary_claims_is_gone(demo: Path) -> None:
    """LS0000147/148/149 (issue #11): the patient is billed at most the primary's PR."""
    flags = _csv(demo / "exports" / "flags.csv")
    billed = {
        f["patient_control_number"]: D(f["amount_at_stake"])
        for f in flags
        if f["flag"] == "patient_responsibility"
    }
    primary = _primary_eob()
    for pcn in ("LS0000147", "LS0000148", "LS0000149"):
        assert billed.get(pcn, ZERO) <= primary[pcn][2], pcn
    assert "LS0000147" not in billed  # was "Bill the patient 406.08"


def test_demo_report_is_as_of_the_business_date(
    demo: Path, demo_run: tuple[Path, subprocess.CompletedProcess[str]]
) -> None:
    html = (demo / "report.html").read_text()
    assert "As of November 27, 2026" in html  # payments are dated later; the run's date rules
    ar = _csv(demo / "exports" / "ar_claims.csv")
    void = next(r for r in ar if r["patient_control_number"] == "LS0000155V8")
    assert (void["ar_balance"], void["status"]) == ("0.00", "void")  # was 1242 (2× the charge)
    rejected_pcns = set()
    for path in (demo / "edi" / "received").glob("277CA*"):
        segs, _comp = _segments(path)
        pcn = ""
        for seg in segs:
            if seg[0] == "TRN" and seg[1] == "2":
                pcn = seg[2]
            elif seg[0] == "STC" and seg[1][:2] in ("A3", "A6", "A7", "A8") and pcn:
                rejected_pcns.add(pcn)
    assert rejected_pcns
    recon = _csv(demo / "exports" / "reconciliation.csv")
    assert {r["status"] for r in recon if r["patient_control_number"] in rejected_pcns} == {
        "rejected"
    }  # was awaiting_remittance
    flags = _csv(demo / "exports" / "flags.csv")
    assert {
        f["patient_control_number"] for f in flags if f["flag"] == "rejected_correct_resubmit"
    } == rejected_pcns
    held = _csv(demo / "exports" / "held_claims.csv")
    printed = re.search(r"held by the scrubber\s+(\d+)", demo_run[1].stdout)
    assert printed and len(held) == int(printed.group(1)) > 0
    assert all(r["reason"] for r in held)


def test_month_end_close_from_the_command(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``claimflow report --from 2026-12-01 --to 2026-12-31`` on the demo's ledger: the
    December deposits only (the 2027-01-11 one is after the close), as of 2026-12-31."""
    from typer.testing import CliRunner

    from pipeline.cli import app
    from pipeline.settings import get_settings

    monkeypatch.setenv("CLAIMFLOW_HOME", str(demo))
    monkeypatch.delenv("CLAIMFLOW_DATABASE_URL", raising=False)
    monkeypatch.setenv("CLAIMFLOW_PRACTICE_DIR", str(PRACTICE))
    get_settings.cache_clear()
    out = tmp_path / "december"
    try:
        run = CliRunner().invoke(
            app, ["report", "--from", "2026-12-01", "--to", "2026-12-31", "--out", str(out)]
        )
    finally:
        get_settings.cache_clear()
    assert run.exit_code == 0, run.output
    clps, _plb = _read_835s(demo / "edi" / "received")
    every_trace = {c.trace for c in clps}
    deposits = _csv(out / "exports" / "deposits.csv")
    traces = [d["trace_number"] for d in deposits[:-1]]
    assert "EFT8614500060" not in traces and len(traces) == len(every_trace) - 1
    assert "As of December 31, 2026" in (out / "report.html").read_text()
    assert "period 2026-12-01 to 2026-12-31" in (out / "report.html").read_text()
    bad = CliRunner().invoke(app, ["report", "--from", "2026-12-31", "--to", "2026-12-01"])
    assert bad.exit_code == 2 and "is after" in bad.output
