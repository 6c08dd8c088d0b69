"""The practice loader: demo export, column maps, and bad values reported without losing rows."""

from __future__ import annotations

import csv
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.errors import PracticeDataError
from pipeline.practice import Issue, load_practice

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "sample_edi" / "practice"


@pytest.fixture(scope="module")
def demo():  # type: ignore[no-untyped-def]
    return load_practice(DEMO)


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "practice"
    shutil.copytree(DEMO, folder)
    return folder


def _edit(path: Path, row_index: int, column: str, value: str) -> int:
    """Set one cell; returns the CSV line number of that row (header = 1)."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows[row_index][column] = value
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return row_index + 2


def test_demo_practice_loads_clean(demo) -> None:  # type: ignore[no-untyped-def]
    practice = demo.practice
    assert demo.issues == []
    assert len(practice.patients) >= 50
    assert len(practice.encounters) >= 150
    assert set(practice.payers) == {"CTS02", "FAB03", "NWH01", "TSP05", "WGH04"}
    assert {c.payer_id for c in practice.coverages} == set(practice.payers)
    assert all(e.charges for e in practice.encounters)


def test_demo_covers_what_the_issue_lists(demo) -> None:  # type: ignore[no-untyped-def]
    p = demo.practice
    encounters = p.encounters
    mods = {m for e in encounters for c in e.charges for m in c.modifiers}
    assert {"25", "59", "RT", "LT", "95"} <= mods
    assert {"02", "10", "22", "23", "24"} <= {e.place_of_service for e in encounters}
    assert {"1", "7", "8"} == {e.frequency for e in encounters}
    assert all(e.original_claim_number for e in encounters if e.frequency == "8")
    assert any(c.ndc for e in encounters for c in e.charges if c.procedure_code == "J1100")
    assert any(e.coverage_priority == "S" and e.primary_adjudication for e in encounters)
    assert {"signed", "refused", "missing"} == {pt.aob for pt in p.patients.values()}
    assert {"18", "01", "19"} <= {c.relationship for c in p.coverages}
    assert any(c.patient_member_id for c in p.coverages if c.relationship != "18")
    assert any(not c.patient_member_id for c in p.coverages if c.relationship != "18")
    assert any(e.prior_auth for e in encounters) and any(e.referral_number for e in encounters)
    assert any(len(e.diagnoses) >= 3 for e in encounters)
    emergencies = [e for e in encounters if e.place_of_service == "23"]
    assert all(e.emergency for e in emergencies)
    assert {p.payers[_payer(p, e)].network_status for e in emergencies} == {"out_of_network"}
    protected = [e for e in encounters if e.place_of_service in {"22", "24"}]
    assert any(p.payers[_payer(p, e)].network_status == "out_of_network" for e in protected)
    today = date(2026, 11, 27)
    assert sum(1 for e in encounters if 0 < (today - e.service_date).days <= 30) >= 150
    assert {a.date for a in p.appointments} >= {date(2026, 11, 28)}


def _payer(practice, encounter) -> str:  # type: ignore[no-untyped-def]
    coverage = practice.coverage_for(encounter.patient_id, encounter.coverage_priority)
    return str(coverage.payer_id)


def test_demo_charges_come_from_the_charge_master(demo) -> None:  # type: ignore[no-untyped-def]
    with (ROOT / "mappings/fee_schedules/procedures.csv").open() as fh:
        master = {r["procedure_code"]: Decimal(r["practice_charge"]) for r in csv.DictReader(fh)}
    odd = [
        (e.encounter_id, c.procedure_code)
        for e in demo.practice.encounters
        for c in e.charges
        if c.procedure_code not in master or c.charge != master[c.procedure_code] * c.units
    ]
    # the deliberately mistyped CPT, a deleted one and one the practice never charges for
    assert odd == [("E0163", "9921"), ("E0180", "99201"), ("E0184", "99386")]


def test_column_map_reads_pm_formats(demo) -> None:  # type: ignore[no-untyped-def]
    bp = demo.practice.billing_provider
    assert bp.ein.isdigit() and len(bp.ein) == 9  # "46-3871520" in the export
    assert len(bp.address.zip) == 9
    assert bp.name == bp.name.upper()
    first = demo.practice.encounters[0]
    assert isinstance(first.service_date, date)
    assert all(isinstance(ptr, int) for c in first.charges for ptr in c.diagnosis_pointers)


def test_bad_values_are_reported_and_good_rows_still_load(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    row_dob = _edit(folder / "patients.csv", 4, "Birth Date", "1985-13-45")
    row_sex = _edit(folder / "patients.csv", 6, "Gender", "Mle")
    row_units = _edit(folder / "charges.csv", 0, "Units", "two")
    result = load_practice(folder)
    issues = {(i.file, i.row, i.column) for i in result.issues}
    assert ("patients.csv", row_dob, "Birth Date") in issues
    assert ("patients.csv", row_sex, "Gender") in issues
    assert ("charges.csv", row_units, "Units") in issues
    reasons = {i.column: i.reason for i in result.issues}
    assert "format %m/%d/%Y" in reasons["Birth Date"]
    assert reasons["Gender"].startswith("unknown value (expected one of MALE, FEMALE")
    assert "1985-13-45" not in str(result.issues)  # no values (PHI) in the report
    assert len(result.practice.patients) == 59 - 2
    # Dependents of the dropped patients are reported too, not silently lost.
    assert all(isinstance(i, Issue) and str(i).startswith(i.file) for i in result.issues)
    assert any(i.file == "encounters.csv" and i.column == "patient_id" for i in result.issues)


def test_missing_column_makes_the_export_unusable(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    text = (folder / "patients.csv").read_text().replace("Birth Date", "DOB", 1)
    (folder / "patients.csv").write_text(text)
    with pytest.raises(PracticeDataError, match=r"patients\.csv: missing column"):
        load_practice(folder)


def test_missing_optional_file_is_empty(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    (folder / "primary_eob.csv").unlink()
    result = load_practice(folder)
    assert all(e.primary_adjudication is None for e in result.practice.encounters)


def test_unknown_payer_on_coverage(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    row = _edit(folder / "coverages.csv", 0, "Payer ID", "ZZZ99")
    result = load_practice(folder)
    assert Issue("coverages.csv", row, "payer_id", "unknown payer 'ZZZ99'") in result.issues
