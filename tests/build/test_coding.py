"""Code sets by date of service: each edit on its own, and the CMS file loaders.

The CMS files are synthetic but in the real layouts (ICD-10-CM order/codes files, the HCPCS
contractor record), written here position by position.
"""

from __future__ import annotations

import dataclasses
import itertools
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.build.codes import CodeSets
from pipeline.build.codesets import (
    ClinicalCodes,
    fiscal_year,
    laterality_of,
    load_clinical_codes,
    read_hcpcs_file,
    read_icd10cm_file,
)
from pipeline.build.coding import coding_rules
from pipeline.errors import ConfigError
from pipeline.practice import Charge, Coverage, Encounter, LoadResult, Practice
from tests.build.conftest import ROOT, TODAY

CODING_RULES = {
    "icd10_not_billable", "icd10_invalid_on_dos", "icd10_unverified", "procedure_invalid_on_dos",
    "procedure_unverified", "sex_edit", "age_edit", "professional_component",
    "laterality_mismatch", "laterality_unspecified", "ncci_pair",
}  # fmt: skip


class Collect:
    """What a scrubber rule reports, kept as (rule, severity, field, message)."""

    def __init__(self, coverages: dict[tuple[str, str], Coverage]) -> None:
        self.found: list[tuple[str, str, str, str]] = []
        self.coverages = coverages
        self.memo: dict[object, object] = {}

    def error(self, field: str, rule: str, message: str) -> None:
        self.found.append((rule, "error", field, message))

    def warning(self, field: str, rule: str, message: str) -> None:
        self.found.append((rule, "warning", field, message))


def _findings(practice: Practice, e: Encounter, codes: CodeSets) -> list[tuple[str, str, str, str]]:
    check = Collect({(c.patient_id, c.priority): c for c in reversed(practice.coverages)})
    coding_rules(practice, e, check, TODAY, codes)
    return check.found


def _rules(practice: Practice, e: Encounter, codes: CodeSets) -> set[tuple[str, str]]:
    return {(rule, severity) for rule, severity, _, _ in _findings(practice, e, codes)}


def _line(code: str, *modifiers: str, pointers: tuple[int, ...] = (1,), n: int = 1) -> Charge:
    return Charge(
        encounter_id="T1", line_number=n, procedure_code=code, modifiers=list(modifiers),
        units=Decimal(1), charge=Decimal(100), diagnosis_pointers=list(pointers),
    )  # fmt: skip


@pytest.fixture
def case(demo: LoadResult) -> tuple[Practice, Encounter]:
    """A clean office visit to edit: an adult male patient on 2026-11-10."""
    practice = demo.practice.model_copy(deep=True)
    e = next(x for x in practice.encounters if x.encounter_id == "E0002").model_copy(deep=True)
    e.place_of_service, e.service_date, e.diagnoses = "11", date(2026, 11, 10), ["M5450"]
    e.charges = [_line("99213")]
    patient = practice.patients[e.patient_id]
    patient.sex, patient.dob = "M", date(1980, 6, 15)
    return practice, e


def test_the_demo_encounters_are_clean_except_the_miscoded_ones(
    demo: LoadResult, codes: CodeSets
) -> None:
    found = {
        (e.encounter_id, rule)
        for e in demo.practice.encounters
        for rule, severity, _, _ in _findings(demo.practice, e, codes)
        if severity == "error"
    }
    assert found == {
        ("E0164", "ncci_pair"), ("E0173", "professional_component"),
        ("E0179", "icd10_not_billable"), ("E0180", "procedure_invalid_on_dos"),
        ("E0181", "professional_component"), ("E0182", "laterality_mismatch"),
        ("E0183", "sex_edit"), ("E0184", "age_edit"), ("E0185", "ncci_pair"),
    }  # fmt: skip


# --- validity by date of service -------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "day", "expected"),
    [
        ("R51", date(2020, 9, 30), set()),  # billable until FY2021
        ("R51", date(2020, 10, 1), {("icd10_not_billable", "error")}),
        ("R519", date(2020, 9, 30), {("icd10_invalid_on_dos", "error")}),  # not yet
        ("R519", date(2020, 10, 1), set()),
        ("M545", date(2021, 9, 30), set()),
        ("M545", date(2021, 10, 1), {("icd10_not_billable", "error")}),
        ("M5417", date(2026, 11, 10), {("icd10_unverified", "warning")}),  # not shipped
    ],
)
def test_diagnosis_validity_follows_the_date_of_service(
    case: tuple[Practice, Encounter], codes: CodeSets, code: str, day: date, expected: set
) -> None:
    practice, e = case
    e.diagnoses, e.service_date = [code], day
    assert _rules(practice, e, codes) == expected


