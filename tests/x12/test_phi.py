"""PHI stays out of messages: a bad patient name in an outgoing 837P is reported by position,
kind and length in logs, exception text, the quarantine reason and ``str``/``repr`` of the
problem; the value itself stays only in ``Problem.actual`` (rows of files the practice owns)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from pipeline.errors import X12SyntaxError
from pipeline.x12.reader import read_segments
from pipeline.x12.validate import format_report, validate_file

ROOT = Path(__file__).resolve().parents[2]
GOLDEN_837P = ROOT / "tests" / "golden" / "build" / "demo.837p.x12"
NAME = "UNDERWOOD"
BAD = "UNDER\x00WOOD"


@pytest.fixture(scope="module")
def bad_837p(tmp_path_factory: pytest.TempPathFactory) -> Path:
    text = GOLDEN_837P.read_bytes()
    good = f"NM1*IL*1*{NAME}*".encode()
    assert text.count(good) >= 1
    path = tmp_path_factory.mktemp("phi") / "837_PHI.x12"
    path.write_bytes(text.replace(good, f"NM1*IL*1*{BAD}*".encode(), 1))
    return path


def _leaks(text: str) -> bool:
    return any(part in text for part in (BAD, "UNDER\\x00", "UNDER", "WOOD"))


def test_validation_names_the_position_never_the_value(
    bad_837p: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    report = validate_file(bad_837p, jobs=1)
    assert report.status == "invalid"
    bad = [p for p in report.errors if p.element == "NM103"]
    assert bad, [str(p) for p in report.errors]
    assert any(p.actual and "\x00" in p.actual for p in bad)  # the value stays in the row
    for problem in report.problems:
        for text in (problem.message, str(problem), repr(problem)):
            assert not _leaks(text), text
    lines = "\n".join(format_report(report))
    assert "NM1" in lines and "NM103" in lines and "loop 2010BA" in lines
    assert "characters" in str(bad[0])  # the length, not the value
    assert not _leaks(lines) and not _leaks(caplog.text)


def test_quarantined_outgoing_file_reason_has_no_value(
    bad_837p: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The outbound step's reason line goes to logs and Prefect (``summary.attention``)."""
    from pipeline import steps
    from pipeline.ledger import Ledger
    from pipeline.steps import Workspace
    from pipeline.steps.outbound import _stage

    caplog.set_level(logging.DEBUG)
    workspace = Workspace(tmp_path).ensure()
    summary = steps.SendSummary("837")
    with Ledger(workspace.ledger_url) as ledger:
        staged = _stage(
            ledger, workspace, summary, bad_837p.read_bytes(), "837_PHI.x12", {}, (), "837"
        )
    assert not staged and summary.attention
    reason = summary.attention[0]
    assert "837_PHI.x12: invalid 837" in reason and "segment " in reason
    assert not _leaks(reason) and not _leaks(caplog.text)
    kept = (workspace.quarantine_dir / "837_PHI.x12.reason.txt").read_text(encoding="utf-8")
    assert not _leaks(kept)


def test_reader_and_parser_errors_quote_no_field_data() -> None:
    # A segment id that is really a name (wrong terminator) and a text file that is not X12.
    isa = "ISA*00*          *00*          *ZZ*A              *ZZ*B              *"
    isa += "261127*2130*^*00501*000000001*0*P*:~"
    with pytest.raises(X12SyntaxError) as info:
        list(read_segments(f"{isa}GS*HC*A*B*20261127*2130*1*X*005010X222A1~UNDERWOOD*X~".encode()))
    assert "invalid segment id of 9 characters" in str(info.value)
    assert not _leaks(str(info.value))
    with pytest.raises(X12SyntaxError) as info:
        list(read_segments(b"last,first\nUNDERWOOD,JANE\n"))
    assert "found other text" in str(info.value) and not _leaks(str(info.value))
    seg = next(s for s in read_segments(GOLDEN_837P) if s.id == "NM1" and s[1] == "IL")
    assert repr(seg).startswith("Segment('NM1'") and seg[3] not in repr(seg)
