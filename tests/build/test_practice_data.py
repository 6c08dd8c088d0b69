"""Practice data the scrubber must stop: an ambiguous patient account, control characters."""

from __future__ import annotations

import csv
import gc
import io
import platform
import shutil
from datetime import date
from pathlib import Path

import pytest

from pipeline.build.codes import CodeSets
from pipeline.build.commands import build_837p_command
from pipeline.build.t270 import build_270
from pipeline.build.t837p import build_837p
from pipeline.practice import LoadResult, load_practice
from pipeline.settings import get_settings
from tests.build.conftest import DEMO, NOW, ROOT, TODAY, CountingControlNumbers


def _practice_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "practice"
    shutil.copytree(DEMO, folder)
    return folder


def _rewrite(path: Path, edit) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows = edit(rows)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


def test_duplicate_account_holds_that_patients_claims_only(
    tmp_path: Path, codes: CodeSets, demo: LoadResult
) -> None:
    """Today the last row won and claims went out under the other person's name."""
    folder = _practice_copy(tmp_path)
    account = demo.practice.encounters[1].patient_id  # E0002's patient, clean claims
    imposter = {"Last Name": "Imposter", "First Name": "Ida", "Birth Date": "03/04/1961"}

    def add_twin(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        original = next(r for r in rows if r["Acct #"] == account)
        return [*rows, dict(original, **imposter)]

    _rewrite(folder / "patients.csv", add_twin)
    practice = load_practice(folder, mappings_dir=ROOT / "mappings").practice
    out = io.StringIO()
    result = build_837p(
        practice, out, control_numbers=CountingControlNumbers(), today=TODAY, codes=codes, now=NOW
    )
    theirs = {e.encounter_id for e in practice.encounters if e.patient_id == account}
    conflicts = {f.encounter_id for f in result.report.errors() if f.rule == "patient_conflict"}
    assert theirs and conflicts == theirs
    assert result.held == demo_holds(demo, codes) | theirs
    assert "IMPOSTER" not in out.getvalue()
    first = practice.patients[account]
    assert f"*{first.last_name.upper()}*{first.first_name.upper()}*" not in out.getvalue()
    # No 270 either: the payer would be asked about the wrong person.
    appointments = [a for a in practice.appointments if a.patient_id == account]
    if appointments:
        inquiries = build_270(practice, io.StringIO(), on=appointments[0].date,
                              control_numbers=CountingControlNumbers(), now=NOW)  # fmt: skip
        assert account not in {i.patient_id for i in inquiries.inquiries}
        assert {f.rule for f in inquiries.findings} == {"patient_conflict"}


def demo_holds(demo: LoadResult, codes: CodeSets) -> set[str]:
    result = build_837p(
        demo.practice, io.StringIO(), control_numbers=CountingControlNumbers(), today=TODAY,
        codes=codes, now=NOW,
    )  # fmt: skip
    return result.held


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CLAIMFLOW_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("file", "column", "value", "field", "code_point"),
    [
        ("patients.csv", "Street", "12 Elm\x00 St", "patient.address.line1", "U+0000"),
        ("encounters.csv", "Prior Auth #", "PA\t1234", "prior_auth", "U+0009"),
        ("charges.csv", "CPT", "9921\x0b3", "charges[1].procedure_code", "U+000B"),
        ("coverages.csv", "Member ID", "CTS\x1b123", "coverage[P].member_id", "U+001B"),
    ],
)
def test_control_characters_are_held_and_never_written(
    tmp_path: Path, home: None, file: str, column: str, value: str, field: str, code_point: str
) -> None:
    folder = _practice_copy(tmp_path)
    target = {"patients.csv": "A0002", "coverages.csv": "A0002"}.get(file)

    def poison(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        for row in rows:
            key = row.get("Acct #") if target else row.get("Visit #")
            if key == (target or "E0002"):
                row[column] = value
                break
        return rows

    _rewrite(folder / file, poison)
    out, err = io.StringIO(), io.StringIO()
    claims = tmp_path / "claims.837p"
    code = build_837p_command(folder, out=claims, on=TODAY, stdout=out, stderr=err)
    assert code == 1
    report = out.getvalue()
    expected = f"  error   [control_character] {field}: holds the control character {code_point}"
    assert expected in report, report
    assert value not in report and value not in err.getvalue()
    text = claims.read_bytes()
    assert not any(b < 0x20 and b != 0x0A for b in text)  # only the line feeds we write
    held = report.split(expected)[0].rsplit("HELD ", 1)[1].split()[0]
    assert held in {e.encounter_id for e in load_practice(folder).practice.encounters
                    if e.patient_id == "A0002" or e.encounter_id == "E0002"}  # fmt: skip


def test_a_control_character_holds_the_270_too(demo: LoadResult) -> None:
    practice = demo.practice.model_copy(deep=True)
    appointment = next(a for a in practice.appointments if a.date == date(2026, 11, 28))
    practice.patients[appointment.patient_id].first_name = "ANN\x00"
    out = io.StringIO()
    result = build_270(practice, out, on=appointment.date,
                       control_numbers=CountingControlNumbers(), now=NOW)  # fmt: skip
    assert {(f.encounter_id, f.rule, f.field) for f in result.findings} == {
        (appointment.appointment_id, "control_character", "patient.first_name")
    }
    assert "\x00" not in out.getvalue() and result.inquiries


def test_a_control_character_in_the_billing_provider_writes_no_270(demo: LoadResult) -> None:
    practice = demo.practice.model_copy(deep=True)
    practice.billing_provider.name = "LAKESIDE\tSPINE"
    out = io.StringIO()
    result = build_270(practice, out, on=date(2026, 11, 28),
                       control_numbers=CountingControlNumbers(), now=NOW)  # fmt: skip
    assert out.getvalue() == "" and result.inquiries == []
    assert {(f.rule, f.field) for f in result.findings} == {
        ("control_character", "billing_provider.name")
    }
    assert len(result.findings) == 22  # one per inquiry it would have sent that day


@pytest.mark.skipif(
    platform.python_implementation() != "CPython", reason="key-sharing dicts are a CPython detail"
)
def test_the_scrubber_leaves_loaded_models_compact(codes: CodeSets) -> None:
    """Reading a compact model's ``__dict__`` gives it a dict it keeps: the control-character
    scan did that to every model of every claim (~17 MiB held all night at 100k claims)."""
    from pipeline.build.scrub import scrub
    from tests.practice.test_compact import _models

    practice = load_practice(DEMO, mappings_dir=ROOT / "mappings").practice
    models = _models(practice)

    def with_own_dict() -> set[int]:
        return {id(m) for m in models if any(type(r) is dict for r in gc.get_referents(m))}

    before = with_own_dict()
    report = scrub(practice, today=TODAY, codes=codes)
    assert report.findings  # the demo's held claims: the rules ran
    assert with_own_dict() == before
    practice.encounters[0].__dict__  # noqa: B018 (what the scan must not do)
    assert with_own_dict() == before | {id(practice.encounters[0])}