def test_a_category_names_the_codes_to_use(case: tuple[Practice, Encounter], codes: CodeSets):
    practice, e = case
    e.diagnoses = ["M5450", "R51"]
    assert _findings(practice, e, codes) == [(
        "icd10_not_billable", "error", "diagnoses[2]",
        "R51 is a category since 2020-10-01, not a billable code: use R510 or R519",
    )]  # fmt: skip


@pytest.mark.parametrize(
    ("code", "day", "expected"),
    [
        ("99201", date(2020, 12, 31), set()),
        ("99201", date(2021, 1, 1), {("procedure_invalid_on_dos", "error")}),
        ("99241", date(2023, 1, 1), {("procedure_invalid_on_dos", "error")}),
        ("G0202", date(2018, 1, 1), {("procedure_invalid_on_dos", "error")}),
        ("99499", date(2026, 11, 10), {("procedure_unverified", "warning")}),
    ],
)
def test_procedure_validity_follows_the_date_of_service(
    case: tuple[Practice, Encounter], codes: CodeSets, code: str, day: date, expected: set
) -> None:
    practice, e = case
    e.service_date, e.diagnoses = day, ["M5416"]  # valid on all these dates
    e.charges = [_line(code)]
    if code == "G0202":  # a screening mammogram: female only
        practice.patients[e.patient_id].sex = "F"
    assert _rules(practice, e, codes) == expected


def test_unknown_codes_hold_when_the_policy_says_so(
    case: tuple[Practice, Encounter], codes: CodeSets, tmp_path: Path
) -> None:
    folder = tmp_path / "codes"
    shutil.copytree(ROOT / "mappings" / "codes", folder)
    policy = folder / "code_sets.yaml"
    policy.write_text(policy.read_text().replace("unknown_code: warning", "unknown_code: error"))
    strict = dataclasses.replace(codes, clinical=load_clinical_codes(folder))
    practice, e = case
    e.diagnoses = ["M5417"]
    assert _rules(practice, e, strict) == {("icd10_unverified", "error")}
    policy.write_text("unknown_code: hold\n")
    with pytest.raises(ConfigError, match="unknown_code must be warning or error"):
        load_clinical_codes(folder)


# --- sex and age -------------------------------------------------------------------------------


def test_sex_edits(case: tuple[Practice, Encounter], codes: CodeSets) -> None:
    practice, e = case
    patient = practice.patients[e.patient_id]
    e.diagnoses = ["M5450", "C61"]
    assert _rules(practice, e, codes) == set()  # male
    patient.sex = "F"
    ((rule, _, field, message),) = _findings(practice, e, codes)
    assert (rule, field) == ("sex_edit", "diagnoses[2]")
    assert message == "C61 is for male patients only; the patient's recorded sex differs"
    patient.sex = "U"  # unknown: nothing to compare
    assert _rules(practice, e, codes) == set()


@pytest.mark.parametrize(
    ("dob", "held"),
    [
        (date(1986, 11, 10), False),  # 40 on the day of service
        (date(1986, 11, 11), True),  # 40 tomorrow: still 39
        (date(1961, 11, 10), True),  # 65 on the day of service
        (date(1961, 11, 11), False),  # 65 tomorrow: still 64
    ],
)
def test_age_edits_count_whole_years_on_the_date_of_service(
    case: tuple[Practice, Encounter], codes: CodeSets, dob: date, held: bool
) -> None:
    practice, e = case
    practice.patients[e.patient_id].dob = dob
    e.charges = [_line("99386")]  # preventive visit, 40-64
    assert (("age_edit", "error") in _rules(practice, e, codes)) is held


