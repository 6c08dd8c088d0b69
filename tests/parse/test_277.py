"""277 claim status (005010X212) read from public corpus files and told apart from a 277CA."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from pipeline.parse import detect_file, parse_file, transaction_kind
from pipeline.parse.codes import code_table
from pipeline.parse.t277 import category_actions, status_word
from tests.parse.make_samples import SAMPLES


def _rows(path: Path) -> list[dict[str, object]]:
    frame = parse_file(path).tables["claim_statuses"]
    return frame.to_dict("records")  # type: ignore[no-any-return]


def test_the_guide_id_tells_a_277_from_a_277ca() -> None:
    assert transaction_kind("277", "HN", "005010X212") == "277"
    assert transaction_kind("277", "HN", "005010X214") == "277CA"
    assert transaction_kind("277", "HN") == "277CA"
    assert detect_file(SAMPLES / "claim_status.277") == "277"
    assert detect_file(SAMPLES / "claim_ack.277") == "277CA"


def test_claims_of_the_linuxforhealth_claim_level_file(corpus_dir: Path) -> None:
    rows = _rows(corpus_dir / "277" / "lfh__claim-level-status.277")
    by_pcn = {r["patient_control_number"]: r for r in rows}
    assert sorted(by_pcn) == ["J0234567", "MA345678", "SM123456"]
    pending = by_pcn["SM123456"]
    assert (pending["trace_number"], pending["status_category"], pending["status_code"]) == (
        "ABCXYZ1", "P3", "317",
    )  # fmt: skip
    assert pending["status"] == "pending" and pending["charge_amount"] == D("8513.88")
    assert pending["payer_claim_control_number"] == "05347006051"
    assert (pending["service_date"], pending["service_date_end"]) == ("2005-08-31", "2005-09-06")
    finalized = by_pcn["J0234567"]
    assert finalized["paid_amount"] == D("7599.00") and finalized["status"] == "finalized"
    denied = by_pcn["MA345678"]  # a dependent's claim, with one service line
    assert (denied["status"], denied["entity_code"], denied["line_count"]) == ("denied", "QC", 1)
    assert (denied["patient_last_name"], denied["patient_first_name"]) == ("MANN", "JOSEPH")
    assert denied["paid_amount"] == D("0.00") and denied["billing_provider_id"] == "166666666"


def test_a_request_the_payer_could_not_answer_is_a_receiver_row(corpus_dir: Path) -> None:
    (row,) = _rows(corpus_dir / "277" / "lfh__information-receiver-level-status.277")
    assert (row["level"], row["status"], row["trace_number"]) == ("receiver", "error", "ABC276XXX")
    assert row["patient_control_number"] == "" and row["status_category"] == "E0"


def test_every_category_with_an_action_has_a_meaning_and_a_known_ledger_state() -> None:
    meanings = code_table("claim_status_category")
    for category, row in category_actions().items():
        assert category in meanings, category
        assert row["ledger"] in ("", "accepted", "rejected"), category
        assert row["action"] and row["status"], category
    assert status_word("ZZ") == "unknown" and status_word("") == ""


@pytest.mark.parametrize(
    ("category", "status"),
    [("F1", "paid"), ("F2", "denied"), ("A4", "not_found"), ("D0", "not_found"), ("A7", "rejected"),
     ("P1", "pending"), ("E1", "error"), ("R4", "information_requested")],
)  # fmt: skip
def test_status_words(category: str, status: str) -> None:
    assert status_word(category) == status
