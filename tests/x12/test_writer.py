"""The writer: refused delimiters, dropped trailing empties, envelope counts, control numbers."""

from __future__ import annotations

import datetime as dt
import io
import multiprocessing
from pathlib import Path

import pytest

from pipeline.errors import X12WriteError
from pipeline.x12 import Delimiters, FileControlNumbers, X12Writer, format_segment, read_segments

D = Delimiters()


def test_trailing_empty_elements_and_components_are_dropped() -> None:
    assert format_segment("NM1", ["IL", "1", "DOE", "", None, "", ""], D) == "NM1*IL*1*DOE"
    assert format_segment("SV1", [["HC", "99214", "", None]], D) == "SV1*HC:99214"
    assert format_segment("SV1", [["HC", "99214", "", "25"]], D) == "SV1*HC:99214::25"
    assert format_segment("DTP", ["472", None, "20250114"], D) == "DTP*472**20250114"


@pytest.mark.parametrize("bad", ["O*BRIEN", "A~B", "X:Y", "P^Q"])
def test_values_holding_a_delimiter_are_refused_naming_the_field(bad: str) -> None:
    with pytest.raises(X12WriteError, match=r"NM103 value contains the delimiter"):
        format_segment("NM1", ["IL", "1", bad], D)
    with pytest.raises(X12WriteError, match=r"SV101-2 value"):
        format_segment("SV1", [["HC", bad]], D)


def _write(tmp_path: Path, sets: int = 2) -> str:
    out = io.StringIO()
    numbers = FileControlNumbers(tmp_path / "cn.json")
    w = X12Writer(out, control_numbers=numbers, now=dt.datetime(2025, 1, 15, 12, 30))
    with w.interchange(sender=("ZZ", "SUB"), receiver=("ZZ", "CH"), ack_requested=True) as ic:
        with ic.group("HC", "SUB", "CH", "005010X222A1") as group:
            for _ in range(sets):
                with group.transaction("837") as ts:
                    ts.segment("BHT", "0019", "00", "B1", "20250115", "1230", "CH")
                    ts.segment("NM1", "41", "2", "PRACTICE")
    return out.getvalue()


def test_envelopes_have_correct_counts_and_fixed_width_isa(tmp_path: Path) -> None:
    text = _write(tmp_path, sets=2)
    segs = list(read_segments(text.encode()))
    isa = text.split("\n")[0]
    assert len(isa) == 106 and isa[104] == ":" and isa.endswith("~")
    by_id = {s.id: s for s in segs}
    assert by_id["ISA"][13] == "000000001" and by_id["ISA"][14] == "1"
    assert by_id["IEA"][1] == "1" and by_id["IEA"][2] == "000000001"
    assert by_id["GE"][1] == "2" and by_id["GE"][2] == by_id["GS"][6]
    ses = [s for s in segs if s.id == "SE"]
    sts = [s for s in segs if s.id == "ST"]
    assert [s[1] for s in ses] == ["4", "4"]
    assert [s[2] for s in ses] == [s[2] for s in sts] == ["0001", "0002"]


def test_control_numbers_are_never_reused(tmp_path: Path) -> None:
    first, second = _write(tmp_path), _write(tmp_path)
    isa13 = [next(read_segments(t.encode()))[13] for t in (first, second)]
    assert isa13 == ["000000001", "000000002"]
    numbers = FileControlNumbers(tmp_path / "cn.json")
    assert numbers.next_transaction() == 5 and numbers.next_group() == 3


def _draw(path: str) -> list[int]:
    numbers = FileControlNumbers(path)
    return [numbers.next_interchange() for _ in range(50)]


def test_control_numbers_are_unique_across_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "cn.json")
    with multiprocessing.get_context("fork").Pool(4) as pool:
        drawn = [n for chunk in pool.map(_draw, [path] * 4) for n in chunk]
    assert sorted(drawn) == list(range(1, 201))


def test_written_text_reads_back_identically(tmp_path: Path) -> None:
    text = _write(tmp_path)
    rebuilt = "".join(D.element.join(s.elements) + "~\n" for s in read_segments(text.encode()))
    assert rebuilt == text


def test_repeated_elements_join_with_the_repetition_separator() -> None:
    from pipeline.x12 import Repeated

    assert format_segment("EB", ["1", "IND", Repeated(("30", "1", "33"))], D) == "EB*1*IND*30^1^33"
    with pytest.raises(X12WriteError, match="EB03 value contains the delimiter"):
        format_segment("EB", ["1", "IND", Repeated(("30", "A^B"))], D)


def test_835_has_no_st03_other_sets_repeat_gs08(tmp_path: Path) -> None:
    out = io.StringIO()
    w = X12Writer(out, control_numbers=FileControlNumbers(tmp_path / "cn.json"))
    with w.interchange(sender=("ZZ", "P"), receiver=("ZZ", "R")) as ic:
        with ic.group("HP", "P", "R", "005010X221A1") as group, group.transaction("835") as ts:
            ts.segment("BPR", "I", "0", "C", "NON")
        with ic.group("FA", "P", "R", "005010X231A1") as group, group.transaction("999") as ts:
            ts.segment("AK1", "HC", "1", "005010X222A1")
    sts = [s for s in read_segments(out.getvalue().encode()) if s.id == "ST"]
    assert [s.elements for s in sts] == [
        ["ST", "835", "0001"],
        ["ST", "999", "0002", "005010X231A1"],
    ]
