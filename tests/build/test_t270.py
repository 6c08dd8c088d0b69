"""270 builder: golden file, validation with the authored X279A1 map, round trip, traces."""

from __future__ import annotations

import io
import os
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from pipeline.build.t270 import Build270Result, TraceKey, build_270
from pipeline.parse.t270 import read_270
from pipeline.practice import LoadResult, Practice
from pipeline.x12.validate import validate_file
from tests.build.conftest import GOLDEN, NOW, CountingControlNumbers

GOLDEN_270 = GOLDEN / "demo_20261128.270.x12"
DAYS = (date(2026, 11, 28), date(2026, 11, 30), date(2026, 12, 1))


def _build(practice: Practice, on: date, start: int = 1) -> tuple[Build270Result, str]:
    out = io.StringIO()
    result = build_270(practice, out, on=on, control_numbers=CountingControlNumbers(start), now=NOW)
    return result, out.getvalue()


def test_golden(demo: LoadResult) -> None:
    _, text = _build(demo.practice, DAYS[0])
    if os.environ.get("CLAIMFLOW_UPDATE_GOLDEN"):
        GOLDEN_270.write_text(text, encoding="ascii")
    assert text == GOLDEN_270.read_text(encoding="ascii")


@pytest.mark.parametrize("on", DAYS, ids=str)
def test_valid_and_round_trips(demo: LoadResult, on: date, tmp_path: Path) -> None:
    result, text = _build(demo.practice, on)
    path = tmp_path / f"{on}.270.x12"
    path.write_text(text, encoding="ascii")
    report = validate_file(path)
    assert report.status == "valid", [p.message for p in report.errors][:5]
    assert read_270(path) == result.inquiries
    assert result.findings == []


def test_one_inquiry_per_patient_and_payer(demo: LoadResult) -> None:
    practice = demo.practice
    for on in DAYS:
        result, _ = _build(practice, on)
        patients = {a.patient_id for a in practice.appointments if a.date == on}
        expected = {(c.patient_id, c.payer_id) for c in practice.coverages
                    if c.patient_id in patients}  # fmt: skip
        got = [(k.patient_id, k.payer_id) for k in result.traces.values()]
        assert sorted(got) == sorted(expected)
        assert all(i.service_date == on for i in result.inquiries)


def test_demo_exercises_dependents_and_secondary_payers(demo: LoadResult) -> None:
    inquiries = [i for on in DAYS for i in _build(demo.practice, on)[0].inquiries]
    per_patient = Counter(i.patient_id for i in inquiries)
    assert max(per_patient.values()) == 2  # a patient with secondary coverage: two payers
    assert any(i.dependent is not None for i in inquiries)
    coverages = {c.coverage_id: c for c in demo.practice.coverages}
    for i in inquiries:
        coverage = coverages[i.coverage_id]
        own_id = coverage.is_self or bool(coverage.patient_member_id)
        assert (i.dependent is None) == own_id
        assert i.member_id == (coverage.patient_member_id or coverage.member_id)
        assert i.subscriber.address_line1 == ""  # no addresses on a 270


def test_traces_are_unique_and_map_back(demo: LoadResult) -> None:
    seen: dict[str, TraceKey] = {}
    for start, on in enumerate(DAYS, start=1):
        result, text = _build(demo.practice, on, start=start)
        for trace, key in result.traces.items():
            assert trace not in seen
            seen[trace] = key
            assert f"TRN*1*{trace}*1463871520~" in text
    keys = list(seen.values())
    assert all(k.coverage_id and k.patient_id and k.payer_id for k in keys)


def test_service_types_union_and_default(demo: LoadResult) -> None:
    result, text = _build(demo.practice, DAYS[1])
    assert any(i.service_types == ("30", "98") for i in result.inquiries)
    assert "EQ*30^98~" in text
    assert all(i.service_types for i in result.inquiries)


def test_no_appointments_writes_nothing(demo: LoadResult) -> None:
    result, text = _build(demo.practice, date(2027, 1, 1))
    assert (result.inquiries, text) == ([], "")


def test_delimiter_in_a_name_is_a_finding(demo: LoadResult) -> None:
    practice = demo.practice.model_copy(deep=True)
    appointment = next(a for a in practice.appointments if a.date == DAYS[0])
    practice.patients[appointment.patient_id].last_name = "O:NEIL"
    result, text = _build(practice, DAYS[0])
    assert {(f.encounter_id, f.rule) for f in result.findings} == {
        (appointment.appointment_id, "x12_value")
    }
    assert "O:NEIL" not in text and result.inquiries


