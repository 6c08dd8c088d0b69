"""The simulator's 271s for the demo practice's dates of service (what the nightly asks): per
service type and network, EB*I, EB11/EB13 auth with III and LS/LE, inactive and unknown
members -- and they pass ``claimflow validate``."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from pipeline.build.scrub_eligibility import claim_inquiries
from pipeline.build.t270 import build_270
from pipeline.clearinghouse.plans import load_plans
from pipeline.clearinghouse.responder import Responder
from pipeline.parse import parse_file
from pipeline.parse.coverage import parse_copays
from pipeline.practice import Practice, load_practice
from pipeline.x12.control import FileControlNumbers
from pipeline.x12.reader import read_segments
from pipeline.x12.validate import format_report, validate_file
from tests.clearinghouse.conftest import MAPPINGS, NOW, PRACTICE, TODAY


@dataclass
class Answers:
    practice: Practice
    path: Path
    segments: list[list[str]]
    summaries: list[dict[str, object]]
    traces: dict[str, tuple[str, str, date]]  # trace -> (patient, payer, date asked)


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> Answers:
    if not (PRACTICE / "encounters.csv").exists():
        pytest.skip("sample_edi/practice is not there")
    folder = tmp_path_factory.mktemp("elig")
    practice = load_practice(PRACTICE).practice
    asked = claim_inquiries(practice.encounters, on=TODAY, asked=set())
    text = io.StringIO()
    built = build_270(
        practice.model_copy(update={"appointments": asked}), text, on=None,
        control_numbers=FileControlNumbers(folder / "control.json"), now=NOW,
    )  # fmt: skip
    upload = folder / "inquiries.x12"
    upload.write_text(text.getvalue(), encoding="ascii")
    responder = Responder(folder / "ch", 7, practice=PRACTICE)
    target = responder.layout.uploads / upload.name
    target.write_bytes(upload.read_bytes())
    (answer,) = responder.respond(target)
    traces = {i.trace_number: (i.patient_id, i.payer_id, i.service_date) for i in built.inquiries}
    summaries = parse_file(answer).tables["eligibility_summary"].to_dict("records")
    segments = [s.elements for s in read_segments(answer)]
    return Answers(practice, answer, segments, summaries, traces)


def _by_payer(a: Answers, payer: str) -> list[dict[str, object]]:
    return [s for s in a.summaries if a.traces[str(s["trace_number"])][1] == payer]


def test_the_answers_pass_validation(answers: Answers) -> None:
    report = validate_file(answers.path)
    assert report.status == "valid", "\n".join(format_report(report))
    assert len(answers.summaries) == len(answers.traces)


def test_epo_and_hmo_answer_no_out_of_network_benefit_but_emergencies(answers: Answers) -> None:
    for payer in ("TSP05", "WGH04"):  # plans with out_of_network.covered false
        active = [s for s in _by_payer(answers, payer) if s["coverage_status"] == "active"]
        assert active
        assert {s["out_of_network_coverage"] for s in active} == {"not_covered"}
        assert {s["out_of_network_service_types"] for s in active} == {"86"}
        assert {s["in_network_coverage"] for s in active} == {"covered"}
    ppo = [s for s in _by_payer(answers, "CTS02") if s["coverage_status"] == "active"]
    assert {s["out_of_network_coverage"] for s in ppo} == {"covered"}


def test_copays_per_service_type_from_the_plan_design(answers: Answers) -> None:
    plans = load_plans(MAPPINGS)
    for payer, plan in plans.items():
        for s in _by_payer(answers, payer):
            if s["coverage_status"] != "active":
                continue
            tier = plan.in_network
            copays = parse_copays(str(s["in_network_copays"]))
            assert copays == {"86": tier.emergency_copay, "98": tier.office_visit_copay}


def test_prior_auth_by_procedure_place_and_service_type_with_whom_to_call(
    answers: Answers,
) -> None:
    cts = next(s for s in _by_payer(answers, "CTS02") if s["coverage_status"] == "active")
    # payer profile 29881, 64483 + plan 72148 anywhere; plan 73721 only at POS 22 (III)
    assert cts["prior_auth_services"] == "HC:29881; HC:64483; HC:72148; HC:73721 POS:22"
    assert str(cts["prior_auth_contact"]).startswith("X3: CONTOSO CARE REVIEW (PI CTSUM1)")
    wgh = next(s for s in _by_payer(answers, "WGH04") if s["coverage_status"] == "active")
    assert str(wgh["prior_auth_services"]).endswith("; STC:PT")
    assert ["III", "ZZ", "22"] in answers.segments
    assert ["LS", "2120"] in answers.segments and ["LE", "2120"] in answers.segments


def test_unknown_inactive_and_terminated_members(answers: Answers) -> None:
    by_status: dict[str, list[dict[str, object]]] = {}
    for s in answers.summaries:
        by_status.setdefault(str(s["coverage_status"]), []).append(s)
    assert {str(s["reject_reason_code"]) for s in by_status["rejected"]} == {"75"}
    inactive = {answers.traces[str(s["trace_number"])] for s in by_status["inactive"]}
    # the member the practice still lists as covered, whose coverage ended mid-month: active
    # for the earlier dates of service, inactive (with DTP*357) for the last one
    ended = [
        s for s in answers.summaries if s["eligibility_end"] and s["coverage_status"] == "active"
    ]
    assert ended
    patient, payer, _ = answers.traces[str(ended[0]["trace_number"])]
    days = sorted(d for p, y, d in answers.traces.values() if (p, y) == (patient, payer))
    end = date.fromisoformat(str(ended[0]["eligibility_end"]))
    assert end == days[-1] - timedelta(days=1)
    assert (patient, payer, days[-1]) in inactive


def test_adjudication_requires_auth_where_the_271_says_so() -> None:
    plans = load_plans(MAPPINGS)
    assert plans["CTS02"].needs_auth("73721", "22") and not plans["CTS02"].needs_auth("73721", "11")
    assert plans["CTS02"].needs_auth("72148", "11")  # plan-level, anywhere
    assert plans["WGH04"].needs_auth("97110", "11")  # service type PT
    assert not plans["FAB03"].needs_auth("97110", "11")