# --- professional / technical component ------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "modifiers", "pos", "held"),
    [
        ("72148", (), "11", False),  # global in the office
        ("72148", ("26",), "11", False),
        ("72148", ("TC",), "11", False),
        ("72148", (), "22", True),  # at the hospital: the professional component only
        ("72148", ("TC",), "22", True),
        ("72148", ("26",), "22", False),
        ("93000", (), "23", True),  # a global-only test at the ER
        ("93010", (), "23", False),  # the interpretation is ours to bill
        ("93010", ("26",), "11", True),  # already professional only
        ("99213", ("26",), "11", True),  # no component at all
        ("96372", (), "22", True),  # incident-to, not payable at a facility
        ("96372", (), "11", False),
    ],
)
def test_professional_component_by_place_of_service(
    case: tuple[Practice, Encounter], codes: CodeSets, code: str, modifiers: tuple[str, ...],
    pos: str, held: bool,
) -> None:  # fmt: skip
    practice, e = case
    e.place_of_service = pos
    e.charges = [_line(code, *modifiers)]
    assert (("professional_component", "error") in _rules(practice, e, codes)) is held


# --- laterality --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("diagnoses", "modifiers", "expected"),
    [
        (["M1711"], ("RT",), set()),
        (["M1712"], ("RT",), {("laterality_mismatch", "error")}),
        (["M1711"], ("LT",), {("laterality_mismatch", "error")}),
        (["M1711"], ("RT", "LT"), {("laterality_mismatch", "error")}),
        (["M1710"], ("RT",), {("laterality_unspecified", "warning")}),
        (["M170"], ("RT",), set()),  # both knees, one injected
        (["M170"], ("50",), set()),
        (["M1711"], ("50",), {("laterality_mismatch", "error")}),  # bilateral, one side coded
        (["M5416"], ("RT",), set()),  # no side in the diagnosis
        (["M1711"], ("F5",), set()),  # right thumb: the right side
    ],
)
def test_laterality_of_modifier_against_the_pointed_diagnoses(
    case: tuple[Practice, Encounter], codes: CodeSets, diagnoses: list[str],
    modifiers: tuple[str, ...], expected: set,
) -> None:  # fmt: skip
    practice, e = case
    e.diagnoses = diagnoses
    e.charges = [_line("20610", *modifiers)]
    assert _rules(practice, e, codes) == expected


def test_laterality_only_counts_the_diagnoses_a_line_points_to(
    case: tuple[Practice, Encounter], codes: CodeSets
) -> None:
    practice, e = case
    e.diagnoses = ["M1711", "M25562"]  # right knee OA, left knee pain
    e.charges = [_line("20610", "RT", pointers=(1,)), _line("73721", "LT", pointers=(2,), n=2)]
    assert _rules(practice, e, codes) == set()
    e.charges[0].diagnosis_pointers = [1, 2]
    ((rule, _, field, message),) = _findings(practice, e, codes)
    assert (rule, field) == ("laterality_mismatch", "charges[1].modifiers")
    assert message == "modifier RT (right) but diagnosis 2 (M25562) is of the left side"


# --- NCCI-style pairs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "held_line"),
    [
        ([("20610", "RT"), ("99213",)], "charges[2].procedure_code"),
        ([("20610", "RT"), ("99213", "25")], None),  # separately identifiable E/M
        ([("20610", "RT"), ("99213", "59")], None),
        ([("93000",), ("93010", "59")], "charges[2].procedure_code"),  # indicator 0
        ([("20610",), ("96372",)], None),  # no pair between them
    ],
)
def test_ncci_pairs(
    case: tuple[Practice, Encounter], codes: CodeSets, lines: list[tuple[str, ...]],
    held_line: str | None,
) -> None:  # fmt: skip
    practice, e = case
    e.diagnoses = ["M1711"]
    e.charges = [_line(code, *mods, n=n) for n, (code, *mods) in enumerate(lines, start=1)]
    pairs = [f for f in _findings(practice, e, codes) if f[0] == "ncci_pair"]
    assert [f[2] for f in pairs] == ([held_line] if held_line else [])


def test_ncci_pairs_are_per_date_of_service(
    case: tuple[Practice, Encounter], codes: CodeSets
) -> None:
    practice, e = case
    e.diagnoses = ["M1711"]
    e.charges = [_line("20610", "RT"), _line("99213", n=2)]
    e.charges[1].service_date = date(2026, 11, 11)
    assert not [f for f in _findings(practice, e, codes) if f[0] == "ncci_pair"]


