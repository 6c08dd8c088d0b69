"""The scrubber's 271 rules, each driven by a hand-made 271 parsed the way the nightly does it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pipeline.build.codes import CodeSets
from pipeline.build.scrub import scrub
from pipeline.build.scrub_eligibility import EligibilityOnFile, claim_inquiries
from pipeline.build.service_types import ServiceTypeMap, load_service_types
from pipeline.errors import ConfigError
from pipeline.parse import parse_file
from pipeline.parse.coverage import CoverageFacts
from pipeline.practice import Encounter, LoadResult, Practice
from tests.build.conftest import ROOT, TODAY

PLAN_YEAR = "DTP*346*D8*20260101~"


def _answer(tmp_path: Path, payer_id: str, member_id: str, body: str) -> dict[str, object]:
    """One 271 (005010X279A1) about one member; returns its ``eligibility_summary`` row."""
    segments = (
        "ST*271*0001*005010X279A1~BHT*0022*11*R1*20261127*0200~HL*1**20*1~"
        f"NM1*PR*2*PAYER*****PI*{payer_id}~HL*2*1*21*1~NM1*1P*2*LAKESIDE*****XX*1749263855~"
        f"HL*3*2*22*0~TRN*2*T1*1463871520~NM1*IL*1*DOE*JO****MI*{member_id}~{body}"
    )
    count = segments.count("~") + 1
    text = (
        "ISA*00*          *00*          *ZZ*PAYER          *ZZ*PRACTICE       *261127*0200*^*"
        "00501*000000001*0*P*:~GS*HB*PAYER*PRACTICE*20261127*0200*1*X*005010X279A1~"
        f"{segments}SE*{count}*0001~GE*1*1~IEA*1*000000001~"
    )
    path = tmp_path / f"{member_id}.271"
    path.write_text(text, encoding="ascii")
    (row,) = parse_file(path).tables["eligibility_summary"].to_dict("records")
    return row


@pytest.fixture(scope="module")
def types() -> ServiceTypeMap:
    return load_service_types(ROOT / "mappings")


def _encounter(practice: Practice, encounter_id: str, **changes: object) -> Encounter:
    e = next(e for e in practice.encounters if e.encounter_id == encounter_id)
    return e.model_copy(update=changes) if changes else e


def _findings(
    practice: Practice,
    encounter: Encounter,
    codes: CodeSets,
    on_file: EligibilityOnFile | None,
) -> set[tuple[str, str]]:
    report = scrub(practice, [encounter], today=TODAY, codes=codes, eligibility=on_file)
    return {(f.rule, f.severity) for f in report.findings if f.field != "patient.aob"}


def _on_file(
    types: ServiceTypeMap,
    row: dict[str, object],
    encounter: Encounter,
    payer_id: str,
    asked: date | None = None,
) -> EligibilityOnFile:
    facts = CoverageFacts.from_summary(
        row,
        patient_id=encounter.patient_id,
        payer_id=payer_id,
        service_date=asked or encounter.service_date,
    )
    return EligibilityOnFile([facts], types)


EPO_ACTIVE = (
    f"{PLAN_YEAR}EB*1*IND*30^98*EP*EPO~EB*B*IND*98***27*45*****Y~"
    "EB*I*IND*30*********N~MSG*OUT OF NETWORK BENEFITS FOR EMERGENCY SERVICES ONLY~"
    "EB*1*IND*86*********N~"
)


def test_out_of_network_not_covered_holds_an_office_visit(
    tmp_path: Path, demo: LoadResult, codes: CodeSets, types: ServiceTypeMap
) -> None:
    p = demo.practice
    visit = _encounter(p, "E0082")  # TSP05 (EPO, practice out of network), 99204 at POS 11
    on_file = _on_file(
        types, _answer(tmp_path, "TSP05", "TSP431524211", EPO_ACTIVE), visit, "TSP05"
    )
    assert ("oon_not_covered", "error") in _findings(p, visit, codes, on_file)
    # ...but not what the No Surprises Act makes the plan pay, nor a network-gap exception
    for changed in (
        {"emergency": True},
        {"place_of_service": "22", "facility_id": "FAC01"},
        {"prior_auth": "GAP123"},
    ):
        found = _findings(p, visit.model_copy(update=changed), codes, on_file)
        assert ("oon_not_covered", "warning") in found and ("oon_not_covered", "error") not in found
    # plan design from a 271 of another plan year does not decide
    last_year = _on_file(types, _answer(tmp_path, "TSP05", "TSP431524211", EPO_ACTIVE.replace(
        "20260101", "20250101")), visit, "TSP05", date(2025, 11, 11))  # fmt: skip
    assert not {r for r, _ in _findings(p, visit, codes, last_year)} & {"oon_not_covered"}


def test_inactive_coverage_holds_on_its_date_and_warns_near_it(
    tmp_path: Path, demo: LoadResult, codes: CodeSets, types: ServiceTypeMap
) -> None:
    p = demo.practice
    visit = _encounter(p, "E0082")
    row = _answer(tmp_path, "TSP05", "TSP431524211", f"{PLAN_YEAR}EB*6*IND*30~")
    exact = _on_file(types, row, visit, "TSP05")
    assert ("eligibility_inactive", "error") in _findings(p, visit, codes, exact)
    later = _on_file(types, row, visit, "TSP05", date(2026, 11, 28))
    assert ("eligibility_inactive_near", "warning") in _findings(p, visit, codes, later)
    # a 271 of another date that gives the end of eligibility decides the date of service
    ended = _answer(
        tmp_path, "TSP05", "TSP431524211", f"{PLAN_YEAR}DTP*357*D8*20261110~EB*6*IND*30~"
    )
    dated = _on_file(types, ended, visit, "TSP05", date(2026, 11, 28))
    assert ("eligibility_inactive", "error") in _findings(p, visit, codes, dated)


def test_an_unknown_member_holds_and_a_payer_outage_only_warns(
    tmp_path: Path, demo: LoadResult, codes: CodeSets, types: ServiceTypeMap
) -> None:
    p = demo.practice
    visit = _encounter(p, "E0082")
    unknown = _answer(tmp_path, "TSP05", "TSP431524211", "AAA*N**75*C~")
    assert ("eligibility_rejected", "error") in _findings(
        p, visit, codes, _on_file(types, unknown, visit, "TSP05", date(2026, 11, 28))
    )  # the member id is wrong whatever the date asked about
    outage = _answer(tmp_path, "TSP05", "TSP431524211", "AAA*N**42*R~")
    found = _findings(p, visit, codes, _on_file(types, outage, visit, "TSP05"))
    assert ("eligibility_unanswered", "warning") in found and not any(
        s == "error" for _, s in found
    )
    # the practice has corrected the member id since the 271: that answer decides nothing
    corrected = _answer(tmp_path, "TSP05", "OLDID", "AAA*N**75*C~")
    found = _findings(p, visit, codes, _on_file(types, corrected, visit, "TSP05"))
    assert found == {("eligibility_unverified", "warning")}


def test_271_prior_auth_by_procedure_place_of_service_and_service_type(
    tmp_path: Path, demo: LoadResult, codes: CodeSets, types: ServiceTypeMap
) -> None:
    p = demo.practice
    mri = _encounter(p, "E0056")  # CTS02, 73721 at POS 22, a dependent with an id of her own
    body = (
        f"{PLAN_YEAR}EB*1*IND*30*PR*PPO~EB*C*IND*30***23*1000*****N~"
        "EB*1*IND*30********Y*W*HC:73721~MSG*PRIOR AUTHORIZATION REQUIRED~III*ZZ*22~"
        "LS*2120~NM1*X3*2*CONTOSO CARE REVIEW*****PI*CTSUM1~PER*IC**TE*8005550102~LE*2120~"
    )
    row = _answer(tmp_path, "CTS02", "CTS92852934102", body)
    on_file = _on_file(types, row, mri, "CTS02")
    report = scrub(p, [mri], today=TODAY, codes=codes, eligibility=on_file)
    (held,) = [f for f in report.errors() if f.rule == "prior_auth_271"]
    assert "73721 at POS 22" in held.message and "CONTOSO CARE REVIEW" in held.message
    office = mri.model_copy(update={"place_of_service": "11", "facility_id": None})
    assert ("prior_auth_271", "error") not in _findings(p, office, codes, on_file)
    with_auth = mri.model_copy(update={"prior_auth": "PA1"})
    assert ("prior_auth_271", "error") not in _findings(p, with_auth, codes, on_file)

    therapy = _encounter(p, "E0045")  # WGH04 (in network), 97110: service type PT
    pt = _answer(tmp_path, "WGH04", "WGH744388865", f"{PLAN_YEAR}EB*1*IND*PT********Y*Y~")
    assert ("prior_auth_271", "error") in _findings(
        p, therapy, codes, _on_file(types, pt, therapy, "WGH04")
    )
    out_of_network = _answer(
        tmp_path, "WGH04", "WGH744388865", f"{PLAN_YEAR}EB*1*IND*PT********Y*N~"
    )
    assert ("prior_auth_271", "error") not in _findings(
        p, therapy, codes, _on_file(types, out_of_network, therapy, "WGH04")
    )  # the requirement is for out-of-network care; Woodgrove is in network


def test_a_code_the_payer_profile_lists_is_reported_once(
    tmp_path: Path, demo: LoadResult, codes: CodeSets, types: ServiceTypeMap
) -> None:
    p = demo.practice
    injection = _encounter(p, "E0016", prior_auth=None)  # CTS02 lists 64483 itself
    body = f"{PLAN_YEAR}EB*1*IND*30*PR*PPO~EB*1*IND*30********Y*W*HC:64483~"
    on_file = _on_file(types, _answer(tmp_path, "CTS02", "CTS623204149", body), injection, "CTS02")
    rules = {r for r, s in _findings(p, injection, codes, on_file) if s == "error"}
    assert rules == {"prior_auth_missing"}


def test_no_271_warns_and_no_ledger_checks_nothing(
    demo: LoadResult, codes: CodeSets, types: ServiceTypeMap
) -> None:
    p = demo.practice
    visit = _encounter(p, "E0082")
    assert ("eligibility_unverified", "warning") in _findings(
        p, visit, codes, EligibilityOnFile([], types)
    )
    assert not {r for r, _ in _findings(p, visit, codes, None)} & {"eligibility_unverified"}


def test_a_void_is_never_held_by_its_271(
    tmp_path: Path, demo: LoadResult, codes: CodeSets, types: ServiceTypeMap
) -> None:
    p = demo.practice
    void = _encounter(p, "E0155")  # TSP05, frequency 8
    row = _answer(tmp_path, "TSP05", "TSP729930523", f"{PLAN_YEAR}EB*6*IND*30~")
    found = _findings(p, void, codes, _on_file(types, row, void, "TSP05"))
    assert not {r for r, _ in found} & {"eligibility_inactive", "eligibility_unverified"}


def test_the_answer_for_the_date_of_service_wins_else_the_nearest() -> None:
    def fact(day: date, status: str) -> CoverageFacts:
        return CoverageFacts(status, service_date=day, patient_id="A1", payer_id="P1")

    types = ServiceTypeMap()
    on_file = EligibilityOnFile(
        [fact(date(2026, 11, 1), "active"), fact(date(2026, 11, 20), "inactive"),
         fact(date(2026, 11, 10), "rejected"), fact(date(2026, 11, 10), "active")],
        types,
    )  # fmt: skip
    assert on_file.for_claim("A1", "P1", date(2026, 11, 10)).status == "active"  # type: ignore[union-attr]
    assert on_file.for_claim("A1", "P1", date(2026, 11, 17)).status == "inactive"  # type: ignore[union-attr]
    assert on_file.for_claim("A1", "P1", date(2026, 11, 4)).status == "active"  # type: ignore[union-attr]
    assert on_file.for_claim("A1", "P2", date(2026, 11, 4)) is None


def test_claim_inquiries_ask_each_unbilled_date_once(demo: LoadResult) -> None:
    p = demo.practice
    # A0045: E0145 on 2026-11-18 and the void E0155 on 2026-11-01; A0046: five visits
    encounters = [e for e in p.encounters if e.patient_id in ("A0045", "A0046")]
    again = _encounter(p, "E0092").model_copy(update={"encounter_id": "E9092"})  # same date
    twice = [*encounters, again]
    asked = {("A0046", date(2026, 11, 17))}
    inquiries = claim_inquiries([*twice, _encounter(p, "E0167")], on=TODAY, asked=asked)
    assert [(a.appointment_id, a.patient_id, a.date) for a in inquiries] == [
        ("E0041", "A0046", date(2026, 11, 6)),
        ("E0061", "A0046", date(2026, 11, 12)),
        ("E0087", "A0046", date(2026, 10, 29)),
        ("E0092", "A0046", date(2026, 11, 10)),
        ("E0145", "A0045", date(2026, 11, 18)),
    ]  # not the void, not the date asked before, not E0167 (after today), E0092's date once
    assert all(a.service_types == ["30"] for a in inquiries)


def test_service_types_of_procedure_codes(types: ServiceTypeMap, tmp_path: Path) -> None:
    assert types.of("72148") == {"30", "4", "62"}
    assert types.of("99213") == {"30", "98"}
    assert types.of("99284") == {"30", "86"}
    assert types.of("97110") == {"30", "PT", "AE"}
    assert types.of("J1100") == {"30", "1"}
    assert types.of("0001U") == {"30"}  # unknown code: the plan in general only
    (tmp_path / "codes").mkdir()
    (tmp_path / "codes" / "procedure_service_types.csv").write_text(
        "first,last,service_types,description\n9920,99215,98,bad\n"
    )
    load_service_types.cache_clear()
    with pytest.raises(ConfigError, match="row 2"):
        load_service_types(tmp_path)


def test_claim_inquiries_leave_nothing_behind(demo: LoadResult) -> None:
    """The night's claim questions are built without pydantic validation, which kept copies
    of the strings it saw (its own cache): scattered through the memory the 270 build then
    frees, they kept it from the system. The appointments are the ones validation makes."""
    import gc
    import tracemalloc

    from pipeline.practice.model import Appointment

    base = _encounter(demo.practice, "E0145")
    encounters = [
        base.model_copy(update={"encounter_id": f"E{n:07d}x", "patient_id": f"Q{n:06d}y"})
        for n in range(2000)
    ]
    tracemalloc.start(4)
    try:
        before = tracemalloc.take_snapshot()
        inquiries = claim_inquiries(encounters, on=TODAY, asked=set())
        assert len(inquiries) == 2000
        assert all(a == Appointment(**a.model_dump()) for a in inquiries[:50])
        del inquiries
        gc.collect()
        here = tracemalloc.Filter(True, "*/pipeline/build/scrub_eligibility.py", all_frames=True)
        after = tracemalloc.take_snapshot().filter_traces([here])
        kept = sum(s.count_diff for s in after.compare_to(before.filter_traces([here]), "lineno"))
    finally:
        tracemalloc.stop()
    assert kept < 50  # validating them kept ~1 object per appointment
