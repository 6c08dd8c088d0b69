"""The claim scrubber: the demo's deliberately bad encounters, and each rule on its own."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from stdnum import luhn

from pipeline.build.codes import CodeSets
from pipeline.build.scrub import format_report, npi_is_valid, scrub
from pipeline.build.t837p import build_837p
from pipeline.practice import (
    Encounter,
    LoadResult,
    PayerRule,
    Practice,
    PrimaryAdjudication,
)
from tests.build.conftest import NOW, TODAY, CountingControlNumbers

FIXTURE = Path(__file__).with_name("expected_holds.csv")


def _expected() -> set[tuple[str, str, str]]:
    with FIXTURE.open(encoding="utf-8") as fh:
        return {(r["encounter_id"], r["rule"], r["field"]) for r in csv.DictReader(fh)}


def test_demo_holds_exactly_the_deliberately_bad_encounters(demo: LoadResult, codes: CodeSets):
    result = build_837p(
        demo.practice, io.StringIO(), control_numbers=CountingControlNumbers(), today=TODAY,
        codes=codes, now=NOW,
    )  # fmt: skip
    errors = {(f.encounter_id, f.rule, f.field) for f in result.report.errors()}
    assert errors == _expected()
    assert result.held == {e for e, _, _ in _expected()}
    assert len(result.held) >= 10
    built = {c.encounter_id for c in result.claims}
    assert built.isdisjoint(result.held)
    assert len(built) + len(result.held) == len(demo.practice.encounters)


def test_warnings_are_reported_but_sent(demo: LoadResult, codes: CodeSets) -> None:
    report = scrub(demo.practice, today=TODAY, codes=codes)
    refused = {f.encounter_id for f in report.warnings() if f.rule == "aob_refused"}
    assert refused and refused.isdisjoint(report.held)
    text = format_report(report, built=160)
    assert "HELD E0168 (LS0000168)" in text
    assert "[timely_filing] service_date: 130 days after DOS; WGH04 allows 90" in text
    assert "warning [aob_refused]" in text


def test_npi_check_digit_uses_luhn_with_80840_prefix() -> None:
    body = "123456789"
    good = body + luhn.calc_check_digit("80840" + body)
    assert good == "1234567893"  # the CMS example
    assert npi_is_valid(good)
    assert not npi_is_valid("1234567890")
    assert not npi_is_valid("3234567893")  # must start with 1 or 2
    assert not npi_is_valid("123456789")


def _clean(practice: Practice, encounter_id: str = "E0002") -> Encounter:
    return next(e for e in practice.encounters if e.encounter_id == encounter_id)


def _rules(practice: Practice, encounter: Encounter, codes: CodeSets, today: date = TODAY):
    report = scrub(practice, [encounter], today=today, codes=codes)
    return {(f.rule, f.severity) for f in report.findings}


Edit = Callable[[Encounter], None]


def _set_line(**values: object) -> Edit:
    def edit(e: Encounter) -> None:
        for key, value in values.items():
            setattr(e.charges[0], key, value)

    return edit


def _set(**values: object) -> Edit:
    def edit(e: Encounter) -> None:
        for key, value in values.items():
            setattr(e, key, value)

    return edit


@pytest.mark.parametrize(
    ("edit", "rule"),
    [
        (_set(diagnoses=["r07.9"]), "icd10_format"),
        (_set(diagnoses=[]), "diagnosis_missing"),
        (_set(diagnoses=[f"M54{i:02d}" for i in range(13)]), "diagnosis_count"),
        (_set_line(procedure_code="J110"), "procedure_format"),
        (_set_line(modifiers=["25", "59", "RT", "LT", "95"]), "modifier_count"),
        (_set_line(modifiers=["R"]), "modifier_format"),
        (_set_line(diagnosis_pointers=[0]), "pointer_invalid"),
        (_set_line(diagnosis_pointers=[]), "pointer_missing"),
        (_set_line(diagnosis_pointers=[1, 2, 1, 2, 1]), "pointer_count"),
        (_set_line(units=Decimal("0")), "units_zero"),
        (_set_line(charge=Decimal("-1")), "charge_negative"),
        (_set_line(ndc="1234567890"), "ndc_format"),
        (_set_line(place_of_service="00"), "pos_invalid"),
        (_set(place_of_service="1"), "pos_invalid"),
        (_set(service_date=TODAY + timedelta(days=1)), "dos_future"),
        (_set(service_date=TODAY - timedelta(days=366)), "timely_filing"),
        (_set(total_charge=Decimal("1.00")), "charge_total"),
        (_set(frequency="8"), "original_claim_missing"),
        (_set(patient_control_number="LS-1"), "pcn_format"),
        (_set(rendering_provider_id="NOPE"), "provider_unknown"),
        (_set(referring_provider_id="DR09"), "npi_check_digit"),
        (_set(coverage_priority="T"), "coverage_missing"),
        (_set(accident_cause="AA", accident_state=None), "accident_state"),
        (_set(charges=[]), "lines_missing"),
    ],
)
def test_each_rule_holds_the_claim(
    demo: LoadResult, codes: CodeSets, edit: Edit, rule: str
) -> None:
    practice = demo.practice.model_copy(deep=True)
    encounter = _clean(practice)
    assert not any(s == "error" for _, s in _rules(practice, encounter, codes))
    edit(encounter)
    assert (rule, "error") in _rules(practice, encounter, codes)


def test_ndc_needs_quantity_and_unit(demo: LoadResult, codes: CodeSets) -> None:
    practice = demo.practice.model_copy(deep=True)
    encounter = next(e for e in practice.encounters if any(c.ndc for c in e.charges))
    line = next(c for c in encounter.charges if c.ndc)
    line.ndc_unit = "XX"
    assert ("ndc_unit", "error") in _rules(practice, encounter, codes)
    line.ndc_quantity = None
    assert ("ndc_quantity", "error") in _rules(practice, encounter, codes)


def test_secondary_claim_needs_the_primary_eob(demo: LoadResult, codes: CodeSets) -> None:
    practice = demo.practice.model_copy(deep=True)
    encounter = next(e for e in practice.encounters if e.coverage_priority == "S")
    assert _rules(practice, encounter, codes) == set()
    eob = encounter.primary_adjudication
    assert isinstance(eob, PrimaryAdjudication)
    encounter.primary_adjudication = None
    assert ("cob_missing", "error") in _rules(practice, encounter, codes)


def test_coverage_not_yet_effective(demo: LoadResult, codes: CodeSets) -> None:
    practice = demo.practice.model_copy(deep=True)
    encounter = _clean(practice)
    coverage = practice.coverage_for(encounter.patient_id, "P")
    assert coverage is not None
    coverage.effective_from = encounter.service_date + timedelta(days=1)
    assert ("dos_outside_coverage", "error") in _rules(practice, encounter, codes)


def test_timely_filing_warns_before_the_deadline(demo: LoadResult, codes: CodeSets) -> None:
    practice = demo.practice.model_copy(deep=True)
    encounter = _clean(practice)
    payer = practice.payers[practice.coverage_for(encounter.patient_id, "P").payer_id]  # type: ignore[union-attr]
    today = encounter.service_date + timedelta(days=payer.timely_filing_days - 3)
    assert ("timely_filing_soon", "warning") in _rules(practice, encounter, codes, today)
    today += timedelta(days=4)
    assert ("timely_filing", "error") in _rules(practice, encounter, codes, today)


def test_payer_rules_come_from_the_payer_profile(demo: LoadResult, codes: CodeSets) -> None:
    practice = demo.practice.model_copy(deep=True)
    encounter = _clean(practice)
    payer_id = practice.coverage_for(encounter.patient_id, "P").payer_id  # type: ignore[union-attr]
    payer = practice.payers[payer_id]
    code = encounter.charges[0].procedure_code
    payer.prior_auth_procedures = [code]
    encounter.prior_auth = None
    assert ("prior_auth_missing", "error") in _rules(practice, encounter, codes)
    payer.prior_auth_procedures = []
    payer.rules = [PayerRule(rule="max_units", procedures=[code], max_units=Decimal("0.5"))]
    assert ("max_units", "error") in _rules(practice, encounter, codes)
    payer.rules = [PayerRule(rule="no_such_rule")]
    assert _rules(practice, encounter, codes) == {("payer_rule_unknown", "warning")}


def test_duplicates_and_repeated_pcn(demo: LoadResult, codes: CodeSets) -> None:
    practice = demo.practice.model_copy(deep=True)
    first = _clean(practice)
    twin = first.model_copy(deep=True, update={"encounter_id": "TWIN"})
    report = scrub(practice, [first, twin], today=TODAY, codes=codes)
    rules = {(f.encounter_id, f.rule) for f in report.errors()}
    assert rules == {("TWIN", "pcn_duplicate"), ("TWIN", "duplicate")}


def test_bad_billing_provider_holds_everything(demo: LoadResult, codes: CodeSets) -> None:
    practice = demo.practice.model_copy(deep=True)
    practice.billing_provider.npi = "1749263856"
    practice.billing_provider.address.zip = "60611"
    encounters = practice.encounters[:3]
    report = scrub(practice, encounters, today=TODAY, codes=codes)
    assert report.held == {e.encounter_id for e in encounters}
    assert {f.rule for f in report.errors()} >= {"npi_check_digit", "zip_plus_4"}


def test_the_gc_pause_restores_the_collector() -> None:
    import gc

    from pipeline.build.common import no_cyclic_gc

    assert gc.isenabled()
    with no_cyclic_gc():
        assert not gc.isenabled()
        with no_cyclic_gc():  # nested (build_837p scrubs inside): the outer one re-enables
            pass
        assert not gc.isenabled()
    assert gc.isenabled()
