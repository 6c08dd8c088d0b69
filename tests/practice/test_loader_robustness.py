"""Exports as they arrive from real PM systems: other encodings, oversized cells, duplicate
accounts, a header-only file. Bad rows are reported (file, row, column, reason) and the
rest loads; only an export with no patients at all stops the run."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.errors import PracticeDataError
from pipeline.practice import Issue, load_practice
from pipeline.practice.loader import MAX_CELL_CHARS, NOT_UTF8

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "sample_edi" / "practice"


@pytest.fixture(scope="module")
def demo():  # type: ignore[no-untyped-def]
    return load_practice(DEMO)


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "practice"
    shutil.copytree(DEMO, folder)
    return folder


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _write(path: Path, rows: list[dict[str, str]], encoding: str = "utf-8") -> None:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_latin1_file_reports_the_rows_it_cannot_read_and_loads_the_rest(
    tmp_path: Path, demo
) -> None:  # type: ignore[no-untyped-def]
    folder = _copy(tmp_path)
    rows = _rows(folder / "patients.csv")
    rows[4]["First Name"] = "José"  # é is one byte (0xE9) in Latin-1: not UTF-8
    rows[9]["City"] = "Évanston"
    _write(folder / "patients.csv", rows, encoding="latin-1")
    result = load_practice(folder)
    bad = [i for i in result.issues if i.file == "patients.csv"]
    assert bad == [
        Issue("patients.csv", 6, "First Name", NOT_UTF8),
        Issue("patients.csv", 11, "City", NOT_UTF8),
    ]
    loaded = result.practice.patients
    assert set(loaded) == set(demo.practice.patients) - {rows[4]["Acct #"], rows[9]["Acct #"]}
    assert all(loaded[k] == demo.practice.patients[k] for k in loaded)
    # What hung on those patients is reported, not silently dropped.
    assert Issue("coverages.csv", 6, "patient_id", f"unknown patient {rows[4]['Acct #']!r}") in (
        result.issues
    )


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_files_load_as_utf8_would(tmp_path: Path, demo, encoding: str) -> None:  # type: ignore[no-untyped-def]
    """Excel's "Unicode text" export: UTF-16 with a byte-order mark (``utf-16``) or without."""
    folder = _copy(tmp_path)
    for name in ("patients.csv", "encounters.csv"):
        _write(folder / name, _rows(folder / name), encoding=encoding)
    result = load_practice(folder)
    assert result.issues == []
    assert result.practice.patients == demo.practice.patients
    assert result.practice.encounters == demo.practice.encounters


def test_an_oversized_cell_reports_its_row_and_the_rest_loads(tmp_path: Path, demo) -> None:  # type: ignore[no-untyped-def]
    limit = csv.field_size_limit()
    folder = _copy(tmp_path)
    rows = _rows(folder / "encounters.csv")
    rows[2]["Notes"] = "x" * 200_000  # over the csv module's own 128 KiB limit too
    rows[5]["Diagnoses"] = "M5450|" * 1000
    _write(folder / "encounters.csv", rows)
    result = load_practice(folder)
    bad = [i for i in result.issues if i.file == "encounters.csv"]
    limit_text = f"at most {MAX_CELL_CHARS}"
    assert bad == [
        Issue("encounters.csv", 4, "Notes", f"value of 200000 characters; {limit_text}"),
        Issue("encounters.csv", 7, "Diagnoses", f"value of 6000 characters; {limit_text}"),
    ]
    loaded = {e.encounter_id for e in result.practice.encounters}
    assert loaded == {e.encounter_id for e in demo.practice.encounters} - {
        rows[2]["Visit #"], rows[5]["Visit #"],
    }  # fmt: skip
    assert csv.field_size_limit() == limit  # the process-wide setting is put back


def test_duplicate_account_with_other_demographics_is_a_conflict(tmp_path: Path, demo) -> None:  # type: ignore[no-untyped-def]
    folder = _copy(tmp_path)
    rows = _rows(folder / "patients.csv")
    same = dict(rows[1])  # an exact repeat of a row: harmless
    other = dict(
        rows[2], **{"Last Name": "Someone", "First Name": "Else", "Birth Date": "01/02/1970"}
    )
    _write(folder / "patients.csv", [*rows, same, other])
    result = load_practice(folder)
    account = rows[2]["Acct #"]
    n = len(rows)
    assert result.practice.patient_conflicts == {account: [4, n + 3]}
    assert [i for i in result.issues if i.file == "patients.csv"] == [
        Issue("patients.csv", n + 3, "patient_id",
              "account number also on row 4 with other demographics; "
              "its claims are held until the export is fixed"),
    ]  # fmt: skip
    assert "Someone" not in str(result.issues)
    # The first row's patient stays (the claims are held by the scrubber, not lost).
    assert result.practice.patients[account] == demo.practice.patients[account]
    assert rows[1]["Acct #"] not in result.practice.patient_conflicts


def test_header_only_patients_file_stops_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _copy(tmp_path)
    header = (folder / "patients.csv").read_text(encoding="utf-8").splitlines()[0]
    (folder / "patients.csv").write_text(header + "\n", encoding="utf-8")
    with pytest.raises(PracticeDataError, match=r"patients\.csv: no patient rows"):
        load_practice(folder)
    monkeypatch.setenv("CLAIMFLOW_HOME", str(tmp_path / "home"))
    with pytest.raises(SystemExit) as exit_:
        main(["build", "837p", "--practice", str(folder), "--out", str(tmp_path / "x.837p")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err == (
        f"claimflow: error: {folder / 'patients.csv'}: no patient rows "
        "(the file has only its header)\n"
    )


def test_patients_file_with_no_usable_row_names_the_first_problem(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    rows = _rows(folder / "patients.csv")
    _write(folder / "patients.csv", [dict(r, **{"Birth Date": "yesterday"}) for r in rows])
    with pytest.raises(PracticeDataError) as raised:
        load_practice(folder)
    assert str(raised.value) == (
        f"{folder / 'patients.csv'}: none of its patient rows could be used (first: "
        "patients.csv: row 2, column 'Birth Date': not a date in format %m/%d/%Y)"
    )


def test_nul_and_control_characters_load_for_the_scrubber_to_hold(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    rows = _rows(folder / "patients.csv")
    rows[0]["Street"] = "12 Elm\x00 St"
    _write(folder / "patients.csv", rows)
    result = load_practice(folder)
    assert result.issues == []
    assert result.practice.patients[rows[0]["Acct #"]].address.line1 == "12 ELM\x00 ST"


def test_eob_lines_without_an_eob_or_twice_are_reported(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    rows = _rows(folder / "primary_eob_lines.csv")
    _write(
        folder / "primary_eob_lines.csv", [*rows, rows[0], dict(rows[0], **{"Visit #": "E0002"})]
    )
    result = load_practice(folder)
    n = len(rows)
    assert result.issues == [
        Issue("primary_eob_lines.csv", n + 2, "line_number", "line adjudicated twice"),
        Issue("primary_eob_lines.csv", n + 3, "encounter_id",
              "no loaded primary EOB for the encounter"),
    ]  # fmt: skip
    e0147 = next(e for e in result.practice.encounters if e.encounter_id == "E0147")
    assert e0147.primary_adjudication is not None and len(e0147.primary_adjudication.lines) == 3
