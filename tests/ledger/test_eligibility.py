"""270 trace -> patient/payer/coverage, and the 271 summary once it arrives."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from pipeline.ledger import EligibilityRequest, Ledger

SUMMARY = {
    "trace_number": "TRC9",
    "member_id": "M9",
    "coverage_status": "active",
    "plan_description": "PPO GOLD",
    "out_of_network_deductible": Decimal("2500.00"),
    "out_of_network_deductible_remaining": Decimal("1234.56"),
    "out_of_network_coinsurance": Decimal("0.4"),
    "office_visit_copay": None,
    "prior_auth_required": False,
    "eligibility_date": dt.date(2026, 1, 15),
}


def test_request_then_response(ledger: Ledger, tmp_path: Path) -> None:
    request = EligibilityRequest(
        "TRC9", "FAB03", member_id="M9", patient_id="P9",
        service_date=dt.date(2026, 1, 15), service_types=("30", "98"),
    )  # fmt: skip
    asked = ledger.record_eligibility_request(request)
    assert asked.responded_at is None and asked.requested_at is not None
    assert ledger.record_eligibility_request(request).id == asked.id  # rerun: same row
    path = tmp_path / "271.x12"
    path.write_bytes(b"271 bytes")
    response_file = ledger.register_received(path, "271.x12").id
    answered = ledger.record_eligibility_response("TRC9", SUMMARY, file_id=response_file)
    assert answered.coverage_status == "active"
    assert answered.response_file_id == response_file
    assert answered.summary is not None
    assert answered.summary["out_of_network_deductible_remaining"] == "1234.56"
    assert Decimal(answered.summary["out_of_network_coinsurance"]) == Decimal("0.4")
    assert answered.summary["eligibility_date"] == "2026-01-15"
    assert answered.summary["prior_auth_required"] is False
    stored = ledger.eligibility("TRC9")
    assert stored == answered
    assert (stored.patient_id, stored.payer_id, stored.service_types) == (
        "P9",
        "FAB03",
        ("30", "98"),
    )
    assert ledger.eligibility_checks(awaiting_response=True) == []
    assert [c.id for c in ledger.eligibility_checks(patient_id="P9")] == [asked.id]
    # The same 271 posted again changes nothing.
    again = ledger.record_eligibility_response("TRC9", SUMMARY, file_id=response_file)
    assert again.responded_at == answered.responded_at


def test_answer_to_an_unknown_trace_is_kept(ledger: Ledger) -> None:
    kept = ledger.record_eligibility_response(
        "NOBODY-ASKED", {"coverage_status": "rejected", "reject_reason_code": "75"}
    )
    assert (kept.payer_id, kept.coverage_status) == (None, "rejected")
    assert ledger.eligibility("NOBODY-ASKED") == kept
