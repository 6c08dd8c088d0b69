"""The streaming reader: delimiters, encodings, envelopes, positions and its one error."""

from __future__ import annotations

import codecs
import contextlib
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.errors import X12SyntaxError
from pipeline.x12 import read_segments
from tests.conftest import CORPUS, corpus_rows

ISA = (
    "ISA*00*          *00*          *ZZ*SUBMITTERID    *ZZ*RECEIVERID     "
    "*250115*1230*^*00501*000000101*1*P*:~"
)
BODY = (
    "GS*HP*SENDER*RECEIVER*20250115*1230*101*X*005010X221A1~"
    "ST*835*0001*005010X221A1~"
    "BPR*I*99*C*ACH~"
    "CLP*PCN1*1*250*119*131*12*ICN1*11*1~"
    "SVC*HC:99214:25*200*105**1~"
    "EB*1**30^1^33~"
    "SE*6*0001~"
    "GE*1*101~"
    "IEA*1*000000101~"
)
SAMPLE = ISA + BODY


def ids(data: bytes) -> list[str]:
    return [s.id for s in read_segments(data)]


def test_reads_segments_with_elements_components_and_repeats() -> None:
    segs = list(read_segments(SAMPLE.encode()))
    assert [s.id for s in segs] == ["ISA", "GS", "ST", "BPR", "CLP", "SVC", "EB", "SE", "GE", "IEA"]
    clp, svc, eb = segs[4], segs[5], segs[6]
    assert clp[1] == "PCN1" and clp[4] == "119" and clp[20] == ""
    assert svc.composite(1) == ["HC", "99214", "25"] and svc.component(1, 2) == "99214"
    assert eb.repeats(3) == ["30", "1", "33"]
    assert [s.number for s in segs] == list(range(1, 11))


def test_positions_and_envelope_context() -> None:
    data = SAMPLE.encode()
    segs = list(read_segments(data, name="x.835"))
    for seg in segs:
        assert data[seg.offset :].startswith(seg.id.encode())
    clp = segs[4]
    env = clp.envelope
    assert (env.interchange_control_number, env.group_control_number) == ("000000101", "101")
    assert (env.transaction_set_id, env.transaction_control_number) == ("835", "0001")
    assert env.implementation == "005010X221A1" and env.source == "x.835"
    assert clp.set_position == 3  # ST=1, BPR=2, CLP=3
    assert segs[7].envelope.transaction_control_number == "0001"  # SE keeps its set
    assert segs[8].envelope.transaction_control_number == ""  # GE is outside it


@pytest.mark.parametrize(
    ("element", "repetition", "component", "terminator", "between"),
    [
        ("*", "^", ":", "~", ""),
        ("|", "^", ">", "~", "\r\n"),
        ("*", "^", ":", "\n", ""),
        ("*", "^", ":", "\n", "\r"),  # CRLF line endings as terminator
        ("\x1d", "\x1f", "\x1c", "\x1e", ""),
        ("!", "{", "}", "'", "\n  "),
    ],
)
def test_any_legal_delimiters(
    element: str, repetition: str, component: str, terminator: str, between: str
) -> None:
    table = str.maketrans({"*": element, "^": repetition, ":": component})
    text = ""
    for seg in SAMPLE.split("~")[:-1]:
        text += seg.translate(table) + terminator + between
    segs = list(read_segments(text.encode("latin-1")))
    assert [s.id for s in segs][-1] == "IEA"
    assert segs[5].composite(1) == ["HC", "99214", "25"]
    assert segs[6].repeats(3) == ["30", "1", "33"]


def test_boms_utf16_and_latin1_data() -> None:
    named = SAMPLE.replace("CLP*PCN1", "CLP*PEÑA")
    assert ids(codecs.BOM_UTF8 + SAMPLE.encode()) == ids(SAMPLE.encode())
    for encoding in ("utf-16", "utf-16-le", "utf-16-be"):
        segs = list(read_segments(named.encode(encoding)))
        assert segs[4][1] == "PEÑA"
    for encoding in ("utf-8", "latin-1", "cp1252"):
        assert list(read_segments(named.encode(encoding)))[4][1] == "PEÑA"


def test_many_interchanges_with_different_delimiters() -> None:
    other = SAMPLE.replace("*", "|").replace("~", "\n")
    data = (SAMPLE + "\n" + other + SAMPLE).encode()
    segs = list(read_segments(data, chunk_size=37))  # tiny chunks cross every boundary
    assert [s.id for s in segs].count("ISA") == 3
    assert [s.id for s in segs].count("CLP") == 3
    assert all(data[s.offset :].startswith(s.id.encode()) for s in segs)


