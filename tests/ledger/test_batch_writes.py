"""Set-based 271 answers, 270 requests and case events: the rows the one-at-a-time path writes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.errors import IllegalTransition
from pipeline.ledger import EligibilityRequest, Ledger
from pipeline.ledger import cases as ledger_cases
from pipeline.ledger import eligibility as ledger_eligibility
from pipeline.ledger.cases import NewCaseEvent
from pipeline.ledger.models import CaseEvent, EligibilityCheck

NOW = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 20)


def _rows(ledger: Ledger, model: Any) -> list[tuple[Any, ...]]:
    table = model.__table__
    with ledger.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(table).order_by(table.c.id))]


@pytest.fixture
def reference(tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    return Ledger(f"sqlite:///{tmp_path_factory.mktemp('ref') / 'ledger.db'}", clock=lambda: NOW)


def _file(ledger: Ledger, tmp_path: Path, name: str) -> int:
    path = tmp_path / name
    path.write_bytes(name.encode())
    return ledger.register_received(path, name).id


def _remit(pcn: str, amount: str, ref: str, file_id: int, on: dt.date = DAY) -> NewCaseEvent:
    return NewCaseEvent(
        case_id=pcn, patient_control_number=pcn, kind="remittance", event="payment_received",
        on=on, amount=Decimal(amount), reference=ref, file_id=file_id,
    )  # fmt: skip


def test_case_events_batched_match_one_at_a_time(
    ledger_url: str, reference: Ledger, tmp_path: Path
) -> None:
    def night(ledger: Ledger, batched: bool) -> list[Any]:
        era = _file(ledger, tmp_path, "era1.835")
        first = [_remit("C1", "10.00", "C1:1", era), _remit("C2", "0.00", "C2:1", era)]
        second = [
            _remit("C1", "10.00", "C1:1", era),  # stored: a replay
            _remit("C3", "5.50", "C3:1", era),
            _remit("C3", "5.50", "C3:1", era),  # the same CLP twice in one file
            _remit("C1", "12.00", "C1:2", era, DAY + dt.timedelta(days=1)),
        ]
        out = []
        for events in (first, second, second):
            if batched:
                out.append(ledger.record_case_events(events))
            else:
                with Session(ledger.engine, expire_on_commit=False) as s, s.begin():
                    out.append([ledger_cases.record_case_event(s, e, NOW) for e in events])
        return out

    with Ledger(ledger_url, clock=lambda: NOW) as batched, reference:
        got, want = night(batched, True), night(reference, False)
        assert got == want
        assert _rows(batched, CaseEvent) == _rows(reference, CaseEvent)
    assert [r.replayed for r in got[1]] == [True, False, True, False]
    assert all(r.replayed for r in got[2])


def test_a_refused_case_event_records_nothing_of_the_batch(ledger: Ledger) -> None:
    nsa = ledger_cases.nsa_case_id("N1")
    closed = NewCaseEvent(nsa, "N1", "nsa", "closed", DAY)
    ledger.record_case_event(closed)
    with pytest.raises(IllegalTransition, match="closed -> notice_sent"):
        ledger.record_case_events(
            [
                _remit("N2", "1.00", "N2:1", None),  # type: ignore[arg-type]
                NewCaseEvent(nsa, "N1", "nsa", "notice_sent", DAY, method="mail"),
            ]
        )
    assert ledger.case_events(case_id="N2") == []


def _summary(trace: str, status: str, remaining: str) -> dict[str, Any]:
    return {
        "trace_number": trace,
        "coverage_status": status,
        "deductible_remaining": Decimal(remaining),
        "eligibility_date": dt.date(2026, 1, 1),
        "prior_auth_required": False,
    }


@pytest.mark.parametrize("chunk", [None, 1, 3], ids=["one-chunk", "chunk-1", "chunk-3"])
def test_eligibility_batched_match_one_at_a_time(
    ledger_url: str, reference: Ledger, tmp_path: Path, chunk: int | None
) -> None:
    """Written a chunk at a time too (chunks of 1 and 3 put T1's two answers apart)."""
    requests = [
        EligibilityRequest("T1", "P1", member_id="M1", patient_id="A", service_date=DAY),
        EligibilityRequest("T2", "P1", patient_id="B", service_types=("30", "98")),
    ]
    answers = [
        ("T1", _summary("T1", "active", "100.00")),
        ("T9", _summary("T9", "rejected", "0")),  # nobody asked: kept all the same
        ("T2", _summary("T2", "inactive", "0")),
        ("T1", _summary("T1", "active", "90.00")),  # answered twice: the last one stands
    ]

    def night(ledger: Ledger, batched: bool) -> None:
        sent = _file(ledger, tmp_path, "270.x12")
        first = _file(ledger, tmp_path, "a.271")
        second = _file(ledger, tmp_path, "b.271")
        with Session(ledger.engine, expire_on_commit=False) as s, s.begin():
            if batched:
                ledger_eligibility.record_requests(s, requests, sent, NOW)
                ledger_eligibility.record_requests(s, requests[:1], None, NOW)  # asked again
            else:
                for r in requests:
                    ledger_eligibility.record_request(s, r, sent, NOW)
                ledger_eligibility.record_request(s, requests[0], None, NOW)
        for file_id in (first, first, second):
            if batched:
                count = ledger.record_eligibility_responses(answers, file_id=file_id, chunk=chunk)
                assert count == len(answers)
            else:
                with Session(ledger.engine, expire_on_commit=False) as s, s.begin():
                    for trace, summary in answers:
                        ledger_eligibility.record_response(s, trace, summary, file_id, NOW)

    with Ledger(ledger_url, clock=lambda: NOW) as batched, reference:
        night(batched, True)
        night(reference, False)
        assert _rows(batched, EligibilityCheck) == _rows(reference, EligibilityCheck)
        t1 = batched.eligibility("T1")
    assert t1 is not None and t1.summary is not None
    assert (t1.summary["deductible_remaining"], t1.patient_id) == ("90.00", "A")
