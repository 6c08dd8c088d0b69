"""NSA case and appeal events: append-only, replay-safe, and in an allowed order only."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from pipeline.errors import IllegalTransition, LedgerError
from pipeline.ledger import Ledger
from pipeline.ledger.cases import NewCaseEvent, nsa_case_id

D = Decimal


def _nsa(event: str, on: dt.date, **kw: object) -> NewCaseEvent:
    return NewCaseEvent(nsa_case_id("LS1"), "LS1", "nsa", event, on, **kw)  # type: ignore[arg-type]


def test_nsa_case_events_in_order_and_replays_are_no_ops(ledger: Ledger) -> None:
    first = ledger.record_case_event(_nsa("payment_received", dt.date(2026, 12, 11)))
    sent = ledger.record_case_event(
        _nsa("notice_sent", dt.date(2027, 1, 11), method="email", amount=D("552.00"))
    )
    again = ledger.record_case_event(
        _nsa("notice_sent", dt.date(2027, 1, 11), method="email", amount=D("552.00"))
    )
    assert again.replayed and again.id == sent.id
    ledger.record_case_event(_nsa("payer_responded", dt.date(2027, 1, 20), amount=D("300.00")))
    events = ledger.case_events(case_id="LS1-nsa")
    assert [e.event for e in events] == ["payment_received", "notice_sent", "payer_responded"]
    assert events[1].method == "email" and events[1].amount == D("552.00")
    assert events[0].on == dt.date(2026, 12, 11) and not first.replayed
    assert ledger.case_events(patient_control_number="LS1", kind="nsa") == events


def test_out_of_order_events_are_refused(ledger: Ledger) -> None:
    with pytest.raises(IllegalTransition, match="idr_initiated"):
        ledger.record_case_event(_nsa("idr_initiated", dt.date(2027, 2, 24)))
    ledger.record_case_event(_nsa("payment_received", dt.date(2026, 12, 11)))
    with pytest.raises(LedgerError, match="method"):
        ledger.record_case_event(_nsa("notice_sent", dt.date(2027, 1, 11), method="pigeon"))
    appeal = NewCaseEvent("LS2-medical_necessity", "LS2", "appeal", "won", dt.date(2027, 1, 5))
    with pytest.raises(IllegalTransition, match=r"\(new case\) -> won"):
        ledger.record_case_event(appeal)
    assert ledger.case_events() == ledger.case_events(case_id="LS1-nsa")


def test_appeal_worklist_transitions_with_the_recovered_amount(ledger: Ledger) -> None:
    def appeal(event: str, day: int, **kw: object) -> NewCaseEvent:
        return NewCaseEvent(
            "LS2-medical_necessity",
            "LS2",
            "appeal",
            event,
            dt.date(2027, 1, day),
            **kw,  # type: ignore[arg-type]
        )

    for event in (
        appeal("drafted", 4),
        appeal("sent", 5, method="mail", reference="PWK AC12345"),
        appeal("payer_responded", 25, note="upheld at level 1"),
        appeal("lost", 25),
        appeal("sent", 27, method="fax"),  # second level
        appeal("won", 29, amount=D("233.20")),
    ):
        ledger.record_case_event(event)
    events = ledger.case_events(case_id="LS2-medical_necessity")
    assert [e.event for e in events][-1] == "won" and events[-1].amount == D("233.20")
    assert events[1].reference == "PWK AC12345"
