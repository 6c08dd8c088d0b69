"""pyx12 by transaction set in processes: the same findings, in the same order, as one pass."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.build.codes import load_code_sets
from pipeline.build.t837p import build_837p
from pipeline.errors import X12SyntaxError
from pipeline.practice import load_practice
from pipeline.x12.ig import (
    IgCopy,
    _check_in_pieces,
    _check_piece,
    _Cut,
    _position,
    _write_pieces,
    check_ig,
    ig_map_path,
)
from pipeline.x12.problems import Problem
from pipeline.x12.reader import read_segments
from pipeline.x12.validate import validate_file
from tests.build.conftest import DEMO, NOW, ROOT, TODAY, CountingControlNumbers
from tests.conftest import CORPUS, corpus_rows


def copy_of(path: Path) -> IgCopy:
    copy = IgCopy(str(path))
    for seg in read_segments(path):
        copy.add(seg)
    return copy


def _corrupt(text: str) -> str:
    """Guide errors in several transaction sets, some next to the SE or the next ST/GS/ISA."""
    sets = re.split(r"(?=^ST\*)", text, flags=re.M)  # [envelope head, set 1, set 2, ...]

    def edit(n: int, old: str, new: str) -> None:
        assert old in sets[n], (n, old)
        sets[n] = sets[n].replace(old, new, 1)

    def drop(n: int, pattern: str) -> None:
        sets[n], found = re.subn(pattern, "", sets[n], count=1, flags=re.M)
        assert found, (n, pattern)

    edit(2, "N4*SKOKIE*IL*", "N4*SKOKIE*QQ*")  # not a state code
    drop(4, r"^NM1\*PR\*[^\n]*\n")  # payer name missing
    edit(6, "LX*1~", "LX*2~")  # service line numbering (pyx12 counts per claim)
    edit(8, "HL*3*1*", "HL*3*9*")  # no such parent
    drop(9, r"^CLM\*[^\n]*\n")  # an LX before any CLM of the set
    edit(10, "~\nNM1*41*", "~\nZZZ*1~\nNM1*41*")  # unknown segment
    sets[12] = re.sub(r"^SE\*(\d+)\*", lambda m: f"SE*{int(m[1]) + 1}*", sets[12], flags=re.M)
    drop(14, r"^SV1\*[^\n]*\n(?=(?:[^\n]*\n){0,3}SE\*)")  # last service line's SV1
    drop(16, r"^DTP\*472\*D8\*\d{8}~\n(?=(?:[^\n]*\n){0,2}SE\*)")  # last set of group 1
    edit(17, "N3*", "N3~\nN3*")  # first set of group 2: an empty N3
    edit(19, "DMG*D8*", "DMG*D8*2026")  # first set of interchange 2: a bad date
    return "".join(sets)


def _build(start: int, per_set: int, claims: int | None = None) -> str:
    practice = load_practice(DEMO, mappings_dir=ROOT / "mappings").practice
    out = io.StringIO()
    build_837p(
        practice, out, control_numbers=CountingControlNumbers(start), today=TODAY,
        codes=load_code_sets(ROOT / "mappings"), now=NOW, max_claims_per_transaction=per_set,
        encounters=practice.encounters[:claims] if claims else None,
    )  # fmt: skip
    return out.getvalue()


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """837Ps of the demo practice in two interchanges, the first with two groups (sets 1-16
    and 17-18, the second 19-20), with guide errors in many sets."""
    first = _build(1, per_set=10).splitlines(keepends=True)
    assert sum(line.startswith("ST*") for line in first) == 16
    group_2 = _build(101, per_set=15, claims=30).splitlines(keepends=True)[1:-1]
    isa13 = first[0].split("*")[13]
    text = "".join(first[:-1] + group_2 + [f"IEA*2*{isa13}~\n"]) + _build(201, 15, 30)
    path = tmp_path_factory.mktemp("ig_parallel") / "broken.837p.x12"
    path.write_text(_corrupt(text), encoding="ascii")
    return path


@pytest.fixture(scope="module")
def one_pass(broken: Path) -> list[Problem]:
    return list(check_ig(copy_of(broken)))


def test_errors_are_spread_over_many_transaction_sets(one_pass: list[Problem]) -> None:
    sets = {p.transaction_control_number for p in one_pass if p.rule == "ig"}
    assert len(sets) >= 8, sets


def test_every_allowed_cut_at_once_gives_the_one_pass_findings(
    broken: Path, one_pass: list[Problem], tmp_path: Path
) -> None:
    """Each ISA, GS and ST pyx12 allows a cut at (in-process, one piece per set)."""
    copy = copy_of(broken)
    cuts = copy.structure.cuts
    starts = {cut.line: cut.kind for cut in cuts}
    kinds = list(starts.values())
    st_numbers = {seg.number for seg in read_segments(broken) if seg.id == "ST"}
    st_lines = [i for i in range(copy.lines) if copy.segment_number(i + 1) in st_numbers]
    # Set 9 reads the LX counter before its first CLM: no piece may start there.
    assert st_lines[8] not in starts
    # 20 sets, 3 of them first in their group: 16 ST cuts; the second GS and ISA
    assert (kinds.count("ST"), kinds.count("GS"), kinds.count("ISA")) == (16, 1, 1)
    assert in_process_pieces(copy, cuts, tmp_path) == one_pass


def in_process_pieces(copy: IgCopy, cuts: list[_Cut], folder: Path) -> list[Problem]:
    """What ``check_ig`` finds cutting at ``cuts``, each piece run here (no processes)."""
    maps = None if ig_map_path() is None else str(ig_map_path())
    merged = list(copy.skipped)
    for path, numbers in _write_pieces(copy, cuts, folder):
        found = _check_piece(copy.source_file, path, numbers, maps)
        assert found is not None, "a piece could not place a finding: one pass would decide"
        merged += found
    return sorted(merged, key=_position)


def test_pieces_in_processes_give_the_one_pass_findings(
    broken: Path, one_pass: list[Problem]
) -> None:
    copy = copy_of(broken)
    folder = None if ig_map_path() is None else str(ig_map_path())
    merged = _check_in_pieces(copy, folder, 3)
    assert merged is not None  # really cut, not fallen back to one pass
    assert sorted(merged, key=_position) == one_pass
    assert check_ig(copy, jobs=3, parallel_min_segments=0) == one_pass


def test_validate_file_report_is_the_same_with_two_jobs(broken: Path) -> None:
    one = validate_file(broken, jobs=1, engine="pyx12")
    two = validate_file(broken, jobs=2, parallel_min_segments=0, engine="pyx12")
    assert one.status == "invalid" and one.as_dict() == two.as_dict()


def test_duplicate_st02_forbids_cutting(broken: Path, tmp_path: Path) -> None:
    """pyx12 reports a repeated ST02 only when it sees both sets: no piece may hide one."""
    text = broken.read_text(encoding="ascii")
    text = text.replace("ST*837*0015*", "ST*837*0003*")
    path = tmp_path / "dup.x12"
    path.write_text(text, encoding="ascii")
    copy = copy_of(path)
    assert copy.structure.choose(copy.lines, 2) == []
    one = validate_file(path, jobs=1, engine="pyx12")
    assert any("not unique" in p.message for p in one.problems)
    assert (
        validate_file(path, jobs=2, parallel_min_segments=0, engine="pyx12").problems
        == one.problems
    )


def _multi_set_corpus_files() -> list[str]:
    names = []
    for row in corpus_rows():
        try:
            sets = sum(seg.id == "ST" for seg in read_segments(CORPUS / row["file"]))
        except X12SyntaxError:
            continue
        if sets > 1:
            names.append(row["file"])
    return names


@pytest.mark.parametrize("name", _multi_set_corpus_files())
def test_corpus_multi_set_files_same_report_with_two_jobs(
    corpus_dir: Path, name: str, tmp_path: Path
) -> None:
    copy = copy_of(corpus_dir / name)
    if not copy.structure.choose(copy.lines, 2):
        pytest.skip("pyx12 allows no cut (as after a repeated control number): one pass either way")
    one = validate_file(corpus_dir / name, jobs=1, engine="pyx12")
    two = validate_file(corpus_dir / name, jobs=2, parallel_min_segments=0, engine="pyx12")
    assert one.as_dict() == two.as_dict()
    # and cut at every place allowed
    assert in_process_pieces(copy, copy.structure.cuts, tmp_path) == check_ig(copy)


def test_cli_jobs_option(broken: Path) -> None:
    """``--jobs`` reaches ``validate_file`` (this file is under the threshold); 0 is refused."""
    claimflow = Path(sys.executable).parent / "claimflow"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [str(claimflow), "validate", "--engine", "pyx12", *args, str(broken)]
        return subprocess.run(command, capture_output=True, text=True, timeout=120)

    one, two = run("--json", "--jobs", "1"), run("--json", "--jobs", "2")
    assert (one.returncode, two.returncode) == (1, 1) and one.stdout == two.stdout
    refused = run("--jobs", "0")
    assert refused.returncode == 2 and "--jobs" in refused.stderr
