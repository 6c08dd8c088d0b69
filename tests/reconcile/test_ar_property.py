"""Property: for any simulated world, every dollar of every claim chain is in exactly one place.

Per chain, Σ insurance A/R + Σ patient A/R + Σ paid + Σ adjustments (the prior payers' on a
secondary claim included) = Σ charges, to the penny — with the charges taken from the 837P
records built and the payments from the 835 tables summed here (a reversal of a payment these
files never held does not count; a PLB WO naming a claim's CLP07 is taken back from it), not
from the code under test. Hypothesis draws the simulator's seed and a small slice of the demo
practice (secondary claims, replacements and voids always in it), a handful of examples.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.build.codes import load_code_sets
from pipeline.build.t837p import build_837p
from pipeline.clearinghouse.responder import Responder
from pipeline.parse import parse_file
from pipeline.practice import load_practice
from pipeline.reconcile import reconcile
from pipeline.reconcile.inputs import as_date, submitted_from_claim_records
from pipeline.settings import get_settings
from pipeline.x12.control import FileControlNumbers
from tests.conftest import ROOT

D = Decimal
ZERO = D(0)
PRACTICE = ROOT / "sample_edi" / "practice"
_PRACTICE = load_practice(PRACTICE).practice
_CODES = load_code_sets(get_settings().mappings_dir)
_ALWAYS = [e for e in _PRACTICE.encounters if e.frequency != "1" or e.encounter_id >= "E0147"][:10]
_OTHERS = [e for e in _PRACTICE.encounters if e not in _ALWAYS]


def _world(seed: int, picks: list[int], tmp: Path) -> tuple[object, dict[str, pd.DataFrame]]:
    encounters = _ALWAYS + [_OTHERS[i % len(_OTHERS)] for i in picks]
    today = max(e.service_date for e in _PRACTICE.encounters) + timedelta(days=1)
    claims_file = tmp / "claims.x12"
    with claims_file.open("w", encoding="utf-8") as fh:
        built = build_837p(
            _PRACTICE,
            fh,
            control_numbers=FileControlNumbers(tmp / "control.json"),
            today=today,
            codes=_CODES,
            encounters=encounters,
        )
    files = Responder(tmp / "world", seed=seed, practice=PRACTICE).respond(claims_file)
    parsed = [parse_file(f) for f in files if f.name.startswith("835")]
    remit = {
        name: pd.concat([p.tables[name] for p in parsed], ignore_index=True)
        for name in parsed[0].tables
    }
    return built, remit


def _paid_again(claims: pd.DataFrame, key: str) -> bool:
    """A CLP that adjudicates its PCN again, in another payment, while an earlier adjudication
    stands (no reversal of it in between): the money a ledger refuses to post twice."""
    dates = dict(zip(claims.claim_key, claims.payment_date, strict=True))
    row = claims[claims.claim_key == key].iloc[0]
    same = claims[claims.patient_control_number == row.patient_control_number]
    earlier = same[(same.payment_date <= dates[key]) & (same.claim_key != key)]
    adjudications = earlier[earlier.claim_status_code != "22"]
    reversals = earlier[earlier.claim_status_code == "22"]
    return (
        row.claim_status_code != "22"
        and len(adjudications) > len(reversals)
        and set(adjudications.trace_number) != {row.trace_number}
    )


def _paid_by_claim(remit: dict[str, pd.DataFrame], duplicates: set[str]) -> dict[str, Decimal]:
    claims = remit["remit_claims"]
    claims = claims[~claims.claim_key.isin(duplicates)]
    paid_icns = set(claims[claims.claim_status_code != "22"].payer_claim_control_number)
    owner = dict(zip(claims.payer_claim_control_number, claims.patient_control_number, strict=True))
    out: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for row in claims.itertuples():
        if row.claim_status_code != "22" or row.payer_claim_control_number in paid_icns:
            out[row.patient_control_number] += D(row.paid_amount)
    for row in remit["remit_provider_adjustments"].itertuples():
        if row.reason_code == "WO" and row.reference_id in owner:
            out[owner[row.reference_id]] -= D(row.amount)
    return out


@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    seed=st.integers(min_value=0, max_value=10_000),
    picks=st.lists(st.integers(min_value=0, max_value=500), min_size=8, max_size=20),
)
def test_every_dollar_of_every_chain_is_in_one_place(seed: int, picks: list[int]) -> None:
    with TemporaryDirectory() as folder:
        built, remit = _world(seed, picks, Path(folder))
    claims = built.claims  # type: ignore[attr-defined]
    network = {pid: str(p.network_status) for pid, p in _PRACTICE.payers.items()}
    today = max(e.service_date for e in _PRACTICE.encounters) + timedelta(days=1)
    as_of = max(as_date(d) for d in remit["remit_payments"].payment_date) + timedelta(days=1)
    result = reconcile(
        remit, submitted_from_claim_records(claims, network, default_submitted=today), as_of=as_of
    )
    ar = result.tables["ar_claims"].set_index("patient_control_number")
    dup = result.tables["duplicate_remittance"]
    claims_paid = remit["remit_claims"].merge(
        remit["remit_payments"][["trace_number", "payment_date"]], on="trace_number"
    )
    for key in dup.claim_key:  # each one checked on the raw rows, then kept out of paid
        assert _paid_again(claims_paid, key), key
    deposits = result.tables["deposits"].iloc[-1]
    assert deposits["duplicates_not_posted"] == sum(dup.paid_amount, ZERO)
    assert deposits["difference"] == ZERO
    paid = _paid_by_claim(remit, set(dup.claim_key))
    assert set(ar.index) == {c.patient_control_number for c in claims}
    for c in claims:
        charge = ZERO if c.frequency == "8" else c.total_charge
        prior = [o for o in c.other_payers if c.responsibility != "P" and o.paid_amount is not None]
        prior_paid = sum((o.paid_amount for o in prior), ZERO)
        prior_ids = {o.payer_id for o in prior}
        cas = [a for o in prior for a in o.adjustments] + [
            a
            for ln in c.lines
            for adj in ln.adjudications
            if adj.payer_id in prior_ids
            for a in adj.adjustments
        ]
        prior_adj = sum((a.amount for a in cas if a.group_code != "PR"), ZERO)
        row = ar.loc[c.patient_control_number]
        assert row["paid_amount"] == paid[c.patient_control_number], c.patient_control_number
        accounted = row["ar_balance"] + row["patient_responsibility"] + row["adjustment_amount"]
        assert accounted + paid[c.patient_control_number] + prior_paid + prior_adj == charge, (
            seed,
            c.patient_control_number,
        )
    totals = result.tables["ar_claims"]
    assert sum(totals.ar_balance, ZERO) == result.tables["ar_aging"].iloc[-1]["total"]
    assert (
        sum(totals.patient_responsibility, ZERO)
        == result.tables["patient_ar_aging"].iloc[-1]["total"]
    )
