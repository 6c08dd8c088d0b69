"""837P builder: golden file, IG validation (pyx12), round trip, loops and splitting.

Regenerate the golden file after an intended change with
``CLAIMFLOW_UPDATE_GOLDEN=1 .venv/bin/pytest tests/build`` and review the diff.
"""

from __future__ import annotations

import io
import os
from collections import Counter
from pathlib import Path

import pytest

from pipeline.build.codes import CodeSets
from pipeline.build.t837p import (
    Build837Result,
    ClaimContext,
    _fast,
    _render_with,
    _Segments,
    build_837p,
    claim_record,
)
from pipeline.parse.t837p import read_837p
from pipeline.practice import Encounter, LoadResult, Practice
from pipeline.x12.reader import read_segments
from pipeline.x12.segments import Delimiters
from pipeline.x12.validate import validate_file
from tests.build.conftest import GOLDEN, NOW, TODAY, CountingControlNumbers

GOLDEN_837P = GOLDEN / "demo.837p.x12"


def _build(practice: Practice, codes: CodeSets, **kw: object) -> tuple[Build837Result, str]:
    out = io.StringIO()
    result = build_837p(
        practice, out, control_numbers=CountingControlNumbers(), today=TODAY, codes=codes,
        now=NOW, **kw,  # type: ignore[arg-type]
    )  # fmt: skip
    return result, out.getvalue()


@pytest.fixture(scope="module")
def built(demo: LoadResult, codes: CodeSets) -> tuple[Build837Result, str]:
    return _build(demo.practice, codes)


