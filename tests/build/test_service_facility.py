"""2310C service facility location: scrubber rules, placement in the 2300 loop, round trip."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from pipeline.build.codes import CodeSets
from pipeline.build.scrub import FACILITY_POS, scrub
from pipeline.build.t837p import build_837p
from pipeline.parse.t837p import read_837p
from pipeline.practice import LoadResult, Practice, ServiceFacilityLocation, load_practice
from pipeline.x12.reader import read_segments
from tests.build.conftest import DEMO, NOW, ROOT, TODAY, CountingControlNumbers


def _practice(demo: LoadResult) -> Practice:
    return demo.practice.model_copy(deep=True)


def _errors(practice: Practice, encounter_id: str, codes: CodeSets) -> set[tuple[str, str]]:
    encounter = next(e for e in practice.encounters if e.encounter_id == encounter_id)
    report = scrub(practice, [encounter], today=TODAY, codes=codes)
    return {(f.rule, f.field) for f in report.errors()}


def _build(practice: Practice, codes: CodeSets, ids: set[str]) -> str:
    out = io.StringIO()
    chosen = [e for e in practice.encounters if e.encounter_id in ids]
    result = build_837p(
        practice, out, control_numbers=CountingControlNumbers(), today=TODAY, codes=codes,
        now=NOW, encounters=chosen,
    )  # fmt: skip
    assert not result.held
    return out.getvalue()


def test_every_demo_facility_encounter_names_a_valid_facility(demo: LoadResult) -> None:
    practice = demo.practice
    at_facility = [e for e in practice.encounters if e.place_of_service in FACILITY_POS]
    assert len(at_facility) > 30
    assert all(e.facility_id in practice.facilities for e in at_facility)
    assert {practice.facilities[e.facility_id].name for e in at_facility if e.facility_id} == {
        "LAKEVIEW MEMORIAL HOSPITAL",
        "GOLD COAST SURGERY CENTER LLC",
    }
    assert not any(e.facility_id for e in practice.encounters if e not in at_facility)


@pytest.mark.parametrize("pos", sorted(FACILITY_POS))
def test_facility_pos_without_a_facility_is_held(
    demo: LoadResult, codes: CodeSets, pos: str
) -> None:
    practice = _practice(demo)
    encounter = next(e for e in practice.encounters if e.encounter_id == "E0002")
    assert _errors(practice, "E0002", codes) == set()
    encounter.facility_id = None
    encounter.place_of_service = pos
    encounter.emergency = pos == "23"
    assert _errors(practice, "E0002", codes) == {("service_facility_missing", "facility_id")}


def test_line_at_a_facility_pos_needs_a_facility_too(demo: LoadResult, codes: CodeSets) -> None:
    practice = _practice(demo)
    office = next(e for e in practice.encounters if e.encounter_id == "E0045")  # POS 11
    assert office.facility_id is None and _errors(practice, "E0045", codes) == set()
    office.charges[0].place_of_service = "22"
    assert ("service_facility_missing", "facility_id") in _errors(practice, "E0045", codes)


def test_unknown_facility_bad_npi_and_zip5_are_held(demo: LoadResult, codes: CodeSets) -> None:
    practice = _practice(demo)
    encounter = next(e for e in practice.encounters if e.encounter_id == "E0002")
    encounter.facility_id = "FAC99"
    assert _errors(practice, "E0002", codes) == {("service_facility_missing", "facility_id")}
    encounter.facility_id = "FAC01"
    practice.facilities["FAC01"].npi = "1582047366"  # check digit off by one
    practice.facilities["FAC01"].address.zip = "60657"
    assert _errors(practice, "E0002", codes) == {
        ("npi_check_digit", "service_facility.npi"),
        ("zip_plus_4", "service_facility.address.zip"),
    }


def test_2310c_follows_2310b_and_reads_back(demo: LoadResult, codes: CodeSets) -> None:
    # E0017: referring (2310A) and rendering (2310B) providers, at the ASC.
    text = _build(_practice(demo), codes, {"E0017", "E0045"})
    segments = [s for s in read_segments(text.encode("ascii")) if s.id != "HL"]
    tags = [f"{s.id}*{s[1]}" if s.id in {"NM1", "REF", "DTP"} else s.id for s in segments]
    start = tags.index("CLM")
    assert tags[start : start + 11] == [
        "CLM", "REF*9F", "REF*G1", "HI", "NM1*DN", "NM1*82", "PRV", "NM1*77", "N3", "N4", "LX",
    ]  # fmt: skip
    nm1 = next(s for s in segments if s.id == "NM1" and s[1] == "77")
    assert (nm1[2], nm1[3], nm1[8], nm1[9]) == (
        "2", "GOLD COAST SURGERY CENTER LLC", "XX", "1369482058",
    )  # fmt: skip
    assert tags.count("NM1*77") == 1  # the office visit has none
    asc, office = read_837p(text.encode("ascii"))
    assert asc.service_facility == ServiceFacilityLocation(
        "GOLD COAST SURGERY CENTER LLC", "1369482058", "915 N RUSH LN", "STE 400", "CHICAGO",
        "IL", "606112207",
    )  # fmt: skip
    assert office.service_facility is None


def test_no_2310c_when_the_facility_is_the_billing_address(
    demo: LoadResult, codes: CodeSets
) -> None:
    practice = _practice(demo)
    practice.facilities["FAC01"].address = practice.billing_provider.address.model_copy()
    text = _build(practice, codes, {"E0002"})
    assert "NM1*77" not in text
    assert read_837p(text.encode("ascii"))[0].service_facility is None


def test_the_demo_file_carries_each_claims_facility(demo: LoadResult, codes: CodeSets) -> None:
    practice = demo.practice
    text = _build(practice, codes, {e.encounter_id for e in practice.encounters[:160]})
    by_pcn = {e.patient_control_number: e for e in practice.encounters}
    back = read_837p(text.encode("ascii"))
    assert sum(1 for c in back if c.service_facility) == sum(
        1 for e in practice.encounters[:160] if e.facility_id
    )
    for claim in back:
        e = by_pcn[claim.patient_control_number]
        facility = practice.facilities.get(e.facility_id or "")
        if facility is None:
            assert claim.service_facility is None
            continue
        assert claim.service_facility is not None
        assert claim.service_facility.npi == facility.npi
        assert claim.service_facility.zip == facility.address.zip


def test_facilities_file_is_optional(tmp_path: Path) -> None:
    for f in DEMO.glob("*.csv"):
        if f.name != "facilities.csv":
            (tmp_path / f.name).write_bytes(f.read_bytes())
    result = load_practice(tmp_path, mappings_dir=ROOT / "mappings")
    assert result.practice.facilities == {}
    assert result.issues == []
    assert any(e.facility_id for e in result.practice.encounters)  # the scrubber holds these
