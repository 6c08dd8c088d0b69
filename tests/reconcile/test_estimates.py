"""Patient estimates from the 271 summary and the fee schedule."""

from __future__ import annotations

from decimal import Decimal

from pipeline.reconcile import ReconcileResult

D = Decimal


def _by_id(result: ReconcileResult) -> dict[str, dict[str, object]]:
    return {r["appointment_id"]: r for r in result.tables["patient_estimates"].to_dict("records")}


def test_out_of_network_visit_shows_the_balance_bill(result: ReconcileResult) -> None:
    ap1 = _by_id(result)["AP1"]
    assert (ap1["basis"], ap1["allowed_amount"]) == ("ucr", D("314.40"))
    # OON deductible left 500 covers the visit, but the OON out-of-pocket cap leaves only 60.
    assert (ap1["deductible_applied"], ap1["patient_cost_share"]) == (D("314.40"), D("60.00"))
    assert ap1["plan_payment"] == D("254.40")
    assert ap1["balance_bill"] == D("78.60")  # charge 393 - UCR 314.40
    assert ap1["estimated_patient_total"] == D("138.60")


def test_in_network_office_visit_costs_the_copay_only(result: ReconcileResult) -> None:
    ap2 = _by_id(result)["AP2"]
    assert ap2["allowed_amount"] == D("170.30")
    # 99214 is an office visit (service type 98): the copay replaces deductible and
    # coinsurance, as the plan adjudicates it (the in-network deductible left stays 100).
    assert (ap2["deductible_applied"], ap2["coinsurance_amount"], ap2["copay"]) == (
        D(0),
        D(0),
        D("25.00"),
    )
    assert ap2["copay_service_types"] == "98"
    assert ap2["patient_cost_share"] == D("25.00") and ap2["plan_payment"] == D("145.30")
    assert ap2["balance_bill"] == D(0)


def test_nsa_protected_service_has_no_balance_bill(result: ReconcileResult) -> None:
    ap3 = _by_id(result)["AP3"]
    assert ap3["nsa_protected"] is True
    assert (ap3["basis"], ap3["allowed_amount"], ap3["balance_bill"]) == ("qpa", D("82.50"), D(0))
    # In-network cost sharing: the in-network deductible (100 left) takes the whole QPA.
    assert ap3["patient_cost_share"] == D("82.50")


def test_inactive_coverage_means_the_full_charge(result: ReconcileResult) -> None:
    ap4 = _by_id(result)["AP4"]
    assert ap4["procedure_codes"] == "99214"  # the default visit when none is planned
    assert ap4["estimated_patient_total"] == D("393.00") and ap4["plan_payment"] == D(0)
    assert "inactive" in str(ap4["note"])
