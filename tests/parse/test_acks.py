"""999, TA1 and 277CA on files built here."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from pipeline.parse import parse_file
from tests.parse.x12build import AckClaim, build_277ca, build_999, build_ta1


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="ascii")
    return path


def test_999_partial_acceptance_one_row_per_error(tmp_path: Path) -> None:
    sets = [
        {"st02": "1001", "status": "A"},
        {
            "st02": "1002",
            "status": "R",
            "codes": ["5", "4"],
            "errors": [
                (
                    "SV1",
                    "31",
                    "2400",
                    "8",
                    [(["1", "2"], "234", "7", "9999X"), ("2", "782", "1", None)],
                    "CLAIM-9",
                ),
                ("DTP", "33", "2400", "3", [], ""),
            ],
        },
        {"st02": "1003", "status": "R", "codes": ["4"]},
    ]
    result = parse_file(_write(tmp_path, "ack.999", build_999(sets, group_status="P")))
    acks = result.tables["ack_transactions"]
    assert acks["transaction_control_number"].tolist() == ["1001", "1002", "1002", "1002", "1003"]
    assert acks["status"].tolist() == ["accepted"] + ["rejected"] * 4
    first = acks.iloc[0]
    assert (first["error_segment"], first["error_code"], first["error_text"]) == ("", "", "")
    assert acks.iloc[1][["error_segment", "error_element", "error_code", "bad_value"]].tolist() == [
        "SV1",
        "SV101-2",
        "7",
        "9999X",
    ]
    assert acks.iloc[1]["error_text"] == "Invalid code value"
    assert acks.iloc[1]["patient_control_number"] == "CLAIM-9"
    assert acks.iloc[2]["error_element"] == "SV102" and acks.iloc[2]["error_code"] == "1"
    assert acks.iloc[3][["error_segment", "error_code"]].tolist() == ["DTP", "3"]
    assert acks.iloc[3]["error_text"] == "Required segment missing"
    assert acks.iloc[4]["error_code"] == "4"
    assert "does not match actual count" in acks.iloc[4]["error_text"]
    assert set(acks["group_status"]) == {"partially_accepted"}
    assert set(acks["group_control_number"]) == {"4021"}


def test_ta1_accepted_and_rejected(tmp_path: Path) -> None:
    text = build_ta1(
        [("000000041", "A", "000"), ("000000042", "R", "006"), ("000000043", "E", "020")]
    )
    acks = parse_file(_write(tmp_path, "x.ta1", text)).tables["ack_interchanges"]
    assert acks["interchange_control_number"].tolist() == ["000000041", "000000042", "000000043"]
    assert acks["status"].tolist() == ["accepted", "rejected", "accepted_with_errors"]
    assert acks["note_text"].tolist() == [
        "No error",
        "Invalid interchange sender ID",
        "Invalid test indicator value",
    ]


def test_277ca_accept_reject_pending(tmp_path: Path) -> None:
    claims = [
        AckClaim(
            "C1", [(["A2", "20", "PR"], "WQ", D("120.50"), "")], icn="PAYER-ICN-1", date="20250107"
        ),
        AckClaim("C2", [(["A6", "187", "QC"], "U", D("80"), "DOS MISSING")]),
        AckClaim("C3", [(["A1", "19", "PR"], "U", D("10"), "")]),  # U rejects even A1
        AckClaim("C4", [(["A0", "16", "PR"], "", D("15"), "")]),
        AckClaim(
            "C5", [(["A2", "20", "PR"], "WQ", D("30"), "")], lines=[("97110", ["A7", "454"], "U")]
        ),
    ]
    acks = parse_file(_write(tmp_path, "ack.277", build_277ca(claims))).tables[
        "claim_acknowledgments"
    ]
    assert acks["patient_control_number"].tolist() == ["C1", "C2", "C3", "C4", "C5"]
    assert acks["status"].tolist() == ["accepted", "rejected", "rejected", "pending", "accepted"]
    first = acks.iloc[0]
    assert first["payer_claim_control_number"] == "PAYER-ICN-1"
    assert first["charge_amount"] == D("120.50") and first["service_date"] == "2025-01-07"
    assert (first["status_category"], first["status_code"], first["entity_code"]) == (
        "A2",
        "20",
        "PR",
    )
    second = acks.iloc[1]
    assert second["status_text"] == (
        "Acknowledgement/Rejected for missing information; Date(s) of service (Patient)"
    )
    assert second["message"] == "DOS MISSING"
    assert acks.iloc[4]["rejected_line_count"] == 1 and acks.iloc[4]["line_count"] == 1
