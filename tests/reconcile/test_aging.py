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


def test_ar_is_charges_minus_payments_minus_adjustments(result: ReconcileResult) -> None:
    ar = result.tables["ar_claims"]
    for row in ar.to_dict("records"):
        assert row["ar_balance"] == (
            row["charge_amount"] - row["paid_amount"] - row["adjustment_amount"]
        )
        if row["remittances"]:  # adjudicated (balanced 835s): nothing left with the payer
            assert row["ar_balance"] == D(0), row
    open_ = ar[ar.ar_balance != 0].set_index("patient_control_number")
    assert sorted(open_.index) == ["N1", "N2"]
    assert (open_.loc["N1", "bucket"], open_.loc["N2", "bucket"]) == ("61_90", "0_30")


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
