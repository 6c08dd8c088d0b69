"""report.html: self-contained, with its charts; looked at through headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pipeline.export import render_report
from pipeline.reconcile import ReconcileResult


@pytest.fixture(scope="module")
def report(result: ReconcileResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_report(result, tmp_path_factory.mktemp("report") / "report.html")


def test_report_is_self_contained_with_three_charts(report: Path) -> None:
    html = report.read_text()
    assert html.count("<svg") == 3
    assert "<script" not in html
    # No network: the only URL is the SVG namespace.
    assert set(re.findall(r"https?://[^'\" >]+", html)) == {"http://www.w3.org/2000/svg"}


def test_report_has_the_finance_numbers(report: Path) -> None:
    html = report.read_text()
    for text in (
        "Paid vs expected by payer",
        "Denials by CARC",
        "A/R aging by payer",
        "No Surprises Act cases — status and next deadline",
        "Denials and appeal outcomes by payer and reason",
        "January 5, 2026",  # B4/B5/B6 open negotiation deadline
        "CO-197",
        "ZZZ999",  # the unmatched queue
        "-$1.00",  # CHK400 does not balance
    ):
        assert text in html, text


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_report_renders_in_chromium(report: Path, tmp_path: Path) -> None:
    png = tmp_path / "report.png"
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={png}",
            "--window-size=1280,2400",
            report.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert png.stat().st_size > 50_000  # a blank page is a few kB


def test_paid_by_payers_reconciles_to_the_deposits(result: ReconcileResult, report: Path) -> None:
    html = report.read_text()
    s = result.summary
    assert (
        s["paid"] + s["provider_adjustments"] + s["duplicates_not_posted"] + s["deposit_difference"]
        == s["deposits"]
    )
    money = "${:,.2f}".format
    assert f"Paid by payers {money(s['paid'])}" in html
    assert f"deposits {money(s['deposits'])}" in html
    assert "Deposits (what reached the bank, per trace)" in html
    assert "CONTOSO COMMERCIAL" in html  # payer names beside IDs


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_report_prints_on_letter_without_clipping(report: Path, tmp_path: Path) -> None:
    """Print to PDF as a browser would: Letter pages, and the last column of each wide table
    (the ones that overflowed before) is on the paper."""
    pdf = tmp_path / "report.pdf"
    subprocess.run(
        [
            "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}", "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}", report.as_uri(),
        ],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils not installed")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    assert "612 x 792 pts (letter)" in info.stdout
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for last_column in ("Difference", "Credit balances", "Days left", "Letter", "Why / what to do"):
        assert last_column in text, last_column
    # The end of the widest row's last cell is printed too (a clipped page loses it).
    assert "open until explained" in " ".join(text.split())