# --- CMS files in their real layouts -----------------------------------------------------------


def _order_line(n: int, code: str, billable: bool, long: str) -> str:
    """icd10cm_order_YYYY.txt: order 1-5, code 7-13, flag 15, short 17-76, long from 78."""
    return f"{n:05d} {code:<7} {'1' if billable else '0'} {long[:60]:<60} {long}"


def _hcpcs_record(code: str, rec: str, long: str, added: str, term: str = "") -> str:
    """HCPCS contractor record: code 1-5, seq 6-10, rec id 11, long 12-91, short 92-119,
    added 269-276, action effective 277-284, termination 285-292, action code 293."""
    head = f"{code:<5}00100{rec}{long:<80}{long[:28]:<28}"
    return f"{head:<268}{added:<8}{added:<8}{term:<8}N".ljust(320)


@pytest.fixture
def cms_codes(tmp_path: Path) -> Path:
    folder = tmp_path / "codes"
    shutil.copytree(ROOT / "mappings" / "codes", folder)
    cms = folder / "cms"
    cms.mkdir(exist_ok=True)
    order = [
        _order_line(1, "M25", False, "Other joint disorder, not elsewhere classified"),
        _order_line(2, "M2556", False, "Pain in knee"),
        _order_line(3, "M25561", True, "Pain in right knee"),
        _order_line(4, "M25562", True, "Pain in left knee"),
        _order_line(5, "M25571", True, "Pain in right ankle and joints of right foot"),
        _order_line(6, "M5450", True, "Low back pain, unspecified"),
        _order_line(7, "R519", True, "Headache, unspecified"),
    ]
    (cms / "icd10cm_order_2026.txt").write_text("\n".join(order) + "\n", encoding="latin-1")
    (cms / "icd10cm_codes_2026.txt").write_text("M25561  Pain in right knee\n")  # order wins
    (cms / "icd10cm_codes_2025.txt").write_text(
        "M25561  Pain in right knee\nM5450   Low back pain, unspecified\n", encoding="latin-1"
    )
    hcpcs = [
        _hcpcs_record("J1100", "3", "Injection, dexamethasone sodium phosphate, 1 mg", "19950101"),
        _hcpcs_record("J1100", "4", "(continued description line)", ""),
        _hcpcs_record(
            "   RT",
            "7",
            "Right side (used to identify procedures performed on the right side of the body)",
            "19920101",
        ),
        _hcpcs_record("G0202", "3", "Screening mammography, digital", "20020401", "20171231"),
    ]
    (cms / "HCPC2026_JAN_ANWEB_v2.txt").write_text("\n".join(hcpcs) + "\n", encoding="latin-1")
    return folder


def test_icd10cm_order_file_layout(cms_codes: Path) -> None:
    windows = {w.code: w for w in read_icd10cm_file(cms_codes / "cms/icd10cm_order_2026.txt",
                                                    2026)}  # fmt: skip
    assert set(windows) == {"M25", "M2556", "M25561", "M25562", "M25571", "M5450", "R519"}
    right = windows["M25571"]
    assert (right.billable, right.laterality) == (True, "R")
    assert (right.effective_from, right.effective_to) == (date(2025, 10, 1), date(2026, 9, 30))
    assert windows["M2556"].billable is False


