"""SNIP 1: each envelope rule fires on its own mutation of a good file, and only then."""

from __future__ import annotations

import pytest

from pipeline.x12.envelope import check_envelopes
from pipeline.x12.reader import read_segments

ISA = (
    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       "
    "*250101*1200*^*00501*000000001*0*P*:~"
)
GOOD = "\n".join([
    ISA,
    "GS*HP*SENDER*RECEIVER*20250101*1200*7*X*005010X221A1~",
    "ST*835*0001~",
    "BPR*I*0*C*NON************20250101~",
    "TRN*1*T1*1512345678~",
    "SE*4*0001~",
    "ST*835*0002~",
    "BPR*I*0*C*NON************20250101~",
    "SE*3*0002~",
    "GE*2*7~",
    "IEA*1*000000001~",
])  # fmt: skip


def problems(text: str) -> list[tuple[str, str, str, int | None, str]]:
    found = check_envelopes(read_segments(text.encode(), name="t.835"), "t.835")
    return [(p.rule, p.expected, p.actual, p.segment_number, p.element) for p in found]


def test_good_file_has_no_envelope_problems() -> None:
    assert len(ISA) == 106
    assert problems(GOOD) == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("SE*4*0001", "SE*5*0001", ("se_count", "4", "5", 6, "SE01")),
        ("SE*4*0001", "SE*4*0009", ("se_control", "0001", "0009", 6, "SE02")),
        ("SE*3*0002", "SE**0002", ("se_count", "3", "", 9, "SE01")),
        ("GE*2*7", "GE*1*7", ("ge_count", "2", "1", 10, "GE01")),
        ("GE*2*7", "GE*2*8", ("ge_control", "7", "8", 10, "GE02")),
        ("IEA*1*000000001", "IEA*2*000000001", ("iea_count", "1", "2", 11, "IEA01")),
        ("IEA*1*000000001", "IEA*1*000000002",
         ("iea_control", "000000001", "000000002", 11, "IEA02")),
        ("ST*835*0002~", "ST*835*0002*005010X222A1~",
         ("gs08_st03", "005010X221A1", "005010X222A1", 7, "ST03")),
        ("ST*835*0002~", "ST*837*0002~", ("gs01_st01", "835", "837", 7, "ST01")),
        ("*SENDER         *", "*SENDER        *", ("isa_width", "106", "105", 1, "ISA")),
    ],
)  # fmt: skip
def test_each_rule_names_expected_and_actual(
    old: str, new: str, expected: tuple[str, str, str, int, str]
) -> None:
    assert old in GOOD
    assert problems(GOOD.replace(old, new, 1)) == [expected]


def test_isa_width_message_names_the_short_field() -> None:
    text = GOOD.replace("*SENDER         *", "*SENDER        *", 1)
    (problem,) = check_envelopes(read_segments(text.encode()), "t")
    assert "ISA06 has 14 (expected 15)" in problem.message
    assert problem.level == "interchange" and problem.key == "000000001"


def test_matching_st03_and_trimmed_counts_pass() -> None:
    text = GOOD.replace("ST*835*0002~", "ST*835*0002*005010X221A1~").replace("GE*2*7", "GE* 2*7")
    assert problems(text) == []


def test_counts_follow_each_interchange_of_a_multi_isa_file() -> None:
    second = GOOD.replace("000000001", "000000002").replace("*7*", "*8*")
    second = second.replace("GE*2*7", "GE*2*8")
    assert problems(GOOD + "\n" + second) == []
    bad = second.replace("IEA*1*", "IEA*3*")
    assert problems(GOOD + "\n" + bad) == [("iea_count", "1", "3", 22, "IEA01")]
