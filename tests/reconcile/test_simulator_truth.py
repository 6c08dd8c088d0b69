"""The demo practice through the simulator: flags against its ground truth.

Build the 837P with the project's builder, let the embedded clearinghouse's payer engine answer
it (no SFTP), parse the 835s, reconcile against the claims as built, and compare with
``ground_truth/truth.jsonl``: underpaid and nsa_violation exactly (recall and precision 1.0),
every paid_to_patient, every denial and every protected service allowed below the QPA found (a
``payment_dispute``: the practice's offer is above the QPA, so more claims are disputed than
the simulator broke).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from pipeline.build.codes import load_code_sets
from pipeline.build.t837p import build_837p
from pipeline.clearinghouse.responder import Responder
from pipeline.parse import parse_file
from pipeline.practice import load_practice
from pipeline.reconcile import Thresholds, reconcile
from pipeline.reconcile.inputs import as_date, submitted_from_claim_records
from pipeline.reconcile.nsa_reference import load_nsa_reference
from pipeline.settings import get_settings
from pipeline.x12.control import FileControlNumbers

ROOT = Path(__file__).resolve().parents[2]
PRACTICE = ROOT / "sample_edi" / "practice"
FAMILY = {
    "underpaid": "underpaid",
    "nsa_below_qpa": "payment_dispute",  # open negotiation, not a violation
    "nsa_oon_cost_sharing": "nsa_violation",  # PR-45 and out-of-network cost sharing
    "paid_to_patient": "paid_to_patient",
}


def _family(kind: str) -> str | None:
    if kind.startswith("denied_"):
        return "denied"
    return next((f for prefix, f in FAMILY.items() if kind.startswith(prefix)), None)


def _money(value: object) -> Decimal:
    return Decimal(str(value or 0))


def _covered_secondaries(claims: list, remit_claims: pd.DataFrame) -> dict[str, Decimal]:
    """Secondary claims whose payer paid at least the primary's patient share: PCN -> excess.

    Recomputed from the raw data: the primary's PR adjustments in the 837 (2320/2430 CAS) and the
    secondary's CLP04 in its 835. Such a claim leaves nothing to chase, whatever the
    simulator cut on a line (an injected MPPR on a secondary that paid as primary): what it
    paid above the primary's patient share is a credit balance, not an underpayment.
    """
    paid = {
        pcn: _money(amount)
        for pcn, amount in zip(
            remit_claims.patient_control_number, remit_claims.paid_amount, strict=True
        )
    }
    out: dict[str, Decimal] = {}
    for claim in claims:
        if claim.responsibility != "S" or claim.patient_control_number not in paid:
            continue
        primary = [o for o in claim.other_payers if o.responsibility == "P"]
        adjustments = [a for o in primary for a in o.adjustments] + [
            a
            for line in claim.lines
            for adj in line.adjudications
            if adj.payer_id in {o.payer_id for o in primary}
            for a in adj.adjustments
        ]
        primary_pr = sum((a.amount for a in adjustments if a.group_code == "PR"), Decimal(0))
        excess = paid[claim.patient_control_number] - primary_pr
        if excess >= 0:
            out[claim.patient_control_number] = excess
    return out


# The envelope's time seeds the simulator (its answers follow the file's bytes): 02:20 on seed 7
# makes a secondary paid as primary with an injected MPPR cut, the case _covered_secondaries
# is about.
@pytest.mark.parametrize(("seed", "minute"), [(7, 0), (5, 0), (7, 20)])
def test_flags_match_the_simulator_ground_truth(tmp_path: Path, seed: int, minute: int) -> None:
    if not (PRACTICE / "encounters.csv").exists():
        pytest.skip("sample_edi/practice is not present")
    practice = load_practice(PRACTICE).practice
    today = max(e.service_date for e in practice.encounters) + timedelta(days=1)
    claims_file = tmp_path / "claims.x12"
    with claims_file.open("w", encoding="utf-8") as fh:
        built = build_837p(
            practice,
            fh,
            control_numbers=FileControlNumbers(tmp_path / "control.json"),
            today=today,
            codes=load_code_sets(get_settings().mappings_dir),
            now=datetime.combine(today, time(2, minute)),
        )
    world = tmp_path / "world"
    files = Responder(world, seed=seed, practice=PRACTICE).respond(claims_file)
    parsed = [parse_file(f) for f in files if f.name.startswith("835")]
    remit = {
        name: pd.concat([p.tables[name] for p in parsed], ignore_index=True)
        for name in parsed[0].tables
    }
    as_of = max(as_date(d) for d in remit["remit_payments"].payment_date) + timedelta(days=1)
    network = {pid: str(p.network_status) for pid, p in practice.payers.items()}
    submitted = submitted_from_claim_records(built.claims, network, default_submitted=today)
    # Every injected shortfall is in the truth, however small; the tolerance (both $5 and 3 %
    # of the claim) is pinned on the hand-made scenario, so here nothing is tolerated.
    # Nothing tolerated: no threshold on underpayments, and every protected line allowed below
    # the practice's offer is disputed (the policy's per-claim minimum is set to zero here).
    nsa = load_nsa_reference(get_settings().mappings_dir / "nsa")
    nsa = replace(nsa, policy=replace(nsa.policy, dispute_minimum=Decimal(0)))
    result = reconcile(
        remit,
        submitted,
        as_of=as_of,
        thresholds=Thresholds(Decimal(0), Decimal(0)),
        nsa_reference=nsa,
    )

    truth = [json.loads(line) for line in (world / "ground_truth" / "truth.jsonl").open()]
    want: set[tuple[str, str, str]] = set()
    for record in (r for r in truth if r["record"] == "claim"):
        for problem in record["problems"]:
            family = _family(problem["kind"])
            if family:
                lcn = problem["line_control_number"] or ""
                want.add((record["patient_control_number"], lcn, family))
    covered = _covered_secondaries(list(built.claims), remit["remit_claims"])
    want = {w for w in want if not (w[2] == "underpaid" and w[0] in covered)}
    flags = result.tables["flags"]
    overpaid = {
        pcn: _money(amount)
        for pcn, flag, amount in zip(
            flags.patient_control_number, flags.flag, flags.amount_at_stake, strict=True
        )
        if flag == "overpayment"
    }
    for pcn, excess in covered.items():
        if excess > 0:  # a credit balance to the cent, never a bill to the patient
            assert overpaid.get(pcn) == excess, pcn
    got = {
        (pcn, lcn, "denied" if flag.startswith("denied_") else flag)
        for pcn, lcn, flag in zip(
            flags.patient_control_number, flags.line_control_number, flags.flag, strict=True
        )
    }
    for family in ("underpaid", "nsa_violation"):
        assert {w for w in want if w[2] == family} == {g for g in got if g[2] == family}
    for family in ("paid_to_patient", "denied", "payment_dispute"):
        missing = {w for w in want if w[2] == family} - got
        assert not missing, f"{family} not found: {sorted(missing)}"
    assert {w[2] for w in want} >= {
        "underpaid",
        "nsa_violation",
        "payment_dispute",
        "paid_to_patient",
        "denied",
    }
    assert result.tables["payment_balance"].balanced.all()
    assert result.tables["unmatched"].empty