def test_chunk_boundaries_do_not_change_the_result() -> None:
    data = (SAMPLE * 3).encode()
    whole = [s.elements for s in read_segments(data)]
    for size in (1, 2, 7, 64, 105, 106, 107):
        assert [s.elements for s in read_segments(data, chunk_size=size)] == whole


def test_stream_and_path_sources(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "a.835"  # type: ignore[operator]
    path.write_bytes(SAMPLE.encode())
    assert ids(SAMPLE.encode()) == [s.id for s in read_segments(path)]
    assert ids(SAMPLE.encode()) == [s.id for s in read_segments(io.BytesIO(SAMPLE.encode()))]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "empty file"),
        (b"hello world, this is not EDI", "not an X12 interchange"),
        (b"GS*HC*A*B~", "not an X12 interchange"),
        (SAMPLE[:150].encode(), "file ends"),
        (SAMPLE[:-10].encode(), "file ends"),
        (SAMPLE.replace("GE*1*101~", "").encode(), "IEA while GS is still open (missing GE)"),
        (SAMPLE.replace("ST*835*0001*005010X221A1~", "").encode(), "outside a transaction set"),
        (SAMPLE.replace("BPR*", "bp r*").encode(), "invalid segment id"),
        (SAMPLE.encode() + b"garbage", "data after the last IEA"),
        (SAMPLE[:50].encode(), "cut short"),
    ],
)
def test_one_error_names_file_position_and_problem(data: bytes, problem: str) -> None:
    with pytest.raises(X12SyntaxError) as info:
        list(read_segments(data, name="claims.835"))
    message = str(info.value)
    assert message.startswith("claims.835:") and problem in message
    assert "\n" not in message


def test_error_position_is_the_offending_segment() -> None:
    bad = SAMPLE.replace("SVC*", "S@C*")
    with pytest.raises(X12SyntaxError) as info:
        list(read_segments(bad.encode()))
    assert info.value.segment_number == 6
    assert info.value.offset == bad.index("S@C")


def test_missing_file_is_a_reader_error(tmp_path: pytest.TempPathFactory) -> None:
    with pytest.raises(X12SyntaxError, match="cannot open"):
        list(read_segments(tmp_path / "nope.835"))  # type: ignore[operator]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_only_ever_raise_the_reader_error(data: bytes) -> None:
    with contextlib.suppress(X12SyntaxError):
        list(read_segments(data))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutations_of_a_valid_file_only_ever_raise_the_reader_error(data: st.DataObject) -> None:
    raw = bytearray(SAMPLE.encode())
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    with contextlib.suppress(X12SyntaxError):
        list(read_segments(bytes(raw)))


element_text = st.text(
    alphabet=st.characters(codec="latin-1", exclude_characters="*^:~\r\n\t \x0b\x0c"),
    min_size=0,
    max_size=8,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(element_text, min_size=1, max_size=6), min_size=1, max_size=20))
def test_segments_round_trip_through_the_reader(bodies: list[list[str]]) -> None:
    body = "".join("REF*" + "*".join(els) + "~" for els in bodies)
    text = (
        ISA + "GS*HP*A*B*20250115*1230*1*X*005010X221A1~ST*835*0001~"
        + body + "SE*1*0001~GE*1*1~IEA*1*000000101~"
    )  # fmt: skip
    segs = [s for s in read_segments(text.encode("utf-8")) if s.id == "REF"]
    assert [s.elements[1:] for s in segs] == bodies


def _corpus_params() -> list[str]:
    return [r["file"] for r in corpus_rows()]


@pytest.mark.parametrize("name", _corpus_params())
def test_corpus_files_read_or_fail_with_one_line(name: str) -> None:
    try:
        count = sum(1 for _ in read_segments(CORPUS / name))
    except X12SyntaxError as exc:
        assert "\n" not in str(exc) and str(CORPUS / name) in str(exc)
        negative = {r["file"]: r for r in corpus_rows()}[name]["known_defective_or_negative"]
        assert negative, f"valid corpus file refused: {exc}"
    else:
        assert count > 0


def test_4010_interchange_has_no_repetition_separator() -> None:
    old = SAMPLE.replace("*^*00501*", "*U*00401*")
    eb = next(s for s in read_segments(old.encode()) if s.id == "EB")
    assert eb.envelope.delimiters.repetition == ""
    assert eb.repeats(3) == ["30^1^33"]
