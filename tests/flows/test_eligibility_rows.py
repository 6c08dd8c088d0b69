"""The night's 271 read: only the summary rows, the same as the parser's full tables give."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import X12SyntaxError
from pipeline.parse import parse_file
from pipeline.reconcile.inputs import records
from pipeline.steps.eligibility import summary_rows
from tests.conftest import CORPUS, SAMPLE_EDI

FILES = [SAMPLE_EDI / "x12" / "eligibility.271", *sorted((CORPUS / "271").glob("*"))]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_summary_rows_are_the_full_parse_s_summary_table(path: Path) -> None:
    """Streamed without the benefit rows, cell for cell what ``parse_file`` tables (the corpus
    files too, when ../shared/corpus is present; unreadable ones fail alike)."""
    try:
        full = records(parse_file(path, name=path.name).tables.get("eligibility_summary"))
    except X12SyntaxError:
        with pytest.raises(X12SyntaxError):
            summary_rows(path, path.name)
        return
    assert summary_rows(path, path.name) == full
    if path.parent.name == "x12":
        assert full  # the sample answers something: the comparison is not of two empty lists
