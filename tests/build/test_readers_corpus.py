"""Our 837P/270 readers on the public corpus: records or one X12SyntaxError, never a crash."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.errors import X12SyntaxError
from pipeline.parse.t270 import read_270
from pipeline.parse.t837p import read_837p
from tests.conftest import corpus_files, corpus_rows

ACCEPTED = {r["file"] for r in corpus_rows() if r.get("pyx12_pyx12_result") == "ACCEPT"}


@pytest.mark.parametrize("name", corpus_files("837P") or ["<no corpus>"])
def test_837p_corpus(corpus_dir: Path, name: str) -> None:
    try:
        claims = read_837p(corpus_dir / name)
    except X12SyntaxError as exc:
        assert name not in ACCEPTED, str(exc)
        return
    for claim in claims:
        assert claim.patient_control_number
        assert all(isinstance(line.charge, Decimal) for line in claim.lines)
        if name in ACCEPTED:  # IG-valid claims carry a service date on every line
            assert claim.lines and all(line.service_date for line in claim.lines)


@pytest.mark.parametrize("name", corpus_files("270") or ["<no corpus>"])
def test_270_corpus(corpus_dir: Path, name: str) -> None:
    try:
        inquiries = read_270(corpus_dir / name)
    except X12SyntaxError:
        return
    assert all(i.payer_id or i.payer_name for i in inquiries)
