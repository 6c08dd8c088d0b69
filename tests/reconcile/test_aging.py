"""A/R per claim (charges − payments − adjustments) and aging buckets by payer."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from pipeline.reconcile import ReconcileResult, Thresholds, reconcile, submitted_from_records
from pipeline.reconcile.aging import bucket
from tests.reconcile import scenario
from tests.reconcile.remit_builder import RemitBuilder

D = Decimal


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (0, "0_30"),
        (30, "0_30"),
        (31, "31_60"),
        (60, "31_60"),
        (61, "61_90"),
        (90, "61_90"),
        (91, "91_120"),
        (120, "91_120"),
        (121, "120_plus"),
        (400, "120_plus"),
    ],
)
def test_bucket_edges(age: int, expected: str) -> None:
    assert bucket(age) == expected


def test_every_dollar_of_a_charge_is_in_one_place(result: ReconcileResult) -> None:
    ar = result.tables["ar_claims"]
    for row in ar.to_dict("records"):
        assert row["charge_amount"] == (
            row["paid_amount"]
            + row["adjustment_amount"]
            + row["patient_responsibility"]
            + row["ar_balance"]
        ), row
    ar = ar.set_index("patient_control_number")
    # Patient A/R is what the patient is billed (the flags), insurance A/R what is still open.
    flags = result.tables["flags"]
    billed = flags[flags.flag.isin(["patient_responsibility", "paid_to_patient"])]
    for pcn, amount in billed.groupby("patient_control_number").amount_at_stake.sum().items():
        assert ar.loc[pcn, "patient_responsibility"] == amount, pcn
    open_ = ar[(ar.ar_balance != 0) & (ar.in_appeal_amount == 0)]
    assert sorted(open_.index) == ["N1", "N2"]
    assert (open_.loc["N1", "bucket"], open_.loc["N2", "bucket"]) == ("61_90", "0_30")


def test_appealed_denials_stay_in_insurance_ar(result: ReconcileResult) -> None:
    ar = result.tables["ar_claims"].set_index("patient_control_number")
    # B7: CO-50 on the whole claim (645.00), appealable and in time: not written off.
    assert (ar.loc["B7", "in_appeal_amount"], ar.loc["B7", "ar_balance"]) == (
        D("645.00"),
        D("645.00"),
    )
    assert ar.loc["B7", "status"] == "denied_in_appeal"
    # B9: a correctable denial is written off against a corrected claim, not kept open.
    assert ar.loc["B9", "ar_balance"] == 0
    aging = result.tables["ar_aging"].set_index("payer_id")
    assert aging.loc["CTS02", "denied_in_appeal"] == sum(
        ar[(ar.payer_id == "CTS02")].in_appeal_amount, D(0)
    )
    assert aging.loc["TOTAL", "total"] == sum(ar.ar_balance, D(0))


def test_patient_ar_is_aged_beside_insurance_ar(result: ReconcileResult) -> None:
    patients = result.tables["patient_ar_aging"].set_index("patient_name")
    ar = result.tables["ar_claims"]
    assert patients.loc["TOTAL", "total"] == sum(ar.patient_responsibility, D(0)) > 0
    # Billed on the 2025-11-20 payment, 25 days before 2025-12-15.
    assert patients.loc["Pat A1", "0_30"] == patients.loc["Pat A1", "total"] == D("20.00")


def test_aging_by_payer_with_every_bucket() -> None:
    as_of = date(2026, 3, 31)
    ages = {"0_30": 5, "31_60": 45, "61_90": 75, "91_120": 100, "120_plus": 200}
    claims, lines = [], []
    for i, (name, age) in enumerate(ages.items()):
        for payer, charge in (("NWH01", D("100.00") * (i + 1)), ("CTS02", D("10.00"))):
            pcn = f"{payer}{name}"
            dos = as_of - timedelta(days=age)
            claims.append(
                {
                    "patient_control_number": pcn,
                    "payer_id": payer,
                    "service_date_start": dos,
                    "charge_amount": charge,
                    "submitted_date": dos,
                    "ledger_state": "rejected",
                }
            )
            lines.append(
                {"patient_control_number": pcn, "procedure_code": "99214", "charge_amount": charge}
            )
    result = reconcile(
        RemitBuilder().tables(),
        submitted_from_records(claims, lines),
        scenario.fee_schedule(),
        scenario.payers(),
        as_of=as_of,
        codes=scenario.codes(),
        thresholds=Thresholds(D(5), D(3)),
    )
    aging = result.tables["ar_aging"].set_index("payer_id")
    assert [aging.loc["NWH01", b] for b in ages] == [
        D("100.00"),
        D("200.00"),
        D("300.00"),
        D("400.00"),
        D("500.00"),
    ]
    assert [aging.loc["CTS02", b] for b in ages] == [D("10.00")] * 5
    assert aging.loc["TOTAL", "total"] == D("1550.00")
    assert aging.loc["TOTAL", "claims"] == 10
    # Rejected at the front end: not chased as no_response.
    assert "no_response" not in set(result.tables["flags"].flag)
