"""Appeal letters: one HTML and one Markdown per worklist item, with the facts in them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.export import render_letters
from pipeline.reconcile import ReconcileResult


@pytest.fixture(scope="module")
def letters(result: ReconcileResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("letters")
    render_letters(result, out)
    return out


def test_a_letter_per_appealable_flag(result: ReconcileResult, letters: Path) -> None:
    flags = result.tables["flags"]
    appealable = flags[flags.flag.isin(["underpaid", "nsa_violation", "denied_appealable"])]
    worklist = result.tables["appeal_worklist"]
    for appeal_id in appealable.appeal_id:
        assert (letters / f"{appeal_id}.html").is_file(), appeal_id
        assert (letters / f"{appeal_id}.md").is_file(), appeal_id
    for rel in worklist.letter_html:
        assert (letters / Path(rel).name).is_file()
    assert len(list(letters.glob("*.html"))) == len(worklist)


def test_underpayment_letter_states_basis_and_amounts(letters: Path) -> None:
    text = (letters / "B2-underpayment.md").read_text()
    assert "usual, customary and reasonable" in text
    assert "$80.08" in text and "$220.08" in text and "ICNCHK300-" in text
    assert "The patient assigned benefits" in text
    contract = (letters / "A6-underpayment.html").read_text()
    assert "participation agreement" in contract and "multiple-procedure" in contract


def test_medical_necessity_letter_quotes_the_notes_and_carc_words(letters: Path) -> None:
    html = (letters / "B7-medical_necessity.html").read_text()
    assert "Clinical note for B7" in html
    assert "not deemed a medical necessity" in html and "N130" in html
    assert "@page" in html  # print-ready
    assert "M1711" in html
    # A claim-level denial still lists each service with its own numbers.
    assert "B7-1" in html and "73721" in html and "$516.00" in html


def test_prior_auth_and_nsa_letters(letters: Path) -> None:
    assert "Retro-authorization" in (letters / "B8-prior_auth.md").read_text()
    nsa = (letters / "B4-nsa_open_negotiation.md").read_text()
    assert "open negotiation" in nsa and "January 5, 2026" in nsa
    assert "January 6, 2026 – January 9, 2026" in nsa
    assert "$166.25" in nsa


def test_html_letters_escape_practice_data(result: ReconcileResult, tmp_path: Path) -> None:
    context = dict(result.letters[0])
    context["claim"] = dict(
        context["claim"], clinical_notes="<script>alert(1)</script>", patient_name="A & B"
    )

    from types import SimpleNamespace

    render_letters(SimpleNamespace(letters=[context]), tmp_path)
    html = next(tmp_path.glob("*.html")).read_text()
    assert "<script>" not in html and "A &amp; B" in html
