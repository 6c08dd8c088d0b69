"""Money a billing office acts on, one hand-made case per defect (issue #11).

Each case is built from claims as submitted and 835 tables written by ``RemitBuilder``; the
expected amounts are worked out in the comments from those inputs, not taken from the code.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd

from pipeline.reconcile import ReconcileResult, Thresholds, reconcile, submitted_from_records
from tests.reconcile import scenario
from tests.reconcile.remit_builder import Line, RemitBuilder

D = Decimal
# 2025: the scenario's fee schedule doubles NWH01's contract rates from 2026-01-01.
DOS = date(2025, 10, 5)
PAID = date(2025, 11, 2)
AS_OF = date(2025, 11, 27)
LATER = date(2025, 11, 20)


def _claim(pcn: str, payer: str, charge: str, **extra: Any) -> dict[str, Any]:
    return {
        "patient_control_number": pcn,
        "payer_id": payer,
        "network_status": "in_network" if payer == "NWH01" else "out_of_network",
        "place_of_service": "11",
        "frequency_code": "1",
        "service_date_start": DOS,
        "charge_amount": D(charge),
        "aob": True,
        "submitted_date": DOS,
        "member_id": f"M{pcn}",
        "patient_name": f"Pat {pcn}",
    } | extra


def _line(pcn: str, n: int, code: str, charge: str) -> dict[str, Any]:
    return {
        "patient_control_number": pcn,
        "line_control_number": f"{pcn}-{n}",
        "line_number": n,
        "procedure_code": code,
        "charge_amount": D(charge),
        "service_date": DOS,
    }


def _run(
    claims: list[dict[str, Any]],
    lines: list[dict[str, Any]],
    remit: RemitBuilder,
    **kw: Any,
) -> ReconcileResult:
    args: dict[str, Any] = {
        "fee_schedule": scenario.fee_schedule(),
        "payers": scenario.payers(),
        "as_of": AS_OF,
        "codes": scenario.codes(),
        "thresholds": Thresholds(D("5.00"), D("3")),
    } | kw
    return reconcile(remit.tables(), submitted_from_records(claims, lines), **args)


def _flags(result: ReconcileResult, pcn: str, flag: str) -> pd.DataFrame:
    f = result.tables["flags"]
    return f[(f.patient_control_number == pcn) & (f.flag == flag)]


def _ar(result: ReconcileResult) -> pd.DataFrame:
    return result.tables["ar_claims"].set_index("patient_control_number")


def _balanced(result: ReconcileResult) -> None:
    for row in result.tables["ar_claims"].to_dict("records"):
        assert row["charge_amount"] == (
            row["prior_paid_amount"]
            + row["prior_adjustment_amount"]
            + row["paid_amount"]
            + row["adjustment_amount"]
            + row["patient_responsibility"]
            + row["ar_balance"]
        ), row


# --- secondary claims ------------------------------------------------------------------------
# The demo's LS0000147: primary NWH01 paid 400.95, CO-45 218.70, PR-1 109.35 on a 729.00 claim;
# the secondary CTS02 answered CLP02 1 (as primary) and paid 322.92 with PR 406.08.
_SECONDARY = {
    "responsibility": "S",
    "prior_paid_amount": D("400.95"),
    "prior_patient_responsibility": D("109.35"),
    "prior_adjustment_amount": D("218.70"),
}


def _secondary_case(status: str, paid: str, adjustments: list[tuple[str, str, str]]) -> Any:
    claims = [_claim("S1", "CTS02", "729.00", **_SECONDARY)]
    lines = [_line("S1", 1, "29881", "729.00")]
    b = RemitBuilder().payment("CHK1", PAID, "CTS02")
    b.claim("CHK1", "S1", [Line("S1-1", "29881", "729.00", paid, None, adjustments)], status=status)
    return _run(claims, lines, b)


def test_secondary_paid_as_primary_is_a_credit_not_a_patient_bill() -> None:
    result = _secondary_case(
        "1", "322.92", [("PR", "1", "45.00"), ("PR", "2", "215.28"), ("PR", "45", "145.80")]
    )
    # Before: "Bill the patient 406.08". The primary left 109.35 to the patient and this payer
    # paid 322.92 of it: the patient owes nothing; 322.92 − 109.35 = 213.57 is a credit balance.
    assert _flags(result, "S1", "patient_responsibility").empty
    over = _flags(result, "S1", "overpayment")
    assert over.amount_at_stake.tolist() == [D("213.57")]
    assert "processed as primary (CLP02 1, no OA-23)" in over.reason.iloc[0]
    ar = _ar(result)
    assert (ar.loc["S1", "patient_responsibility"], ar.loc["S1", "ar_balance"]) == (
        D("0"),
        D("-213.57"),
    )
    assert ar.loc["S1", "status"] == "credit_balance"
    assert result.tables["ar_aging"].set_index("payer_id").loc["CTS02", "credit_balance"] == D(
        "-213.57"
    )
    _balanced(result)


def test_secondary_patient_share_is_capped_by_the_primarys() -> None:
    # CLP02 2 with OA-23: paid 60.00, PR 80.00 → the patient owes at most 109.35 − 60.00 = 49.35.
    result = _secondary_case(
        "2", "60.00", [("OA", "23", "589.00"), ("PR", "1", "50.00"), ("PR", "2", "30.00")]
    )
    pr = _flags(result, "S1", "patient_responsibility")
    assert pr.amount_at_stake.tolist() == [D("49.35")]
    assert "capped at 49.35" in pr.reason.iloc[0]
    assert _flags(result, "S1", "overpayment").empty
    # Expected secondary payment is never more than the primary's PR (109.35).
    recon = result.tables["reconciliation"]
    assert recon[recon.patient_control_number == "S1"].expected_payment.tolist() == [D("109.35")]
    _balanced(result)


# --- A/R: chains, voids, reversals before the ledger -----------------------------------------
def test_void_of_a_claim_from_before_the_ledger_leaves_nothing_in_ar() -> None:
    # The demo's LS0000155V8: a void (freq 8) whose original was paid before this ledger; the
    # payer's CLP02 22 negates it (CO-96 −621). Before: A/R 1,242.00 (2× the charge).
    claims = [
        _claim("V8", "CTS02", "621.00", frequency_code="8", payer_claim_control_number="OLD1")
    ]
    lines = [_line("V8", 1, "29881", "621.00")]
    b = RemitBuilder().payment("CHK1", PAID, "CTS02")
    b.claim(
        "CHK1",
        "V8",
        [Line("V8-1", "29881", "621.00", "0", None, [("CO", "96", "621.00")])],
        status="22",
        sign=-1,
        icn="OLD1",
    )
    result = _run(claims, lines, b)
    ar = _ar(result)
    assert (
        ar.loc["V8", ["charge_amount", "paid_amount", "adjustment_amount", "ar_balance"]].tolist()
        == [D(0)] * 4
    )
    assert ar.loc["V8", "status"] == "void"
    assert result.tables["ar_aging"].iloc[-1]["total"] == D(0)
    review = result.tables["review_items"]
    assert review.kind.tolist() == ["reversal_before_ledger"]
    # Posted all the same: the money moved (0 here) and the trace still balances.
    assert result.tables["deposits"].iloc[-1]["difference"] == D(0)


def _chain_case(frequency: str) -> ReconcileResult:
    """O1 paid 150.30 (ICN O1ICN); then O1R (freq 7/8, REF*F8 O1ICN): the payer reverses O1
    and, for a replacement, pays the new version."""
    claims = [
        _claim("O1", "NWH01", "393.00"),
        _claim(
            "O1R",
            "NWH01",
            "393.00",
            frequency_code=frequency,
            payer_claim_control_number="O1ICN",
            submitted_date=date(2025, 11, 10),
        ),
    ]
    lines = [_line("O1", 1, "99214", "393.00"), _line("O1R", 1, "99214", "393.00")]
    paid = [("CO", "45", "222.70"), ("PR", "2", "20.00")]
    b = RemitBuilder().payment("E1", PAID, "NWH01").payment("E2", LATER, "NWH01")
    first = b.claim(
        "E1", "O1", [Line("O1-1", "99214", "393.00", "150.30", "170.30", paid)], icn="O1ICN"
    )
    b.claim(
        "E2",
        "O1",
        [Line("O1-1", "99214", "393.00", "150.30", "170.30", paid)],
        status="22",
        sign=-1,
        reversal_of=first,
        icn="O1ICN",
    )
    if frequency == "7":
        b.claim("E2", "O1R", [Line("O1R-1", "99214", "393.00", "150.30", "170.30", paid)])
    return _run(claims, lines, b)


def test_replacement_nets_against_its_original() -> None:
    result = _chain_case("7")
    ar = result.tables["ar_claims"]
    # One chain, its charge once (before: 393.00 open on O1 beside the paid replacement).
    assert ar.patient_control_number.tolist() == ["O1R"]
    row = ar.iloc[0]
    assert row["chain"] == "O1 O1R"
    assert (row["charge_amount"], row["paid_amount"], row["ar_balance"]) == (
        D("393.00"),
        D("150.30"),
        D("0.00"),
    )
    assert row["patient_responsibility"] == D("20.00")
    _balanced(result)


def test_void_closes_the_original_at_zero() -> None:
    result = _chain_case("8")
    row = result.tables["ar_claims"].iloc[0]
    assert (row["chain"], row["status"]) == ("O1 O1R", "void")
    assert [row[c] for c in ("charge_amount", "paid_amount", "ar_balance")] == [D(0)] * 3
    _balanced(result)


# --- rejected claims -------------------------------------------------------------------------
def test_rejected_claim_is_rejected_everywhere_with_its_reason() -> None:
    reason = "277CA A3:33:IL — Subscriber and subscriber id not found"
    claims = [_claim("R1", "NWH01", "393.00", ledger_state="rejected", reject_reason=reason)]
    result = _run(claims, [_line("R1", 1, "99214", "393.00")], RemitBuilder())
    recon = result.tables["reconciliation"]
    assert recon.status.tolist() == ["rejected"]  # before: awaiting_remittance
    flag = _flags(result, "R1", "rejected_correct_resubmit")
    assert flag.reason.tolist() == [reason]
    assert "frequency 1" in flag.action.iloc[0] and flag.amount_at_stake.tolist() == [D("393.00")]
    assert _ar(result).loc["R1", "status"] == "rejected"


# --- underpayment: the patient's share recomputed on the expected allowed --------------------
def test_coinsurance_from_the_271_is_applied_to_the_contract_rate() -> None:
    # Contract 170.30; the payer allowed 170.30 but took 30 % coinsurance (51.09) where the 271
    # says 20 %: the patient owes 34.06, so the payer owes 136.24 and paid 119.21 → 17.03 short.
    claims = [_claim("C1", "NWH01", "393.00")]
    b = RemitBuilder().payment("E1", PAID, "NWH01")
    b.claim(
        "E1",
        "C1",
        [
            Line(
                "C1-1",
                "99214",
                "393.00",
                "119.21",
                "170.30",
                [("CO", "45", "222.70"), ("PR", "2", "51.09")],
            )
        ],
    )
    elig = pd.DataFrame(
        [
            {
                "member_id": "MC1",
                "in_network_coinsurance": D("20"),
                "in_network_deductible_remaining": D("0"),
            }
        ]
    )
    result = _run(claims, [_line("C1", 1, "99214", "393.00")], b, eligibility=elig)
    flag = _flags(result, "C1", "underpaid")
    assert (flag.expected_amount.iloc[0], flag.amount_at_stake.iloc[0]) == (D("136.24"), D("17.03"))
    # Without the 271 the payer's own 30 % stands: nothing to claim.
    assert _flags(_run(claims, [_line("C1", 1, "99214", "393.00")], b), "C1", "underpaid").empty


def test_deductible_is_capped_by_what_the_271_says_remains() -> None:
    # Deductible remaining 50.00 per the 271, the payer took 120.00: 70.00 too much on the patient.
    claims = [_claim("C2", "NWH01", "393.00")]
    b = RemitBuilder().payment("E1", PAID, "NWH01")
    b.claim(
        "E1",
        "C2",
        [
            Line(
                "C2-1",
                "99214",
                "393.00",
                "50.30",
                "170.30",
                [("CO", "45", "222.70"), ("PR", "1", "120.00")],
            )
        ],
    )
    elig = pd.DataFrame([{"member_id": "MC2", "in_network_deductible_remaining": D("50.00")}])
    result = _run(claims, [_line("C2", 1, "99214", "393.00")], b, eligibility=elig)
    assert _flags(result, "C2", "underpaid").amount_at_stake.tolist() == [D("70.00")]


# --- PLB -------------------------------------------------------------------------------------
def test_plb_recoupment_naming_a_claim_reduces_its_net_paid() -> None:
    claims = [_claim("P1", "NWH01", "393.00")]
    paid = [("CO", "45", "222.70"), ("PR", "2", "20.00")]
    b = RemitBuilder().payment("E1", PAID, "NWH01").payment("E2", LATER, "NWH01")
    b.claim("E1", "P1", [Line("P1-1", "99214", "393.00", "150.30", "170.30", paid)], icn="ICNP1")
    b.claim(
        "E2", "P1X", [Line("X-1", "99213", "276.00", "100.00", "100.00", [("CO", "45", "176.00")])]
    )
    b.provider_adjustment("E2", "WO", "48.67", "ICNP1")  # recouped from P1
    b.provider_adjustment("E2", "L6", "-1.16", "ICNP1")  # interest: income, not the claim's
    b.provider_adjustment("E2", "CS", "10.00", "UNKNOWN7")  # names nothing: stays open
    result = _run(claims, [_line("P1", 1, "99214", "393.00")], b)
    ar = _ar(result)
    assert (ar.loc["P1", "paid_amount"], ar.loc["P1", "recouped_amount"]) == (
        D("101.63"),
        D("48.67"),
    )
    assert (ar.loc["P1", "ar_balance"], ar.loc["P1", "status"]) == (D("48.67"), "recouped")
    plb = result.tables["provider_adjustments"].set_index("reason_code")
    assert plb.loc["WO", ["patient_control_number", "status"]].tolist() == [
        "P1",
        "applied_to_claim",
    ]
    assert plb.loc["L6", "status"] == "income"
    assert plb.loc["CS", "status"] == "open_receivable"
    review = result.tables["review_items"]
    assert sorted(review.kind) == ["plb_open", "plb_recoupment"]
    posting = result.tables["payment_posting"]
    wo = posting[posting.procedure_code == "PLB WO"]
    assert wo.patient_control_number.tolist() == ["P1"] and wo.paid_amount.tolist() == [D("-48.67")]
    _balanced(result)


def test_forwarding_balance_pairs_offset() -> None:
    b = RemitBuilder().payment("E1", PAID, "NWH01").payment("E2", LATER, "NWH01")
    b.provider_adjustment("E1", "FB", "-30.00", "NWH01251102")
    b.provider_adjustment("E2", "FB", "30.00", "NWH01251102")
    result = _run([], [], b)
    assert result.tables["provider_adjustments"].status.tolist() == ["offset", "offset"]
    assert result.tables["review_items"].empty


# --- duplicates ------------------------------------------------------------------------------
def _paid_twice() -> tuple[list[dict[str, Any]], list[dict[str, Any]], RemitBuilder]:
    claims = [_claim("DU", "NWH01", "393.00")]
    lines = [_line("DU", 1, "99214", "393.00")]
    paid = [("CO", "45", "222.70"), ("PR", "2", "20.00")]
    b = RemitBuilder().payment("E1", PAID, "NWH01").payment("E2", LATER, "NWH01")
    b.claim("E1", "DU", [Line("DU-1", "99214", "393.00", "150.30", "170.30", paid)])
    b.claim("E2", "DU", [Line("DU-1", "99214", "393.00", "150.30", "170.30", paid)], key="E2-dup")
    return claims, lines, b


def test_a_claim_paid_again_under_another_check_is_never_posted_twice() -> None:
    result = _run(*_paid_twice())
    posting = result.tables["payment_posting"]
    assert sum(posting.paid_amount, D(0)) == D("150.30")  # before: 300.60
    dup = result.tables["duplicate_remittance"]
    assert (dup.claim_key.tolist(), dup.paid_amount.tolist()) == (["E2-dup"], [D("150.30")])
    # The money did reach the bank: the deposit ties with it held back, not posted.
    deposits = result.tables["deposits"].set_index("trace_number")
    assert deposits.loc[
        "E2", ["deposit_amount", "posted_total", "duplicates_not_posted", "difference"]
    ].tolist() == [
        D("150.30"),
        D("0"),
        D("150.30"),
        D("0"),
    ]
    ar = _ar(result)
    assert (ar.loc["DU", "paid_amount"], ar.loc["DU", "ar_balance"]) == (D("150.30"), D("0.00"))
    assert _flags(result, "DU", "patient_responsibility").amount_at_stake.tolist() == [D("20.00")]
    assert result.summary["paid"] == D("150.30")


def test_the_ledgers_refusal_decides_what_is_a_duplicate() -> None:
    claims, lines, b = _paid_twice()
    # An appeal decision re-adjudicating the claim: the ledger took it, so it is posted.
    accepted = _run(claims, lines, b, refused={})
    assert accepted.tables["duplicate_remittance"].empty
    refused = _run(claims, lines, b, refused={"E2-dup": "the ledger refused it: already paid"})
    assert refused.tables["duplicate_remittance"].reason.tolist() == [
        "the ledger refused it: already paid"
    ]


def test_an_era_received_twice_is_counted_once() -> None:
    claims = [_claim("DE", "NWH01", "393.00")]
    paid = [("CO", "45", "222.70"), ("PR", "2", "20.00")]
    b = RemitBuilder().payment("E1", PAID, "NWH01")
    b.claim("E1", "DE", [Line("DE-1", "99214", "393.00", "150.30", "170.30", paid)])
    b.provider_adjustment("E1", "L6", "-1.00", "INT")
    tables = b.tables()
    again = {name: frame.copy() for name, frame in tables.items()}
    again["remit_payments"]["source_file"] = "E1_AGAIN.835"
    again["remit_claims"]["claim_key"] = "E1-again"
    for name in ("remit_service_lines", "remit_adjustments"):
        again[name]["claim_key"] = "E1-again"
    for name in ("remit_claims", "remit_provider_adjustments"):
        tables[name]["source_file"] = "E1.835"
        again[name]["source_file"] = "E1_AGAIN.835"
    both = {n: pd.concat([tables[n], again[n]], ignore_index=True) for n in tables}
    result = reconcile(
        both,
        submitted_from_records(claims, [_line("DE", 1, "99214", "393.00")]),
        scenario.fee_schedule(),
        scenario.payers(),
        as_of=AS_OF,
        codes=scenario.codes(),
        thresholds=Thresholds(D(5), D(3)),
    )
    deposits = result.tables["deposits"]
    assert deposits.deposit_amount.tolist() == [D("151.30"), D("151.30")]  # one trace + TOTAL
    assert deposits.difference.tolist() == [D(0), D(0)]
    assert sum(result.tables["payment_posting"].paid_amount, D(0)) == D("151.30")
    assert result.tables["duplicate_remittance"].claim_key.tolist() == ["E1-again"]


# --- CARC group-aware ------------------------------------------------------------------------
def test_co_204_is_a_denial_to_appeal_not_a_patient_bill() -> None:
    claims = [_claim("G1", "NWH01", "393.00"), _claim("G2", "NWH01", "393.00")]
    lines = [_line("G1", 1, "99214", "393.00"), _line("G2", 1, "99214", "393.00")]
    b = RemitBuilder().payment("E1", PAID, "NWH01")
    b.claim("E1", "G1", [Line("G1-1", "99214", "393.00", "0", None, [("CO", "204", "393.00")])])
    b.claim("E1", "G2", [Line("G2-1", "99214", "393.00", "0", None, [("PR", "204", "393.00")])])
    result = _run(claims, lines, b)
    assert _flags(result, "G1", "denied_appealable").carc.tolist() == ["204"]
    assert _flags(result, "G1", "patient_responsibility").empty
    assert _flags(result, "G2", "patient_responsibility").amount_at_stake.tolist() == [D("393.00")]
    book = scenario.codes()
    for carc in ("204", "119", "49", "35"):
        assert book.carc_action("CO", carc).action != "patient_responsibility", carc
        assert book.carc_action("PR", carc).action == "patient_responsibility", carc


def test_co_45_on_an_out_of_network_claim_is_questioned() -> None:
    claims = [_claim("O45", "CTS02", "393.00"), _claim("OK", "CTS02", "393.00")]
    lines = [_line("O45", 1, "99214", "393.00"), _line("OK", 1, "99214", "393.00")]
    ucr = [("PR", "2", "62.88")]
    b = RemitBuilder().payment("C1", PAID, "CTS02")
    b.claim(
        "C1",
        "O45",
        [Line("O45-1", "99214", "393.00", "251.52", "314.40", [("CO", "45", "78.60"), *ucr])],
    )
    b.claim(
        "C1",
        "OK",
        [Line("OK-1", "99214", "393.00", "251.52", "314.40", [("PR", "45", "78.60"), *ucr])],
    )
    result = _run(claims, lines, b)
    flag = _flags(result, "O45", "misclassified_co45")
    assert (flag.line_control_number.tolist(), flag.amount_at_stake.tolist()) == (
        ["O45-1"],
        [D("78.60")],
    )
    assert _flags(result, "OK", "misclassified_co45").empty


# --- period ----------------------------------------------------------------------------------
def test_a_period_is_the_books_at_its_end_and_the_activity_in_it() -> None:
    from pipeline.reconcile.period import Period

    claims, lines, b = _paid_twice()
    november = _run(
        claims, lines, b, refused={}, period=Period(date(2025, 11, 10), date(2025, 11, 30))
    )
    assert november.tables["deposits"].trace_number.tolist() == ["E2", "TOTAL"]
    assert november.tables["payment_posting"].trace_number.unique().tolist() == ["E2"]
    october = _run(claims, lines, b, refused={}, period=Period(None, date(2025, 11, 10)))
    assert october.as_of == date(2025, 11, 10)
    assert october.tables["deposits"].trace_number.tolist() == ["E1", "TOTAL"]
    assert _ar(october).loc["DU", "paid_amount"] == D("150.30")  # E2 had not happened yet


def test_a_secondary_is_underpaid_only_when_the_claim_is() -> None:
    # Two lines; the cap (prior PR 109.35) is split over them as an estimate. The payer paid
    # 109.35 all on line 1: the claim is whole, so neither line is underpaid.
    claims = [_claim("S2", "CTS02", "729.00", **_SECONDARY)]
    lines = [_line("S2", 1, "29881", "531.00"), _line("S2", 2, "20610", "198.00")]
    b = RemitBuilder().payment("CHK1", PAID, "CTS02")
    b.claim(
        "CHK1",
        "S2",
        [
            Line("S2-1", "29881", "531.00", "109.35", None, [("OA", "23", "421.65")]),
            Line("S2-2", "20610", "198.00", "0", None, [("OA", "23", "198.00")]),
        ],
        status="2",
    )
    whole = _run(claims, lines, b, thresholds=Thresholds(D(0), D(0)))
    assert _flags(whole, "S2", "underpaid").empty
    assert _flags(whole, "S2", "overpayment").empty
    _balanced(whole)
