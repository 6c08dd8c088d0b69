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
    assert ledger.eligibility_answered() == 0  # asked, not answered
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
    assert ledger.eligibility_asked() == {("P9", dt.date(2026, 1, 15))}
    assert ledger.eligibility_answered() == 1
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


def test_271_facts_are_stored_per_patient_payer_and_date(ledger: Ledger, tmp_path: Path) -> None:
    from pipeline.ledger.eligibility import coverage_facts
    from pipeline.parse import parse_file

    text = (
        "ISA*00*          *00*          *ZZ*PAYER          *ZZ*PRACTICE       *261127*0200*^*"
        "00501*000000007*0*P*:~GS*HB*PAYER*PRACTICE*20261127*0200*7*X*005010X279A1~"
        "ST*271*0001*005010X279A1~BHT*0022*11*R*20261127*0200~HL*1**20*1~"
        "NM1*PR*2*TAILSPIN*****PI*TSP05~HL*2*1*21*1~NM1*1P*2*LAKESIDE*****XX*1749263855~"
        "HL*3*2*22*0~TRN*2*7-1*1463871520~NM1*IL*1*DOE*JO****MI*TSP9~DTP*346*D8*20260101~"
        "EB*1*IND*30*EP*EPO~EB*B*IND*98***27*45*****Y~EB*I*IND*30*********N~"
        "EB*1*IND*30********Y*W*HC:72148~III*ZZ*22~SE*15*0001~GE*1*7~IEA*1*000000007~"
    )
    path = tmp_path / "answer.271"
    path.write_text(text, encoding="ascii")
    (row,) = parse_file(path).tables["eligibility_summary"].to_dict("records")
    ledger.record_eligibility_request(
        EligibilityRequest("7-1", "TSP05", member_id="TSP9", patient_id="A9",
                           service_date=dt.date(2026, 11, 12), service_types=("30",))
    )  # fmt: skip
    ledger.record_eligibility_response("7-1", row, file_id=None)
    ledger.record_eligibility_response("UNASKED", row | {"trace_number": "UNASKED"}, file_id=None)
    (facts,) = coverage_facts(ledger.eligibility_checks())  # the unasked one decides nothing
    assert (facts.patient_id, facts.payer_id, facts.service_date) == (
        "A9",
        "TSP05",
        dt.date(2026, 11, 12),
    )
    assert (facts.status, facts.member_id, facts.trace_number) == ("active", "TSP9", "7-1")
    assert facts.out_of_network_coverage == "not_covered"
    assert facts.in_network_copays == {"98": Decimal("45")}
    assert facts.plan_begin == dt.date(2026, 1, 1)
    (auth,) = facts.authorizations
    assert (auth.procedure_code, auth.places_of_service) == ("72148", frozenset({"22"}))


def test_iter_eligibility_checks_reads_in_chunks_the_same_records(ledger: Ledger) -> None:
    for n in range(5):  # more rows than one chunk of 2: the read goes on past a chunk
        request = EligibilityRequest(f"TRC{n}", "FAB03", member_id=f"M{n}", patient_id=f"P{n}")
        ledger.record_eligibility_request(request)
        ledger.record_eligibility_response(f"TRC{n}", {**SUMMARY, "trace_number": f"TRC{n}"})
    streamed = list(ledger.iter_eligibility_checks(chunk=2))
    assert [c.trace_number for c in streamed] == [f"TRC{n}" for n in range(5)]
    assert streamed == ledger.eligibility_checks()


def test_eligibility_table_is_the_frame_of_the_answered_summaries(ledger: Ledger) -> None:
    """What reconciliation reads: streamed in chunks and built column by column, the frame
    ``pd.DataFrame`` makes of every summary with the patient, payer and date asked about."""
    import pandas as pd

    from pipeline.steps.eligibility import eligibility_table

    assert eligibility_table(ledger) is None  # nothing answered yet
    answers = {
        "A1": {**SUMMARY, "trace_number": "A1", "benefit_count": 17},
        "A2": {**SUMMARY, "trace_number": "A2", "benefit_count": 1, "payer_id": "271-ID"},
        "A3": {"trace_number": "A3", "member_id": "M3", "coverage_status": "inactive"},
        "A4": {**SUMMARY, "trace_number": "A4", "benefit_count": True, "late_key": "x"},
        "A5": {**SUMMARY, "trace_number": "A5", "benefit_count": 2},
    }
    for n, trace in enumerate(answers):
        if trace != "A4":  # A4 answers an inquiry never sent: no patient, no payer
            ledger.record_eligibility_request(
                EligibilityRequest(trace, "FAB03", member_id="M9", patient_id=f"P{n}",
                                   service_date=dt.date(2026, 1, 15))
            )  # fmt: skip
    ledger.record_eligibility_request(EligibilityRequest("UNANSWERED", "FAB03", patient_id="P9"))
    for trace, summary in answers.items():
        ledger.record_eligibility_response(trace, summary)
    expected = pd.DataFrame(
        [
            dict(c.summary)
            | {
                "patient_id": c.patient_id,
                "payer_id": c.payer_id or "",
                "service_date": c.service_date,
            }
            for c in ledger.eligibility_checks()
            if c.summary
        ]
    )  # what reconciliation read before: every summary as a dict, all at once
    got = eligibility_table(ledger, chunk=2)
    assert got is not None
    pd.testing.assert_frame_equal(got, expected)
    assert list(got.columns)[-5:] == [
        "benefit_count", "patient_id", "payer_id", "service_date", "late_key"
    ]  # fmt: skip
    # ledger order (A4's row was made by its answer, last); the payer is the inquiry's
    assert list(got["trace_number"]) == ["A1", "A2", "A3", "A5", "A4"]
    assert list(got["payer_id"]) == ["FAB03", "FAB03", "FAB03", "FAB03", ""]
    types = [[type(v) for v in got[c]] for c in got.columns]
    assert types == [[type(v) for v in expected[c]] for c in expected.columns]
    # a row's missing cell is NaN; 1 and True stay themselves (never merged as equal values)
    assert [type(v) for v in got["benefit_count"]] == [int, int, float, int, bool]
    assert got["late_key"].isna().tolist() == [True, True, True, True, False]
    # a repeated text or date is one object
    plans = got["plan_description"]
    assert plans[0] == "PPO GOLD" and plans[0] is plans[3] and plans[0] is plans[4]
    assert got["service_date"][0] is got["service_date"][1]
