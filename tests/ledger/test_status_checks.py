"""276 trace -> claim, and the 277 answer once it arrives (SQLite and PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pipeline.ledger import Ledger, StatusCheckRequest
from tests.ledger.conftest import build_837, draft

ANSWER = {
    "patient_control_number": "PCN7",
    "trace_number": "000000301-1",
    "status_category": "F1",
    "status_code": "65",
    "status": "paid",
    "paid_amount": Decimal("119.40"),
    "payment_date": "2026-12-14",
}


def test_requests_are_staged_with_their_file_and_answered_once(
    ledger: Ledger, tmp_path: Path
) -> None:
    claim = ledger.record_claim(draft("PCN7"))
    content, controls = build_837(ledger.control_numbers, [])
    check = StatusCheckRequest("000000301-1", claim.id, "PCN7", "NWH01")
    staged = ledger.stage_submission(content, "276_301.x12", {}, [controls],
                                     transaction_type="276", status_checks=[check])  # fmt: skip
    (asked,) = ledger.status_checks(claim_id=claim.id)
    assert asked.request_file_id == staged.id and asked.summary is None
    assert asked.channel == "batch" and asked.requested_at is not None
    path = tmp_path / "277.x12"
    path.write_bytes(b"277 bytes")
    file_id = ledger.register_received(path, "277.x12").id
    answered = ledger.record_status_response("000000301-1", ANSWER, file_id=file_id)
    assert (answered.status, answered.status_category, answered.status_code) == ("paid", "F1", "65")
    assert answered.summary is not None and answered.summary["paid_amount"] == "119.40"
    assert answered.responded_at is not None
    again = ledger.record_status_response("000000301-1", ANSWER, file_id=file_id)
    assert again.responded_at == answered.responded_at  # the same 277 posted again
    assert [c.id for c in ledger.status_checks(patient_control_number="PCN7")] == [asked.id]


def test_an_answer_to_an_unknown_trace_is_kept(ledger: Ledger) -> None:
    kept = ledger.record_status_response("NOT-OURS", ANSWER)
    assert kept.claim_id is None and kept.patient_control_number == "PCN7"
    assert kept.status == "paid" and ledger.status_checks()[0].trace_number == "NOT-OURS"


def test_a_realtime_request_has_no_file(ledger: Ledger) -> None:
    claim = ledger.record_claim(draft("PCN8"))
    asked = ledger.record_status_request(
        StatusCheckRequest("RT-1", claim.id, "PCN8", "CTS02", channel="realtime")
    )
    assert asked.channel == "realtime" and asked.request_file_id is None
