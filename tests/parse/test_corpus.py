"""Every return file of ../shared/corpus parses; negative ones fail with one clear line."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.errors import X12SyntaxError
from pipeline.parse import parse_file
from tests.conftest import corpus_rows

KIND_BY_FOLDER = {"835": "835", "271": "271", "999": "999", "277CA": "277CA", "TA1": "TA1"}
MAIN_TABLE = {
    "835": "remit_claims",
    "271": "eligibility_summary",
    "999": "ack_transactions",
    "277CA": "claim_acknowledgments",
    "TA1": "ack_interchanges",
}
ROWS = [r for r in corpus_rows() if r["file"].split("/")[0] in KIND_BY_FOLDER]


def _negative(row: dict[str, str]) -> bool:
    flag = row.get("known_defective_or_negative") or row.get("pyx12_known_defective_or_negative")
    return (flag or "").strip().lower() == "yes"


@pytest.mark.parametrize("row", [r for r in ROWS if not _negative(r)], ids=lambda r: r["file"])
def test_positive_corpus_file_parses(row: dict[str, str], corpus_dir: Path) -> None:
    kind = KIND_BY_FOLDER[row["file"].split("/")[0]]
    result = parse_file(corpus_dir / row["file"])
    assert kind in result.transactions
    assert len(result.tables[MAIN_TABLE[kind]]) > 0


@pytest.mark.parametrize("row", [r for r in ROWS if _negative(r)], ids=lambda r: r["file"])
def test_negative_corpus_file_parses_or_gives_one_line(
    row: dict[str, str], corpus_dir: Path
) -> None:
    path = corpus_dir / row["file"]
    try:
        result = parse_file(path)
    except X12SyntaxError as exc:
        message = str(exc)
        assert "\n" not in message and str(path) in message
        return
    assert result.transactions


def test_corpus_reversals_without_correction_stay_unlinked(corpus_dir: Path) -> None:
    claims = parse_file(corpus_dir / "835/oopf__Example1.txt").tables["remit_claims"]
    reversals = claims[claims["claim_status_code"] == "22"]
    assert reversals["patient_control_number"].tolist() == ["123456", "090909", "090909"]
    assert reversals["charge_amount"].tolist()[:2] == [Decimal("-42.58"), Decimal("-86.76")]
    # No corrected claim follows any of them, and their originals are not in the file.
    assert set(reversals["corrected_by_claim_key"]) == {""}
    assert set(reversals["reversal_of_claim_key"]) == {""}


def test_corpus_999_partial_acceptance(corpus_dir: Path) -> None:
    acks = parse_file(corpus_dir / "999/staedi__simple999.edi").tables["ack_transactions"]
    status = dict(zip(acks["transaction_control_number"], acks["status"], strict=True))
    assert status == {"0001": "accepted", "0002": "rejected", "0003": "rejected"}
    row = acks[acks["transaction_control_number"] == "0002"].iloc[0]
    assert (row["error_segment"], row["error_element"], row["error_code"]) == ("CLM", "CLM02", "1")
    assert row["patient_control_number"] == "123456789"
    assert set(acks["group_status"]) == {"partially_accepted"}


def test_corpus_277ca_rejection(corpus_dir: Path) -> None:
    acks = parse_file(corpus_dir / "277CA/imsweb__x12_277CA_rejected.txt").tables[
        "claim_acknowledgments"
    ]
    row = acks.iloc[0]
    assert (row["status_category"], row["status_code"], row["entity_code"]) == ("A7", "562", "85")
    assert row["status"] == "rejected" and row["charge_amount"] == Decimal("199.14")
    assert row["payer_claim_control_number"] == "1107000000001120"
    assert "NPI" in row["status_text"]


def test_corpus_271_rejection_in_words(corpus_dir: Path) -> None:
    summary = parse_file(corpus_dir / "271/lfh__subscriber-health-benefit-check-error.271").tables[
        "eligibility_summary"
    ]
    row = summary.iloc[0]
    assert row["coverage_status"] == "rejected"
    assert row["reject_reason"] and not row["reject_reason"].startswith("unknown")


def test_ta1_and_999_in_one_interchange(corpus_dir: Path) -> None:
    result = parse_file(corpus_dir / "TA1/rubyx12__tc_parse_999.rb.msg2.x12")
    assert result.transaction == "TA1" and result.transactions == ("TA1", "999")
    assert result.tables["ack_interchanges"]["status"].tolist() == ["accepted"]
    assert set(result.tables["ack_transactions"]["status"]) == {"accepted"}