def test_dependent_with_several_service_types_repeats_eq01(demo: LoadResult, tmp_path: Path):
    """2000D EQ01 is a repeating element: ``EQ*30^98``, not a value holding the separator."""
    practice = demo.practice.model_copy(deep=True)
    dependents = {c.patient_id for c in practice.coverages
                  if not c.is_self and not c.patient_member_id}  # fmt: skip
    appointment = next(
        a for a in practice.appointments if a.date == DAYS[0] and a.patient_id in dependents
    )
    appointment.service_types = ["30", "98", "AL"]
    result, text = _build(practice, DAYS[0])
    assert result.findings == []
    (inquiry,) = [i for i in result.inquiries if i.patient_id == appointment.patient_id]
    assert inquiry.dependent is not None and inquiry.service_types == ("30", "98", "AL")
    dependent_block = text.split(f"NM1*03*1*{inquiry.dependent.last_name}*")[1]
    assert dependent_block.split("~", 5)[4].strip() == "EQ*30^98^AL"
    path = tmp_path / "dependent.270.x12"
    path.write_text(text, encoding="ascii")
    report = validate_file(path)
    assert report.status == "valid", [p.message for p in report.errors][:5]
    assert [i.service_types for i in read_270(path)] == [i.service_types for i in result.inquiries]


def test_every_appointment_on_its_own_date_in_one_file(demo: LoadResult, tmp_path: Path) -> None:
    # on=None: what the nightly sends for tomorrow plus the dates of service it is about to bill
    out = io.StringIO()
    result = build_270(
        demo.practice, out, on=None, control_numbers=CountingControlNumbers(), now=NOW
    )
    expected = {
        (c.patient_id, c.payer_id, a.date)
        for a in demo.practice.appointments
        for c in demo.practice.coverages
        if c.patient_id == a.patient_id
    }
    got = [(i.patient_id, i.payer_id, i.service_date) for i in result.inquiries]
    assert sorted(got) == sorted(expected) and {d for *_, d in got} == set(DAYS)
    path = tmp_path / "all.270.x12"
    path.write_text(out.getvalue(), encoding="ascii")
    assert validate_file(path).status == "valid"
    assert read_270(path) == result.inquiries  # each DTP*291 carries its own date


def test_unwritable_inquiries_are_findings_in_appointment_order(demo: LoadResult) -> None:
    """Payer by payer as it renders, the builder still reports them in the night's order."""
    practice = demo.practice.model_copy(deep=True)
    day = [a for a in practice.appointments if a.date == DAYS[0]]
    for a in day:
        practice.patients[a.patient_id].last_name = "O:NEIL"
    payers = {c.payer_id for a in day for c in practice.coverages_of(a.patient_id)}
    result, text = _build(practice, DAYS[0])
    assert len(payers) > 1 and (result.inquiries, text) == ([], "")  # no empty interchange
    ids = [f.encounter_id for f in result.findings if f.rule == "x12_value"]
    assert ids == sorted(ids, key=[a.appointment_id for a in day].index) and len(ids) >= len(day)


def test_the_build_holds_one_payer_s_segments_at_a_time(tmp_path: Path) -> None:
    """A night's 270 (every appointment, several payers): what the build holds besides what
    it returns stays within twice the file's text (all payers' segments at once: 5 times)."""
    import gc
    import tracemalloc

    from pipeline.build.scrub_eligibility import claim_inquiries
    from pipeline.practice import load_practice
    from pipeline.practice.scale import write_scaled_practice
    from tests.conftest import SAMPLE_EDI

    folder = write_scaled_practice(SAMPLE_EDI / "practice", tmp_path / "practice", 3000)
    loaded = load_practice(folder).practice
    # As the nightly asks: the appointments and the dates of service of the encounters.
    asks = claim_inquiries(list(loaded.encounters), on=DAYS[0], asked=set())
    practice = loaded.model_copy(update={"appointments": [*loaded.appointments, *asks]})
    assert len({c.payer_id for c in practice.coverages}) >= 4
    out = io.StringIO()
    gc.collect()
    tracemalloc.start()
    try:
        numbers = CountingControlNumbers()
        result = build_270(practice, out, on=None, control_numbers=numbers, now=NOW)
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    size = len(out.getvalue())
    print(f"\n270 of {len(result.inquiries):,} inquiries, {size / 2**20:.2f} MB: build peak "
          f"{peak / 2**20:.1f} MB, of which kept {held / 2**20:.1f} MB")  # fmt: skip
    assert len(result.inquiries) > 3000 and peak - held < 2 * size
