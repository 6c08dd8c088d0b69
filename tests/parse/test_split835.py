"""An 835 parsed by two processes (pipeline.parse.split835) gives the one-process tables.

Small generated 835s (a few thousand claims, the bench's claim shapes) with the size
threshold at 0, cut at several places: balancing problems on both sides of the cut,
reversals whose original is before the cut, a reversal still waiting at the cut (the
parent reads on alone), reader errors on either side, and the next file's known claims.
"""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.errors import X12SyntaxError
from pipeline.parse import split835
from pipeline.parse.api import stream_tables
from pipeline.parse.commands import parse_command
from pipeline.parse.split835 import split_tables
from pipeline.parse.t835 import Remit835Parser
from pipeline.parse.tables import KIND_TABLES, TableWriter
from tests.bench.test_parse_bench import _claim
from tests.parse.x12build import Claim, Counter, Payment, build_835

CLAIMS = 3_000
TABLES = (*KIND_TABLES["835"], "problems")


def _write(path: Path, claims: list[Claim]) -> Path:
    paid = sum((c.paid for c in claims), D(0))
    # BPR02 one cent more than the claims pay: the payment does not balance either.
    payment = Payment(paid + D("2.51"), "EFT000001", claims, plb=[("L6", "", "", D("-2.50"))])
    path.write_text(build_835([payment], control=Counter(1)), encoding="ascii")
    return path


def _reversal(original: Claim) -> Claim:
    return Claim(
        original.pcn, "22", -original.charge, -original.paid, -original.patient,
        icn=original.icn, lines=[], adjustments=[("CO", "45", -(original.charge - original.paid
        - original.patient)), ("PR", "2", -original.patient)],
    )  # fmt: skip


def _remit(path: Path, *, reversals: dict[int, int] | None = None) -> Path:
    """CLAIMS bench claims; two that do not balance (early and late); for each
    ``reversals`` item (original index -> position), a reversal of that claim and its
    correction inserted before the claim at that position."""
    claims = [_claim(n) for n in range(CLAIMS)]
    claims[CLAIMS // 3].paid += D("1")  # claim and payment do not balance
    claims[2 * CLAIMS // 3].lines[0].paid -= D("1")  # a line does not balance
    for original, position in sorted((reversals or {}).items(), key=lambda kv: -kv[1]):
        correction = _claim(original)
        claims[position:position] = [_reversal(claims[original]), correction]
    return _write(path, claims)


def _one_process(path: Path, out: Path, known: dict[str, str] | None = None) -> Remit835Parser:
    writer = TableWriter(out, "parquet")
    run = stream_tables(path, writer, known_claims=known)
    writer.close(TABLES)
    parser = run.handlers["835"]
    assert isinstance(parser, Remit835Parser)
    return parser


def _two_processes(
    path: Path, out: Path, share: float, known: dict[str, str] | None = None
) -> tuple[bool, Remit835Parser]:
    writer = TableWriter(out, "parquet")
    split = split_tables(path, writer, known_claims=known, min_bytes=0, share=share)
    writer.close(TABLES)
    assert split is not None
    assert split.run.kinds == ["835"]
    parser = split.run.handlers["835"]
    assert isinstance(parser, Remit835Parser)
    assert not list(out.glob(".split-*")), "the child's Arrow files are left behind"
    return split.parallel, parser


def _assert_same_tables(one: Path, two: Path) -> None:
    for table in TABLES:
        expected, got = (
            pq.read_table(one / f"{table}.parquet"),
            pq.read_table(two / f"{table}.parquet"),
        )
        assert got.equals(expected), table
    assert pq.read_table(one / "problems.parquet").num_rows >= 3  # claim, line, payment


@pytest.mark.parametrize(("share", "piece"), [(0.2, None), (0.5, None), (0.5, 4096), (0.8, None)])
def test_split_tables_equal_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, share: float, piece: int | None
) -> None:
    if piece is not None:  # the child scans the bytes before the cut in many pieces
        monkeypatch.setattr(split835, "_PIECE", piece)
    remit = _remit(tmp_path / "remit.835", reversals={10: CLAIMS // 2 + 7, 40: CLAIMS // 5})
    one = _one_process(remit, tmp_path / "one")
    parallel, two = _two_processes(remit, tmp_path / "two", share)
    assert parallel
    _assert_same_tables(tmp_path / "one", tmp_path / "two")
    assert list(two.seen_pcn.items()) == list(one.seen_pcn.items())
    assert list(two.seen_icn.items()) == list(one.seen_icn.items())
    claims = pq.read_table(tmp_path / "two" / "remit_claims.parquet").to_pylist()
    reversal = next(
        c
        for c in claims
        if c["claim_status_code"] == "22" and c["patient_control_number"] == "PCN00000010"
    )
    assert reversal["reversal_of_claim_key"].endswith(":11")  # claim 10 is the 11th CLP
    assert reversal["corrected_by_claim_key"]


def test_reversal_waiting_at_the_cut_reads_on_in_one_process(tmp_path: Path) -> None:
    position = CLAIMS // 2
    remit = _remit(tmp_path / "remit.835", reversals={5: position})
    data = remit.read_bytes()
    header_end = data.index(b"CLP*") - 1  # after the terminator ("~\n" ends segments)
    reversal_at = data.index(b"CLP*PCN00000005*22*")
    # Cut a little past the reversal's CLP: the next CLP is its correction's.
    share = (reversal_at + 10 - header_end) / (len(data) - header_end)
    _one_process(remit, tmp_path / "one")
    parallel, _ = _two_processes(remit, tmp_path / "two", share)
    assert not parallel
    _assert_same_tables(tmp_path / "one", tmp_path / "two")


@pytest.mark.parametrize("where", [0.25, 0.75])
def test_reader_error_on_either_side_of_the_cut(tmp_path: Path, where: float) -> None:
    remit = _remit(tmp_path / "remit.835")
    data = remit.read_bytes()
    at = data.index(b"\nCLP*", int(len(data) * where)) + 1
    broken = tmp_path / "broken.835"
    broken.write_bytes(data[:at] + b"cl*1~\n" + data[at:])
    with pytest.raises(X12SyntaxError) as one:
        _one_process(broken, tmp_path / "one")
    with pytest.raises(X12SyntaxError) as two:
        _two_processes(broken, tmp_path / "two", 0.5)
    assert str(two.value) == str(one.value)
    assert two.value.segment_number == one.value.segment_number


def test_parse_command_split_known_claims_reach_the_next_file(tmp_path: Path) -> None:
    big = _remit(tmp_path / "big.835")
    original = _claim(2_900)  # near the end: the child's half of the big file
    later = _write(tmp_path / "later.835", [_reversal(original), _claim(2_900)])
    files = [big, later]
    assert parse_command(files, out=tmp_path / "one", fmt="parquet", split_bytes=10**12) == 0
    assert parse_command(files, out=tmp_path / "two", fmt="parquet", split_bytes=0) == 0
    _assert_same_tables(tmp_path / "one", tmp_path / "two")
    claims = pq.read_table(tmp_path / "two" / "remit_claims.parquet").to_pylist()
    assert claims[-2]["reversal_of_claim_key"] == f"big:000000001:0001:{2_901}"
