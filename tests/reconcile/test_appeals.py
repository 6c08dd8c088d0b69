"""Appeal worklist: every appealable flag, deadlines, priority and status."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pipeline.reconcile import ReconcileResult
from pipeline.reconcile.appeals import appeal_worklist

APPEALABLE = {"underpaid", "nsa_violation", "payment_dispute", "denied_appealable"}


def test_every_appealable_flag_is_on_the_worklist(result: ReconcileResult) -> None:
    flags = result.tables["flags"]
    items = result.tables["appeal_worklist"].set_index("appeal_id")
    appealable = flags[flags.flag.isin(APPEALABLE)]
    assert appealable.appeal_id.notna().all()
    assert set(appealable.appeal_id) == set(items.index)
    for appeal_id, members in appealable.groupby("appeal_id"):
        assert items.loc[appeal_id, "amount_at_stake"] == sum(members.amount_at_stake, Decimal(0))
        assert items.loc[appeal_id, "deadline"] == min(members.deadline)
    others = flags[~flags.flag.isin(APPEALABLE)]
    assert others.appeal_id.isna().all()


def test_families_deadlines_and_priority(result: ReconcileResult) -> None:
    items = result.tables["appeal_worklist"].set_index("appeal_id")
    assert items.loc["B4-nsa_open_negotiation", "deadline"] == date(2026, 1, 5)
    assert items.loc["B7-medical_necessity", "family"] == "medical_necessity"
    assert (
        items.loc["A6-coding_bundling", "days_left"]
        == (items.loc["A6-coding_bundling", "deadline"] - result.as_of).days
    )
    ranked = result.tables["appeal_worklist"]
    assert ranked.priority.tolist() == list(range(1, len(ranked) + 1))
    scores = ranked.priority_score.tolist()
    assert scores == sorted(scores, reverse=True)
    # An NSA notice due in 21 days outranks a larger underpayment due in 155.
    assert (
        items.loc["B4-nsa_open_negotiation", "priority"]
        < items.loc["A6-coding_bundling", "priority"]
    )
    # Balance billing is appealed to the plan (its own letter), on the appeal window.
    assert items.loc["B5-nsa", "family"] == "nsa"
    assert items.loc["B5-nsa", "deadline"] == date(2026, 5, 19)  # 2025-11-20 + 180 days


def test_status_from_the_ledger_and_the_clock() -> None:
    flag = {
        "patient_control_number": "X1",
        "line_control_number": "X1-1",
        "payer": "NWH01",
        "flag": "underpaid",
        "reason": "short",
        "expected_amount": Decimal("100"),
        "paid_amount": Decimal("50"),
        "amount_at_stake": Decimal("50"),
        "deadline": date(2026, 1, 10),
        "payment_date": date(2025, 7, 14),
        "letter": "underpayment",
    }
    late = appeal_worklist([dict(flag)], {}, date(2026, 2, 1))
    assert late[0]["status"] == "past_deadline" and late[0]["days_left"] == -22
    sent = appeal_worklist([dict(flag)], {"X1": "appealed"}, date(2026, 1, 1))
    assert sent[0]["status"] == "appealed"
    due = appeal_worklist([dict(flag)], {}, date(2026, 1, 1))
    assert (
        due[0]["status"] == "appeal_due" and due[0]["letter_html"] == "letters/X1-underpayment.html"
    )
