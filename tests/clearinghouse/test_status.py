"""The simulator answers 276s: by what its payers decided, as of the 276's own date."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from pipeline.build.t276 import build_276, status_request
from pipeline.clearinghouse import Responder, read_ground_truth
from pipeline.parse import parse_file
from pipeline.parse.t837p import read_837p
from pipeline.practice.records import StatusRequestRecord
from pipeline.x12.control import FileControlNumbers
from pipeline.x12.validate import validate_file
from tests.clearinghouse.x12_inputs import variety, write_837p
from tests.parse.x12build import Counter

SENT = dt.datetime(2026, 11, 20, 9, 15)


def _ask(
    responder: Responder, requests: list[StatusRequestRecord], on: dt.date, n: int
) -> tuple[Path, list[dict[str, object]]]:
    out = io.StringIO()
    when = dt.datetime.combine(on, dt.time(3, 0))
    build_276(requests, out, submitter=("TEST PRACTICE", "SUBMITTER1"),
              receiver_id="CLAIMFLOWCH", control_numbers=Counter(500 + n), now=when)  # fmt: skip
    path = responder.layout.uploads / f"276_{n}.x12"
    path.write_text(out.getvalue(), encoding="ascii")
    (answer,) = responder.respond(path)
    return answer, parse_file(answer).tables["claim_statuses"].to_dict("records")


def test_answers_follow_the_adjudication_and_the_calendar(tmp_path: Path) -> None:
    responder = Responder(tmp_path / "sim", seed=7)
    numbers = FileControlNumbers(tmp_path / "cn.json")
    claims_file = write_837p(tmp_path / "claims.x12", variety(), control_numbers=numbers, now=SENT)
    upload = responder.layout.uploads / "claims.x12"
    upload.write_bytes(claims_file.read_bytes())
    responder.respond(upload)
    truth = {r["patient_control_number"]: r for r in read_ground_truth(tmp_path / "sim", "claim")}
    payments: dict[str, list[str]] = {}
    for p in read_ground_truth(tmp_path / "sim", "payment"):
        for pcn in p["claims"]:
            payments.setdefault(pcn, []).append(p["payment_date"])
    claims = read_837p(upload)
    requests = [status_request(c) for c in claims]
    unknown = replace(requests[0], patient_control_number="NEVER-SENT")
    wrong_icn = replace(requests[1], payer_claim_control_number="NOT-ISSUED")

    before_any = SENT.date() + dt.timedelta(days=1)
    answer, rows = _ask(responder, [*requests, unknown, wrong_icn], before_any, 1)
    asked_twice = requests[1].patient_control_number
    early = {
        str(r["patient_control_number"]): r
        for r in rows
        if r["patient_control_number"] != asked_twice
    }
    assert validate_file(answer).status == "valid"
    assert early["NEVER-SENT"]["status_category"] == "A4"
    assert early["NEVER-SENT"]["status_code"] == "35"
    for pcn, facts in truth.items():
        row = early.get(pcn)
        if row is None:
            continue
        if facts["acknowledgment"] == "rejected":  # the 277CA verdict, repeated
            assert row["status"] == "rejected", pcn
            assert facts["problems"][0]["reference"].startswith(str(row["status_category"]))
        else:  # accepted, nothing paid yet: adjudicated, awaiting its payment cycle
            assert (row["status_category"], row["status_code"]) == ("F0", "3"), pcn
            assert row["payer_claim_control_number"] == facts["payer_claim_control_number"]
    # The payer claim number in the request must be the payer's: another one is not found.
    twice = sorted(
        str(r["status_category"]) for r in rows if r["patient_control_number"] == asked_twice
    )
    assert twice == ["A4", "F0"]

    after_all = SENT.date() + dt.timedelta(days=90)
    _, late_rows = _ask(responder, requests, after_all, 2)
    late = {str(r["patient_control_number"]): r for r in late_rows}
    for pcn, facts in truth.items():
        if facts["acknowledgment"] == "rejected":
            continue
        row = late[pcn]
        assert row["payment_date"] == max(payments[pcn]), pcn
        if facts["outcome"] == "voided":
            assert row["status_category"] == "F3", pcn
            continue
        paid = Decimal(str(row["paid_amount"]))
        assert paid == Decimal(facts["paid_amount"]), pcn  # the final amount, to the cent
        expected = {"F1"} if paid > 0 else {"F2", "F4"}
        assert row["status_category"] in expected, pcn
    answers = read_ground_truth(tmp_path / "sim", "claim_status")
    assert {a["source_file"] for a in answers} == {"276_1.x12", "276_2.x12"}
    assert len(answers) == 2 * len(requests) + 2
