"""Appeal letters a payer accepts: two letters of every kind read back (HTML text and
Markdown) and checked for every required field, for no internal wording and no placeholder,
each remittance code explained once, diagnoses with their decimal point and description."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from lxml import html as lxml_html

from pipeline.export import render_letters
from pipeline.reconcile import ReconcileResult
from tests.export import letter_cases as lc

KINDS = (
    "underpayment",
    "coding_bundling",
    "medical_necessity",
    "prior_auth",
    "timely_filing",
    "reconsideration",
    "nsa",
    "nsa_open_negotiation",
)
# Internal wording and placeholders no payer should read.
FORBIDDEN = (
    "CLM08",
    "ucr ",
    " x 1 ",
    "None",
    "nan",
    "see the enclosed",
    "on file)",
    "{{",
    "REF*",
    "qpa ",
)


@pytest.fixture(scope="module")
def cases() -> ReconcileResult:
    return lc.run()


@pytest.fixture(scope="module")
def letters(cases: ReconcileResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("letters")
    render_letters(cases, out)
    return out


def _read(letters: Path, appeal_id: str) -> tuple[str, str]:
    """The printed words of the HTML letter, and the Markdown copy."""
    page = lxml_html.parse(str(letters / f"{appeal_id}.html")).getroot()
    text = " ".join(" ".join(page.find("body").itertext()).split())
    return text, (letters / f"{appeal_id}.md").read_text()


def _context(cases: ReconcileResult, appeal_id: str) -> dict:  # type: ignore[type-arg]
    return next(c for c in cases.letters if c["item"]["appeal_id"] == appeal_id)


def test_two_letters_of_every_kind(cases: ReconcileResult) -> None:
    families = list(cases.tables["appeal_worklist"].family)
    assert {k: families.count(k) for k in KINDS} == dict.fromkeys(KINDS, 2)


@pytest.mark.parametrize("pcn", sorted(set(lc.CASES) | set(lc.NOTICES)))
def test_every_required_field_and_nothing_internal(
    cases: ReconcileResult, letters: Path, pcn: str
) -> None:
    kind = lc.CASES[pcn][0] if pcn not in lc.NOTICES or pcn == "O2" else "nsa_open_negotiation"
    appeal_id = f"{pcn}-{kind}"
    text, markdown = _read(letters, appeal_id)
    ctx = _context(cases, appeal_id)
    item, claim = ctx["item"], ctx["claim"]
    book = (
        lc.IN_NETWORK_ADDRESS if claim["patient_control_number"] in ("U1", "C1") else lc.ADDRESSES
    )
    address = book.get(kind) or book["default"]
    for words in (text, markdown):
        for field in (
            "Lakeside Spine PLLC",
            "NPI 1749263855",
            "TIN 46-3871520",
            "CONTOSO COMMERCIAL" if pcn not in ("U1", "C1") else "NORTHWIND HEALTH PLAN",
            address["attention"],
            address["line1"],
            f"Pat {pcn}",
            f"MEM{pcn}",
            f"ICN{ctx['remit']['trace_number']}",
            "November 3, 2025",  # date of service
            f"${item['amount_at_stake']:,.2f}",
        ):
            assert field in words, (appeal_id, field)
        for line in ctx["lines"]:
            assert line["procedure_code"] in words and f"${line['charge_amount']:,.2f}" in words
        for bad in FORBIDDEN:
            assert bad not in words, (appeal_id, bad)
        # Each code on the remittance explained once, in words (appeals; the standard NSA
        # notice has no such part).
        for rc in ctx["reason_codes"] if kind != "nsa_open_negotiation" else ():
            assert words.count(f"{rc['code']}: {rc['words']}") == 1, (appeal_id, rc)
    if kind == "nsa_open_negotiation":
        _check_notice(text, ctx)
        return
    assert "December 15, 2025" in text  # the letter's date
    assert "M17.11 Unilateral primary osteoarthritis, right knee" in text
    assert "M25.561 Pain in right knee" in text
    assert "M1711" not in text
    assert ctx["item"]["deadline"].strftime("%B") in text
    _check_conditional_sentences(pcn, text)


def _check_conditional_sentences(pcn: str, text: str) -> None:
    _kind, notes, attachments, pwk, rep, aob = lc.CASES[pcn]
    assert ("From the treating provider's notes" in text) == bool(notes), pcn
    if notes:
        assert notes in text
    for document in filter(None, attachments.split("|")):
        assert f"; {document}" in text, (pcn, document)
    assert ("attachment control number" in text) == bool(pwk and attachments), pcn
    if pwk:
        assert f"attachment control number {pwk} (PWK)" in text
    assert ("authorized representative" in text) == bool(rep), pcn
    assert ("assigned the benefits" in text) == aob, pcn


def _check_notice(text: str, ctx: dict) -> None:  # type: ignore[type-arg]
    """The federal standard notice's fields, with the case's hand-counted dates: payment
    received Thu 2025-11-20, notice dated 2025-12-15 (as of) → negotiation ends Wed
    2026-01-28 (Christmas, New Year's Day and MLK Day 2026-01-19 skipped), IDR 01-29–02-03."""
    for field in (
        "Open Negotiation Notice",
        "Send to",
        "nsa@contoso.example",
        "From",
        "Date this notice is sent December 15, 2025",
        "Date furnished",
        "Service code",
        "Type of item or service",
        "Claim number",
        "Initial payment",
        "Payment or denial received",
        "November 20, 2025",
        "Plan's QPA",
        "Offer for total out-of-network rate",
        "Dana Whitfield",
        "(312) 555-0142",
        "ends on January 28, 2026",
        "January 29, 2026 through February 3, 2026",
        "last day January 5, 2026",
        "Lakeview Memorial Hospital, IL",
    ):
        assert field in text, field
    line = ctx["lines"][0]
    assert f"${line['expected_amount']:,.2f}" in text  # the offer
    assert f"${line['recognized_amount']:,.2f}" in text  # the QPA beside it


def test_offers_are_ours_and_the_qpa_is_shown_beside(cases: ReconcileResult) -> None:
    notice = _context(cases, "O2-nsa_open_negotiation")
    line = notice["lines"][0]
    # UCR 1248.00 for 29881 is our offer; the plan allowed 600.00 against a QPA of 650.00.
    assert (line["expected_amount"], line["recognized_amount"]) == (lc.D("1248.00"), lc.D("650"))
    assert notice["item"]["amount_at_stake"] == lc.D("648.00")


def test_letters_fit_letter_paper(letters: Path) -> None:
    """Nothing wider than the printable width of US Letter (8.5 in less margins)."""
    for path in letters.glob("*.html"):
        css = path.read_text()
        assert "size: Letter" in css
        widths = [float(w) for w in re.findall(r"max-width: ([\d.]+)in", css)]
        assert widths and max(widths) <= 7.0, path.name
        assert "table-layout: fixed" in css


def test_html_letters_escape_practice_data(cases: ReconcileResult, tmp_path: Path) -> None:
    context = dict(_context(cases, "M1-medical_necessity"))
    context["claim"] = dict(
        context["claim"], clinical_notes="<script>alert(1)</script>", patient_name="A & B"
    )
    render_letters(SimpleNamespace(letters=[context]), tmp_path)
    html = next(tmp_path.glob("*.html")).read_text()
    assert "<script>" not in html and "A &amp; B" in html


@pytest.mark.skipif(
    shutil.which("chromium") is None or shutil.which("pdftotext") is None,
    reason="chromium / poppler-utils not installed",
)
@pytest.mark.parametrize("appeal_id", ["C1-coding_bundling", "O2-nsa_open_negotiation"])
def test_letters_print_on_letter_without_clipping(
    letters: Path, tmp_path: Path, appeal_id: str
) -> None:
    """Printed by headless Chromium: US Letter pages, every word inside the page, the last
    column of the widest table included."""
    pdf = tmp_path / f"{appeal_id}.pdf"
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-pdf-header-footer",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--print-to-pdf={pdf}",
            (letters / f"{appeal_id}.html").as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    bbox = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    pages = re.findall(r'<page width="([\d.]+)" height="([\d.]+)"', bbox)
    assert pages and {(float(w), float(h)) for w, h in pages} == {(612.0, 792.0)}
    right_edges = [float(x) for x in re.findall(r'xMax="([\d.]+)"', bbox)]
    assert right_edges and max(right_edges) <= 612 - 36  # inside a half-inch margin
    words = set(re.findall(r">([^<]+)</word>", bbox))
    last_column = {
        "C1-coding_bundling": {"CO-59", "$338.00"},
        "O2-nsa_open_negotiation": {"Offer", "$1,248.00"},
    }[appeal_id]  # the rightmost column's heading or values
    assert last_column <= words
