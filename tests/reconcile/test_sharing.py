"""Reconciliation's tables share equal cells and build rows as tuples: the values, their types
and the missing cells stay what the dict rows gave."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal

from pipeline.reconcile import ReconcileResult
from pipeline.reconcile.matching import match_remittance
from pipeline.reconcile.rules import (
    RECONCILIATION_COLUMNS,
    RECONCILIATION_ROW,
    Thresholds,
    evaluate,
    evaluate_rows,
    recon_dicts,
)
from pipeline.reconcile.sharing import Amounts, Pool
from tests.reconcile import scenario

D = Decimal


def test_equal_amounts_share_one_object_but_not_across_their_text() -> None:
    amounts = Amounts()
    first = D("12.50")
    assert amounts(first) is first
    assert amounts(D("12.50")) is first
    # Equal numbers that print differently stay apart (the exports print the text).
    assert str(amounts(D("12.5"))) == "12.5"
    assert str(amounts(D("-0.00"))) == "-0.00" and str(amounts(D("0.00"))) == "0.00"
    assert amounts.opt(None) is None


def test_pool_shares_texts_dates_and_amounts_only() -> None:
    pool = Pool()
    text = "".join(["under", "paid"])
    assert pool(text) is text and pool("".join(["under", "paid"])) is text
    day = date(2025, 11, 2)
    assert pool(day) is day and pool(date(2025, 11, 2)) is day
    moment = datetime(2025, 11, 2)
    assert pool(moment) is moment  # a datetime is not the equal date
    assert pool(True) is True and pool(None) is None
    assert pool(D("1.00")) is pool(D("1.00"))


def test_pms_posting_cells_a_row_never_had_stay_missing(result: ReconcileResult) -> None:
    pms = result.tables["pms_posting"]
    plb = pms[pms.record_type == "PLB"]
    assert len(plb)
    # The PLB rows have no service, claim status or CAS group: NaN as pd.DataFrame(dicts)
    # put them, the text columns filled with "".
    assert all(isinstance(v, float) and math.isnan(v) for v in plb.service_date)
    assert all(isinstance(v, float) and math.isnan(v) for v in plb.claim_status_code)
    assert set(plb.group_code) == {""} and set(plb.line_control_number) == {""}
    pay = pms[pms.record_type == "PAY"]
    assert set(pay.group_code) == {""} and set(pay.reason_code) == {""}
    adj = pms[pms.record_type == "ADJ"]
    assert "" not in set(adj.group_code) and all(type(v) is Decimal for v in adj.amount)


def test_payment_posting_columns_keep_their_kinds(result: ReconcileResult) -> None:
    posting = result.tables["payment_posting"]
    assert str(posting.matched.dtype) == "bool" and str(posting.effective.dtype) == "bool"
    assert set(posting.entry) <= {"line", "claim_adjustment", "provider_adjustment"}
    plb = posting[posting.entry == "provider_adjustment"]
    assert len(plb) and all(v is None for v in plb.allowed_amount)
    assert all(type(v) is Decimal for v in posting.contractual)
    # Equal split sums are one object (they were one per row).
    by_text: dict[str, set[int]] = {}
    for v in posting.patient_responsibility:
        if v:
            by_text.setdefault(str(v), set()).add(id(v))
    assert by_text and all(len(ids) == 1 for ids in by_text.values())


def test_evaluate_rows_are_evaluates_dicts_with_the_payer_name() -> None:
    args = (
        scenario.payers(),
        scenario.fee_schedule(),
        scenario.codes(),
        Thresholds(D("5.00"), D("3")),
        scenario.AS_OF,
    )
    match = match_remittance(scenario.remittance().tables(), scenario.submitted())
    _, rows = evaluate_rows(match, *args)
    match = match_remittance(scenario.remittance().tables(), scenario.submitted())
    _, dicts = evaluate(match, *args)
    assert [tuple(d.values()) for d in dicts] == [r[:-1] for r in rows]
    assert all(list(d) == list(RECONCILIATION_COLUMNS) for d in dicts)
    names = {k: p.name for k, p in scenario.payers().items()}
    assert [r[-1] for r in rows] == [names.get(d["payer_id"], "") for d in dicts]
    picked = recon_dicts(rows, pcns={dicts[0]["patient_control_number"]})
    assert picked and all(list(d) == list(RECONCILIATION_ROW) for d in picked)
    assert [d["line_control_number"] for d in picked] == [
        d["line_control_number"]
        for d in dicts
        if d["patient_control_number"] == dicts[0]["patient_control_number"]
    ]
    keyed = recon_dicts(rows, claim_keys={"no such claim key"})
    assert keyed == []


def test_the_remittances_codes_are_shared() -> None:
    match = match_remittance(scenario.remittance().tables(), scenario.submitted())
    adjustments = [a for r in match.remits for ln in r.lines for a in ln.adjustments]
    co = [a.group_code for a in adjustments if a.group_code == "CO"]
    assert len(co) > 1 and all(c is co[0] for c in co)
    codes = [ln.procedure_code for r in match.remits for ln in r.lines]
    assert all(c is next(x for x in codes if x == c) for c in codes)
