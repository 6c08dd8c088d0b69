"""pyx12 behind ``check_ig``: same verdicts as ``x12n_document``, its quirks hidden."""

from __future__ import annotations

import codecs
import logging
import re
from pathlib import Path

import pytest

from pipeline.errors import X12SyntaxError
from pipeline.x12.ig import IgCopy, check_ig, check_ig_file, ig_map_path
from pipeline.x12.reader import read_segments
from pipeline.x12.validate import validate_file
from tests.conftest import corpus_rows
from tests.x12.samples import balanced_835

PYX12_MAPS = Path(__import__("pyx12").__file__).parent / "map"


def copy_of(source: Path | bytes, name: str = "t") -> IgCopy:
    copy = IgCopy(name)
    for seg in read_segments(source, name=name):
        copy.add(seg)
    return copy


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return balanced_835(tmp_path_factory.mktemp("ig") / "good.835")


def test_generated_835_passes_pyx12(good: Path) -> None:
    assert check_ig_file(read_segments(good), str(good)) == []


def test_element_error_carries_segment_loop_and_element(good: Path) -> None:
    text = good.read_bytes().replace(b"N4|ANYTOWN|NY|", b"N4|ANYTOWN|QQ|", 1)
    (problem,) = check_ig_file(read_segments(text), "t")
    assert (problem.rule, problem.severity, problem.segment_number) == ("ig", "error", 9)
    assert (problem.segment_id, problem.loop, problem.element) == ("N4", "1000A", "N402")
    assert problem.actual == "QQ" and "not a valid code" in problem.message
    assert (problem.transaction_control_number, problem.key) == ("0001", "N402")


def test_missing_segment_is_reported_in_its_loop(good: Path) -> None:
    text = re.sub(rb"PER\|BL\|[^~]*~\r\n", b"", good.read_bytes(), count=1)
    problems = [p for p in validate_file_bytes(text) if p.rule == "ig"]
    assert any("PER" in p.message and p.loop == "1000A" for p in problems), problems


def validate_file_bytes(text: bytes) -> list[object]:
    return list(check_ig_file(read_segments(text), "t"))


@pytest.mark.parametrize(
    "encode",
    [
        lambda raw: codecs.BOM_UTF8 + raw,
        lambda raw: codecs.BOM_UTF8 + raw.replace(b"\r\n", b"\r\n    "),
        lambda raw: raw.decode("ascii").encode("utf-16"),
    ],
    ids=["utf8-bom", "bom-and-indented", "utf-16"],
)
def test_bom_indentation_and_utf16_do_not_reach_pyx12(
    good: Path, tmp_path: Path, encode: object
) -> None:
    odd = tmp_path / "odd.835"
    odd.write_bytes(encode(good.read_bytes()))  # type: ignore[operator]
    report = validate_file(odd)
    assert (report.status, report.problems) == ("valid", [])


def test_group_without_a_map_is_a_warning_not_a_crash() -> None:
    rows = [r for r in corpus_rows() if r["file"] == "270/lfh__demo-single-line.270"]
    if not rows:
        pytest.skip("corpus absent")
    from tests.conftest import CORPUS

    copy = copy_of(CORPUS / rows[0]["file"])
    (warning,) = check_ig(copy, map_path=PYX12_MAPS)  # pyx12's own maps: no 270
    assert (warning.rule, warning.severity, warning.segment_number) == ("ig_no_map", "warning", 2)
    assert "005010X279A1" in warning.message
    if ig_map_path() is not None:  # our maps installed: the 270 is checked, and passes
        assert check_ig(copy) == []


def test_pyx12_failing_inside_becomes_one_warning(good: Path, tmp_path: Path) -> None:
    (problem,) = check_ig(copy_of(good), map_path=tmp_path)  # no maps.xml there
    assert (problem.rule, problem.severity) == ("ig_engine", "warning")
    assert "IG not checked" in problem.message


def test_interchange_with_other_delimiters_is_skipped_with_a_warning(good: Path) -> None:
    raw = good.read_bytes()
    star = raw.replace(b"|", b"*")
    problems = check_ig_file(read_segments(raw + star), "t")
    assert [(p.rule, p.segment_number) for p in problems] == [("ig_skipped", 65)]


def test_ta1_only_interchange_is_not_sent_to_pyx12() -> None:
    isa = ("ISA*00*          *00*          *ZZ*A              *ZZ*B              "
           "*250101*1200*^*00501*000000001*0*P*:~")  # fmt: skip
    text = f"{isa}TA1*000000050*250101*1200*A*000~IEA*0*000000001~".encode()
    assert check_ig_file(read_segments(text), "t") == []


def _parity_files() -> list[str]:
    """Corpus files small enough to run twice through pyx12 (the two 800 KB 837s are left to
    test_conformance, which runs them once)."""
    from tests.conftest import CORPUS

    return [r["file"] for r in corpus_rows() if (CORPUS / r["file"]).stat().st_size < 100_000]


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: set[int] = set()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        match = re.search(r"Line:(\d+)", message)
        if match and not message.startswith("No current segment"):
            self.lines.add(int(match.group(1)))


@pytest.mark.parametrize("name", _parity_files())
def test_same_verdict_and_error_segments_as_x12n_document(corpus_dir: Path, name: str) -> None:
    """Our driver of pyx12 against pyx12's own ``x12n_document`` on the same clean copy."""
    import pyx12.params
    import pyx12.x12n_document

    try:
        copy = copy_of(corpus_dir / name, name)
    except X12SyntaxError:
        pytest.skip("unreadable: pyx12 is not run")
    ours = check_ig(copy, envelope_duplicates=True)
    if not copy.has_groups or any(p.rule in ("ig_no_map", "ig_skipped") for p in ours):
        pytest.skip("x12n_document would raise or refuse; nothing to compare")
    handler, log = _Lines(), logging.getLogger("pyx12")
    log.addHandler(handler)
    old_level, log.level = log.level, logging.ERROR
    try:
        folder = ig_map_path()
        accepted = pyx12.x12n_document.x12n_document(
            pyx12.params.params(), copy.text(), None, None,
            map_path=None if folder is None else str(folder),
        )  # fmt: skip
    finally:
        log.removeHandler(handler)
        log.setLevel(old_level)
    errors = [p for p in ours if p.severity == "error"]
    assert accepted == (not errors)
    assert {copy.segment_number(line) for line in handler.lines} == {
        p.segment_number for p in errors
    }
