"""Each flag rule pinned on the synthetic scenario (tests/reconcile/scenario.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from pipeline.reconcile import ReconcileResult, Thresholds, reconcile
from pipeline.reconcile.rules import FLAG_COLUMNS
from tests.reconcile import scenario

D = Decimal
DESIGN_FLAG_COLUMNS = [
    "patient_control_number",
    "line_control_number",
    "payer",
    "flag",
    "reason",
    "basis",
    "expected_amount",
    "paid_amount",
    "amount_at_stake",
    "deadline",
    "action",
]


def _run(**overrides: object) -> ReconcileResult:
    args: dict[str, object] = {
        "fee_schedule": scenario.fee_schedule(),
        "payers": scenario.payers(),
        "as_of": scenario.AS_OF,
        "eligibility": scenario.eligibility(),
        "codes": scenario.codes(),
        "thresholds": Thresholds(D("5.00"), D("3")),
        "nsa_reference": scenario.nsa_reference(),
    }
    args.update(overrides)
    return reconcile(scenario.remittance().tables(), scenario.submitted(), **args)  # type: ignore[arg-type]


def _flags(result: ReconcileResult) -> set[tuple[str, str, str]]:
    f = result.tables["flags"]
    return set(zip(f.patient_control_number, f.line_control_number, f.flag, strict=True))


def _one(result: ReconcileResult, pcn: str, flag: str, lcn: str | None = None) -> dict[str, object]:
    f = result.tables["flags"]
    rows = f[(f.patient_control_number == pcn) & (f.flag == flag)]
    if lcn is not None:
        rows = rows[rows.line_control_number == lcn]
    assert len(rows) == 1, rows
    return rows.iloc[0].to_dict()


def test_flags_are_exactly_the_expected_findings(result: ReconcileResult) -> None:
    got = _flags(result)
    assert scenario.EXPECTED_FLAGS - got == set(), "missed findings (recall)"
    assert got - scenario.EXPECTED_FLAGS == set(), "extra findings (precision)"


def test_flags_table_starts_with_the_design_columns(result: ReconcileResult) -> None:
    assert list(result.tables["flags"].columns[: len(DESIGN_FLAG_COLUMNS)]) == DESIGN_FLAG_COLUMNS
    assert list(FLAG_COLUMNS[:11]) == DESIGN_FLAG_COLUMNS


def test_underpaid_against_contract_and_ucr(result: ReconcileResult) -> None:
    a2 = _one(result, "A2", "underpaid")
    # The patient's share is recomputed on the contract rate, at the payer's own 20/150 rate:
    # 170.30 x 20/150 = 22.71, so the payer owes 147.59, not 170.30 - 20.00 reported.
    assert (a2["basis"], a2["expected_amount"], a2["paid_amount"]) == (
        "contract",
        D("147.59"),
        D("130.00"),
    )
    assert a2["amount_at_stake"] == D("17.59")
    assert a2["deadline"] == scenario.PAID_ON + timedelta(days=180)  # payer appeal window
    b2 = _one(result, "B2", "underpaid")
    assert (b2["basis"], b2["expected_amount"], b2["amount_at_stake"]) == (
        "ucr",
        D("220.08"),  # UCR 314.40 - 30 % coinsurance on it (94.32), not the 60.00 reported
        D("80.08"),
    )


def test_down_coded_line_matched_on_svc06_is_underpaid(result: ReconcileResult) -> None:
    a9 = _one(result, "A9", "underpaid")
    assert a9["amount_at_stake"] == D("50.70")  # 99214 contract 170.30 - 99213 paid 119.60
    recon = result.tables["reconciliation"]
    assert recon[recon.patient_control_number == "A9"].match_method.tolist() == [
        "svc06_original_procedure"
    ]


def test_tolerated_only_when_small_in_dollars_and_percent(result: ReconcileResult) -> None:
    flagged = {p for p, _l, f in _flags(result) if f == "underpaid"}
    assert "A3" not in flagged  # $2.30 short of $150.30: under $5 and 1.5 % < 3 %
    assert "A4" not in flagged  # $4 short of $676: under $5 and 0.6 %
    assert "A12" not in flagged  # $16 short of $676: over $5 but 2.4 % < 3 %
    # Per claim: A11 is 5.75 + 0.15 = 5.90 short of 153.55 (3.8 %): both lines are flagged,
    # though the 0.15 on the venipuncture alone is far under $5.
    assert _one(result, "A11", "underpaid", "A11-2")["amount_at_stake"] == D("0.15")
    assert _one(result, "A11", "underpaid", "A11-1")["amount_at_stake"] == D("5.75")
    strict = _run(thresholds=Thresholds(D("0"), D("0")))
    assert {"A3", "A4"} <= {p for p, _l, f in _flags(strict) if f == "underpaid"}


def test_thresholds_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.settings import get_settings

    monkeypatch.setenv("CLAIMFLOW_UNDERPAID_THRESHOLD_AMOUNT", "25.00")
    monkeypatch.setenv("CLAIMFLOW_UNDERPAID_THRESHOLD_PERCENT", "20")
    get_settings.cache_clear()
    try:
        flagged = {p for p, _l, f in _flags(_run(thresholds=None)) if f == "underpaid"}
    finally:
        get_settings.cache_clear()
    assert "A2" not in flagged  # $20.30 (13.5 %) short is now within both thresholds
    assert "B2" in flagged


def test_multiple_procedure_reduction_is_payer_data(result: ReconcileResult) -> None:
    flagged = {(p, ln) for p, ln, f in _flags(result) if f == "underpaid"}
    assert ("A5", "A5-2") not in flagged  # NWH01's rule: the 2nd procedure at 50 %
    a6 = _one(result, "A6", "underpaid", "A6-1")
    assert "multiple-procedure reduction" in str(a6["reason"])
    assert a6["amount_at_stake"] == D("338.00")
    # CTS02 has no rule: a CO-59 cut is questioned whatever its size.
    assert _one(result, "B12", "underpaid", "B12-2")["amount_at_stake"] == D("3.60")
    # Without NWH01's rule the 50 % on A5's second procedure becomes an underpayment.
    payers = scenario.payers()
    payers["NWH01"] = replace(payers["NWH01"], rules=())
    assert ("A5", "A5-2", "underpaid") in _flags(_run(payers=payers))


def test_nsa_payment_disputes_are_open_negotiation_not_violations(
    result: ReconcileResult,
) -> None:
    b4 = _one(result, "B4", "payment_dispute")
    # Offer = our out-of-network (UCR) rate 319.20; the plan allowed 96.00 + 24.00.
    assert (b4["basis"], b4["expected_amount"], b4["amount_at_stake"]) == (
        "ucr",
        D("319.20"),
        D("199.20"),
    )
    assert "QPA is $166.25" in str(b4["reason"])
    # No notice sent yet: the next deadline is the notice's, 30 business days from the
    # payment on Thu 2025-11-20 (Thanksgiving, Christmas, New Year's Day skipped).
    assert b4["deadline"] == date(2026, 1, 5)
    assert ("B4", "B4-1", "nsa_violation") not in _flags(result)
    b5 = _one(result, "B5", "nsa_violation")
    assert "PR-45" in str(b5["reason"]) and b5["amount_at_stake"] == D("115.50")
    b6 = _one(result, "B6", "nsa_violation")
    # 40 % coinsurance taken where in-network 20 % of the recognized 166.25 = 33.25 applies.
    assert "in-network level $33.25" in str(b6["reason"]) and b6["amount_at_stake"] == D("33.25")
    assert not any(p == "B3" and f == "nsa_violation" for p, _l, f in _flags(result))


def test_nsa_patient_share_is_in_network_cost_sharing(result: ReconcileResult) -> None:
    assert _one(result, "B5", "patient_responsibility")["amount_at_stake"] == D("16.50")
    # B6: the patient owes 20 % of 166.25, not the 66.50 the plan put on them.
    assert _one(result, "B6", "patient_responsibility")["amount_at_stake"] == D("33.25")
    # Out of network, not protected: PR-45 is the patient's (balance bill).
    assert _one(result, "B1", "patient_responsibility")["amount_at_stake"] == D("172.92")


def test_oon_coinsurance_needs_the_271(result: ReconcileResult) -> None:
    without = _run(eligibility=None)
    assert ("B6", "B6-1", "nsa_violation") not in _flags(without)


def test_paid_to_patient(result: ReconcileResult) -> None:
    b10 = _one(result, "B10", "paid_to_patient")
    assert b10["amount_at_stake"] == D("220.08")
    assert "AOB" not in str(b10["action"])  # no assignment on file for B10
    assert not any(p == "B10" and f == "underpaid" for p, _l, f in _flags(result))


def test_denials_carry_carc_words_and_the_right_class(result: ReconcileResult) -> None:
    b7 = _one(result, "B7", "denied_appealable")
    assert str(b7["reason"]).startswith("CO-50 ") and "medical necessity" in str(b7["reason"])
    assert "N130" in str(b7["reason"]) and b7["letter"] == "medical_necessity"
    assert b7["amount_at_stake"] == D("516.00")  # the UCR the claim should have been paid at
    assert _one(result, "B8", "denied_appealable")["letter"] == "prior_auth"
    b9 = _one(result, "B9", "denied_correctable")
    assert "MA130" in str(b9["reason"]) and b9["deadline"] == scenario.DOS + timedelta(days=365)
    b11 = _one(result, "B11", "denied_appealable")
    assert b11["line_control_number"] == "B11-1" and b11["carc"] == "197"


def test_no_response_after_the_payer_window(result: ReconcileResult) -> None:
    n1 = _one(result, "N1", "no_response")
    assert n1["deadline"] == date(2025, 9, 20) + timedelta(days=180)  # timely filing
    assert n1["amount_at_stake"] == D("276.00")
    assert not any(p == "N2" for p, _l, _f in _flags(result))


def test_reversal_undoes_the_original(result: ReconcileResult) -> None:
    posting = result.tables["payment_posting"]
    a7 = posting[posting.patient_control_number == "A7"]
    assert sum(a7.paid_amount, D(0)) == D("150.30")  # 130.00 - 130.00 + 150.30
    assert a7.effective.tolist().count(True) == 1
    ar = result.tables["ar_claims"].set_index("patient_control_number")
    assert ar.loc["A7", "ar_balance"] == D(0)


def test_unmatched_remittance_is_queued_not_dropped(result: ReconcileResult) -> None:
    queue = result.tables["unmatched"]
    assert queue.patient_control_number.tolist() == ["ZZZ999"]
    assert queue.iloc[0].paid_amount == D("11.00")


def test_posted_equals_bpr02_per_trace(result: ReconcileResult) -> None:
    balance = result.tables["payment_balance"].set_index("trace_number")
    posting = result.tables["payment_posting"]
    for trace, row in balance.iterrows():
        posted = sum(posting[posting.trace_number == trace].paid_amount, D(0))
        assert posted == row.posted_amount
        if trace != "CHK400":
            assert posted == row.payment_amount and row.difference == D(0) and row.balanced
    # CHK400's BPR02 says 10.00 while its claim paid 11.00: reported, not hidden.
    assert balance.loc["CHK400", "difference"] == D("-1.00")
    assert not balance.loc["CHK400", "balanced"]
    # PLB: L6 interest -2.50 raises, WO 20.00 lowers EFT200's payment.
    assert balance.loc["EFT200", "provider_adjustments"] == D("17.50")


def test_line_matching_falls_back_to_code_date_and_modifiers(result: ReconcileResult) -> None:
    recon = result.tables["reconciliation"]
    a8 = recon[recon.patient_control_number == "A8"].set_index("line_control_number")
    assert a8.loc["A8-1", "match_method"] == "procedure_date_dropped_modifiers"  # 25 dropped
    assert a8.loc["A8-2", "match_method"] == "procedure_date_modifiers"
    assert set(recon[recon.patient_control_number == "A1"].match_method) == {"ref_6r"}