def test_complete_cms_file_decides_for_its_fiscal_year(
    case: tuple[Practice, Encounter], codes: CodeSets, cms_codes: Path
) -> None:
    clinical = load_clinical_codes(cms_codes)
    assert sorted(clinical.sources) == [  # the 2026 codes file adds nothing to the order file
        "HCPC2026_JAN_ANWEB_v2.txt", "icd10cm_codes_2025.txt", "icd10cm_order_2026.txt",
    ]  # fmt: skip
    with_cms = dataclasses.replace(codes, clinical=clinical)
    practice, e = case  # 2026-11-10 is FY2027: no file covers it
    e.service_date = date(2026, 5, 4)  # FY2026: the order file is complete
    assert fiscal_year(e.service_date) == 2026
    e.diagnoses = ["M5450"]
    assert _rules(practice, e, with_cms) == set()
    e.diagnoses = ["M2556"]  # a header in the file
    assert _rules(practice, e, with_cms) == {("icd10_not_billable", "error")}
    e.diagnoses = ["M6281"]  # in the shipped table, but not in the complete file
    ((rule, severity, _, message),) = _findings(practice, e, with_cms)
    assert (rule, severity) == ("icd10_invalid_on_dos", "error")
    assert message == "M6281 is not in the CMS ICD-10-CM file for 2026-05-04"
    # Laterality from the CMS description of a code the shipped table does not know.
    e.diagnoses = ["M25571"]
    e.charges = [_line("20610", "LT")]
    assert ("laterality_mismatch", "error") in _rules(practice, e, with_cms)
    # FY2027 is not covered: the partial rules apply again.
    e.service_date, e.diagnoses, e.charges = date(2026, 10, 5), ["M25571"], [_line("99213")]
    assert _rules(practice, e, with_cms) == {("icd10_unverified", "warning")}
    # FY2025 comes from the codes file: listed codes are billable, others invalid.
    e.service_date, e.diagnoses = date(2025, 3, 3), ["M5450"]
    assert _rules(practice, e, with_cms) == set()
    e.diagnoses = ["R519"]
    assert _rules(practice, e, with_cms) == {("icd10_invalid_on_dos", "error")}


def test_hcpcs_contractor_file_layout_and_dates(
    case: tuple[Practice, Encounter], codes: CodeSets, cms_codes: Path
) -> None:
    records = list(read_hcpcs_file(cms_codes / "cms/HCPC2026_JAN_ANWEB_v2.txt"))
    assert [(w.code, w.effective_from, w.effective_to) for w in records] == [
        ("J1100", date(1995, 1, 1), date(9999, 12, 31)),
        ("G0202", date(2002, 4, 1), date(2017, 12, 31)),
    ]  # continuation and modifier records are skipped
    with_cms = dataclasses.replace(codes, clinical=load_clinical_codes(cms_codes))
    practice, e = case
    e.service_date = date(2026, 2, 2)
    e.charges = [_line("J1100")]
    assert _rules(practice, e, with_cms) == set()
    e.charges = [_line("J3490")]  # a Level II code the complete 2026 file does not list
    assert _rules(practice, e, with_cms) == {("procedure_invalid_on_dos", "error")}
    e.charges = [_line("99213")]  # CPT: never in the HCPCS file, the shipped table decides
    assert _rules(practice, e, with_cms) == set()
    e.service_date, e.charges = date(2025, 2, 2), [_line("J3490")]  # 2025: no file
    assert _rules(practice, e, with_cms) == {("procedure_unverified", "warning")}


def test_a_broken_cms_file_names_its_line(cms_codes: Path) -> None:
    path = cms_codes / "cms" / "icd10cm_order_2026.txt"
    lines = path.read_text(encoding="latin-1").splitlines()
    lines[3] = lines[3][:14] + "X" + lines[3][15:]
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")
    with pytest.raises(ConfigError, match=r"icd10cm_order_2026\.txt: line 4: not the ICD-10-CM"):
        load_clinical_codes(cms_codes)


@pytest.mark.parametrize(
    ("description", "side"),
    [
        ("Pain in right knee", "R"),
        ("Unilateral primary osteoarthritis, left knee", "L"),
        ("Bilateral primary osteoarthritis of knee", "B"),
        ("Pain in unspecified knee", "U"),
        ("Contusion of right and left ear", "B"),
        ("Radiculopathy, lumbar region", ""),
        ("Upright posture disorder", ""),  # "right" only as a whole word
    ],
)
def test_laterality_read_from_descriptions(description: str, side: str) -> None:
    assert laterality_of(description) == side


def test_shipped_tables_are_well_formed() -> None:
    clinical = load_clinical_codes(ROOT / "mappings" / "codes")
    assert isinstance(clinical, ClinicalCodes) and clinical.sources == []
    for table in (clinical.icd10, clinical.procedures):
        for code, windows in table.windows.items():
            spans = sorted((w.effective_from, w.effective_to) for w in windows)
            for (_, end), (start, _) in itertools.pairwise(spans):
                assert end < start, f"{code}: windows overlap"
    assert {"RT", "LT", "50"} <= set(clinical.laterality_modifiers)
    assert "25" in clinical.ncci_modifiers and "23" in clinical.facility_places_of_service
