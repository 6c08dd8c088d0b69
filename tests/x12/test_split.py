"""Cutting a file into pieces of whole transaction sets, read in other processes."""

from __future__ import annotations

import multiprocessing
import re
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest

from pipeline.errors import X12SyntaxError
from pipeline.parse import parse_file
from pipeline.reconcile.inputs import records
from pipeline.steps.eligibility import summary_rows
from pipeline.x12.split import split_transaction_sets
from tests.conftest import SAMPLE_EDI

SAMPLE = SAMPLE_EDI / "x12" / "eligibility.271"
SECOND_GROUP = "GS*HB*X*Y*20250303*0930*302*X*005010X279A1"


def many_sets(path: Path, sets: int) -> Path:
    """The sample 271 with its one set written ``sets`` times, each its own control number and
    trace (so rows differ and their order shows), GE01 counting them: a valid interchange."""
    text = SAMPLE.read_text(encoding="ascii")
    block = re.search(r"ST\*.*?SE\*[^~]*~\s*", text, re.S)
    assert block is not None
    body = "".join(
        block.group(0)
        .replace("ST*271*0301*", f"ST*271*{i:04d}*")
        .replace("*0301~", f"*{i:04d}~")
        .replace("TRN*2*TRN-", f"TRN*2*T{i}-")
        for i in range(1, sets + 1)
    )
    trailer = re.sub(r"GE\*\d+\*", f"GE*{sets}*", text[block.end() :])
    path.write_text(text[: block.start()] + body + trailer, encoding="ascii")
    return path


def whole_rows(path: Path) -> list[dict[str, object]]:
    return records(parse_file(path, name=path.name).tables["eligibility_summary"])


def test_pieces_read_in_order_give_the_file_s_rows(tmp_path: Path) -> None:
    path = many_sets(tmp_path / "big.271", 41)
    pieces = split_transaction_sets(path, 4)
    assert pieces is not None and [p.sets for p in pieces] == [11, 11, 11, 8]
    rows = []
    for piece in pieces:
        parsed = parse_file(piece.read(), name=path.name)
        assert parsed.problems.empty  # each piece is a well-formed interchange (GE01 recounted)
        rows += records(parsed.tables["eligibility_summary"])
    expected = whole_rows(path)
    assert len(expected) == 41 * len(whole_rows(SAMPLE)) and rows == expected


@pytest.mark.parametrize("pool", ["threads", "processes"])
def test_the_night_s_271_read_in_workers_is_the_one_pass_read(tmp_path: Path, pool: str) -> None:
    path = many_sets(tmp_path / "big.271", 30)
    if pool == "threads":
        executor = ThreadPoolExecutor(2)
    else:
        executor = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("forkserver"))
    with executor:
        got = summary_rows(path, path.name, executor, split_min_bytes=0)
    assert got == summary_rows(path, path.name) == whole_rows(path)


def test_a_piece_that_cannot_be_read_sends_the_whole_file_through_one_pass(
    tmp_path: Path,
) -> None:
    """The error then names the place in the file, as without workers."""
    path = many_sets(tmp_path / "big.271", 30)
    text = path.read_text(encoding="ascii")
    where = text.index("ST*271*0020*")
    path.write_text(text[:where] + "ST*271*0020*005010X279A1~\u0000~" + text[where:])
    with pytest.raises(X12SyntaxError) as whole:
        summary_rows(path, path.name)
    with ThreadPoolExecutor(2) as executor, pytest.raises(X12SyntaxError) as split:
        summary_rows(path, path.name, executor, split_min_bytes=0)
    assert str(split.value) == str(whole.value)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda t: t.replace("GE*", f"GE*1*301~{SECOND_GROUP}~GE*", 1), "two groups"),
        (lambda t: t.replace("SE*", "XX*", 1), "a set without its SE"),
        (lambda t: "\ufeff" + t, "a byte-order mark"),
    ],
)  # fmt: skip
def test_files_that_are_not_plain_are_read_whole(tmp_path: Path, change: object, why: str) -> None:
    path = many_sets(tmp_path / "big.271", 12)
    path.write_text(change(path.read_text(encoding="ascii")), encoding="utf-8")  # type: ignore[operator]
    assert split_transaction_sets(path, 2) is None, why


def test_too_few_sets_for_the_pieces_asked_are_read_whole(tmp_path: Path) -> None:
    path = many_sets(tmp_path / "big.271", 5)
    assert split_transaction_sets(path, 3) is None
    assert split_transaction_sets(path, 2) is not None