@pytest.fixture(scope="module")
def built_file(built: tuple[Build837Result, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("837p") / "demo.837p.x12"
    path.write_text(built[1], encoding="ascii")
    return path


def test_golden(built: tuple[Build837Result, str]) -> None:
    text = built[1]
    if os.environ.get("CLAIMFLOW_UPDATE_GOLDEN"):
        GOLDEN_837P.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN_837P.write_text(text, encoding="ascii")
    assert text == GOLDEN_837P.read_text(encoding="ascii")


def test_passes_ig_validation(built_file: Path) -> None:
    report = validate_file(built_file)
    assert report.status == "valid", [p.message for p in report.errors][:5]
    assert report.errors == []


def test_round_trip_equals_the_built_claims(
    built: tuple[Build837Result, str], built_file: Path
) -> None:
    back = read_837p(built_file)
    assert back == built[0].claims
    assert {c.transaction_control_number for c in back} == set(built[0].transactions)


def test_round_trip_equals_the_practice_input(demo: LoadResult, built_file: Path) -> None:
    """Claims, lines, codes and amounts read back from the file equal the practice export."""
    encounters = {e.patient_control_number: e for e in demo.practice.encounters}
    back = read_837p(built_file)
    assert len(back) == 160
    for claim in back:
        e = encounters[claim.patient_control_number]
        assert claim.total_charge == e.total_charge == e.line_total
        assert claim.place_of_service == e.place_of_service
        assert claim.frequency == e.frequency
        assert claim.diagnoses == tuple(e.diagnoses)
        assert claim.prior_auth == (e.prior_auth or "")
        assert claim.referral_number == (e.referral_number or "")
        assert claim.original_claim_number == (e.original_claim_number or "")
        assert claim.responsibility == e.coverage_priority
        assert claim.emergency == e.emergency
        assert [
            (ln.procedure_code, ln.modifiers, ln.units, ln.charge, ln.diagnosis_pointers,
             ln.service_date, ln.ndc, ln.ndc_quantity)
            for ln in claim.lines
        ] == [
            (c.procedure_code, tuple(c.modifiers), c.units, c.charge,
             tuple(c.diagnosis_pointers), c.service_date, c.ndc or "", c.ndc_quantity)
            for c in e.charges
        ]  # fmt: skip


def test_line_control_numbers_are_unique(built: tuple[Build837Result, str]) -> None:
    refs = [ln.line_control_number for c in built[0].claims for ln in c.lines]
    assert len(refs) == len(set(refs))
    assert all(len(r) <= 30 for r in refs)
    assert built[0].claims[0].lines[0].line_control_number == "LS0000001-1"


def test_patient_loop_only_for_dependents_without_own_id(
    demo: LoadResult, built_file: Path
) -> None:
    practice = demo.practice
    by_pcn = {e.patient_control_number: e for e in practice.encounters}
    hl_levels = Counter(seg[3] for seg in read_segments(built_file) if seg.id == "HL")
    dependents = 0
    for claim in read_837p(built_file):
        e = by_pcn[claim.patient_control_number]
        coverage = practice.coverage_for(e.patient_id, e.coverage_priority)
        assert coverage is not None
        own_id = coverage.is_self or bool(coverage.patient_member_id)
        assert (claim.relationship == "18") == own_id
        if not own_id:
            dependents += 1
            assert claim.patient != claim.subscriber
            assert claim.member_id == coverage.member_id
        elif not coverage.is_self:  # dependent with a member id of their own
            assert claim.member_id == coverage.patient_member_id
            assert claim.subscriber.last_name == practice.patients[e.patient_id].last_name
    assert dependents > 0
    assert hl_levels["23"] == dependents
    assert hl_levels["22"] == 160


def test_claim_codes_from_the_patient_record(built: tuple[Build837Result, str]) -> None:
    claims = built[0].claims
    refused = [c for c in claims if c.benefits_assignment == "W"]
    assert refused and all(c.benefits_assignment == "Y" for c in claims if c not in refused)
    assert {c.assignment for c in refused} <= {"A", "C"}
    assert any(c.assignment == "C" for c in refused)  # out-of-network, payment to the patient
    emergency = [c for c in claims if c.place_of_service == "23"]
    assert emergency and all(ln.emergency for c in emergency for ln in c.lines)
    assert all(c.original_claim_number for c in claims if c.frequency in {"7", "8"})
    assert any(ln.ndc == "63323016501" for c in claims for ln in c.lines)


def test_split_into_transaction_sets(demo: LoadResult, codes: CodeSets, tmp_path: Path) -> None:
    result, text = _build(demo.practice, codes, max_claims_per_transaction=40)
    assert [len(pcns) for pcns in result.transactions.values()] == [40, 40, 40, 40]
    path = tmp_path / "split.x12"
    path.write_text(text, encoding="ascii")
    report = validate_file(path, ig=False)  # envelope counts and balancing; IG is tested above
    assert report.status == "valid" and report.transactions == 4
    assert read_837p(path) == result.claims


def test_fast_and_checked_renderers_agree(demo: LoadResult, built: tuple[Build837Result, str]):
    d = Delimiters()
    context = ClaimContext(demo.practice)
    by_id = {e.encounter_id: e for e in demo.practice.encounters}
    for claim in built[0].claims:
        record = claim_record(demo.practice, by_id[claim.encounter_id], context=context)
        fast = _fast(_Segments(d), record, d)
        checked = _render_with(_Segments(d, checked=True), record, d)
        assert (fast.subscriber, fast.patient, fast.claim) == (
            checked.subscriber, checked.patient, checked.claim,
        )  # fmt: skip


def test_names_are_upper_cased(demo: LoadResult, codes: CodeSets) -> None:
    practice = demo.practice.model_copy(deep=True)
    encounter = next(e for e in practice.encounters if e.encounter_id == "E0002")
    practice.patients[encounter.patient_id].last_name = "de la Cruz"
    result, text = _build(practice, codes, encounters=[encounter])
    assert "NM1*IL*1*DE LA CRUZ*" in text
    assert result.claims[0].subscriber.last_name == "DE LA CRUZ"


def test_delimiter_in_a_value_is_held_not_raised(demo: LoadResult, codes: CodeSets) -> None:
    practice = demo.practice.model_copy(deep=True)
    chosen: list[Encounter] = practice.encounters[:3]
    practice.patients[chosen[1].patient_id].first_name = "ANN~MARIE"
    result, text = _build(practice, codes, encounters=chosen)
    (finding,) = result.report.errors()
    assert (finding.encounter_id, finding.rule, finding.field) == (
        chosen[1].encounter_id, "x12_value", "NM104",
    )  # fmt: skip
    assert [c.encounter_id for c in result.claims] == [chosen[0].encounter_id,
                                                       chosen[2].encounter_id]  # fmt: skip
    assert "ANN" not in text


def test_nothing_written_when_every_claim_is_held(demo: LoadResult, codes: CodeSets) -> None:
    bad = [e for e in demo.practice.encounters if e.encounter_id in {"E0161", "E0162"}]
    result, text = _build(demo.practice, codes, encounters=bad)
    assert text == "" and result.claims == [] and result.held == {"E0161", "E0162"}


def test_delimiter_in_the_practice_record_holds_all(demo: LoadResult, codes: CodeSets) -> None:
    practice = demo.practice.model_copy(deep=True)
    practice.billing_provider.contact_name = "DANA~WHITFIELD"
    chosen = practice.encounters[:2]
    result, text = _build(practice, codes, encounters=chosen)
    assert text == "" and result.claims == []
    assert {(f.encounter_id, f.rule, f.field) for f in result.report.errors()} == {
        (e.encounter_id, "x12_value", "PER02") for e in chosen
    }


def test_accents_are_dropped_and_other_scripts_held(demo: LoadResult, codes: CodeSets) -> None:
    practice = demo.practice.model_copy(deep=True)
    chosen = [e for e in practice.encounters if e.coverage_priority == "P"][:2]
    practice.patients[chosen[0].patient_id].first_name = "José"
    practice.patients[chosen[1].patient_id].first_name = "王"
    result, text = _build(practice, codes, encounters=chosen)
    assert "*JOSE*" in text and text.isascii()
    assert [c.encounter_id for c in result.claims] == [chosen[0].encounter_id]
    (finding,) = result.report.errors()
    assert (finding.encounter_id, finding.rule, finding.field) == (
        chosen[1].encounter_id, "x12_value", "value",
    )  # fmt: skip
    assert "王" not in finding.message  # no names in the report


def _subscriber_loops(path: Path) -> dict[str, list[str]]:
    """PCN -> the segment ids of its 2010BA (NM1*IL of a 2000B up to NM1*PR)."""
    loops: dict[str, list[str]] = {}
    ids: list[str] = []
    in_2010ba = False
    for seg in read_segments(path):
        if seg.id == "HL":
            in_2010ba = False
            if seg[3] == "22":
                ids = []
        elif seg.id == "NM1" and seg[1] in {"IL", "PR"}:
            in_2010ba = seg[1] == "IL" and not ids
        if in_2010ba:
            ids.append(seg.id)
        if seg.id == "CLM":
            loops[seg[1]] = ids
    return loops


def test_subscriber_address_and_dmg_only_when_the_patient_is_the_subscriber(
    built: tuple[Build837Result, str], built_file: Path
) -> None:
    """X222A1 2010BA N3/N4/DMG: required when the patient is the subscriber, else not sent."""
    loops = _subscriber_loops(built_file)
    claims = {c.patient_control_number: c for c in built[0].claims}
    assert set(loops) == set(claims)
    dependents = [pcn for pcn, c in claims.items() if c.relationship != "18"]
    assert dependents and len(dependents) < len(claims)
    for pcn, claim in claims.items():
        expected = ["NM1"] if claim.relationship != "18" else ["NM1", "N3", "N4", "DMG"]
        assert loops[pcn] == expected, pcn
        if claim.relationship != "18":  # the patient's own loop still has them
            assert claim.patient.dob is not None and claim.patient.address_line1
            assert claim.subscriber.dob is None and claim.subscriber.address_line1 == ""
