"""The 835 hot path: batch reading, row-built claims, and the record/table views agreeing.

``read_batches`` must be ``read_segments`` in other clothes (same segments, numbers,
offsets, envelopes and errors); the 835 parser builds rows for the tables and records
for ``iter_835`` from the same state, so both views must say the same thing.
"""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.errors import X12SyntaxError
from pipeline.parse import COLUMNS, iter_835, parse_file, stream_tables
from pipeline.parse.t835 import ROW_COLUMNS
from pipeline.parse.tables import KIND_TABLES, TableBuilder, TableWriter
from pipeline.x12.reader import SegmentBatch, read_batches, read_segments
from pipeline.x12.segments import Delimiters
from tests.conftest import CORPUS
from tests.parse.x12build import Claim, Counter, Line, Payment, build_835

SAMPLES = Path(__file__).resolve().parents[2] / "sample_edi" / "x12"
Flat = list[tuple[object, ...]]


def _via_segments(data: bytes, chunk_size: int) -> Flat:
    flat: Flat = []
    try:
        for seg in read_segments(data, name="f", chunk_size=chunk_size):
            flat.append((seg.elements, seg.number, seg.offset, seg.envelope))
    except X12SyntaxError as exc:
        flat.append(("error", str(exc)))
    return flat


def _via_batches(data: bytes, chunk_size: int) -> Flat:
    flat: Flat = []
    try:
        for item in read_batches(data, name="f", chunk_size=chunk_size):
            segs = item.segments() if isinstance(item, SegmentBatch) else [item]
            for seg in segs:
                flat.append((seg.elements, seg.number, seg.offset, seg.envelope))
    except X12SyntaxError as exc:
        flat.append(("error", str(exc)))
    return flat


def _files() -> list[Path]:
    found = sorted(SAMPLES.iterdir())
    if CORPUS.is_dir():
        found += sorted(p for p in CORPUS.glob("*/*") if p.suffix not in (".tsv", ".md"))
    return [p for p in found if p.is_file() and p.name != "LICENSES"]


@pytest.mark.parametrize("path", _files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_batches_are_the_segments_of_read_segments(path: Path) -> None:
    data = path.read_bytes()
    for chunk_size in (1 << 20, 1 << 13, 7, 300):
        assert _via_batches(data, chunk_size) == _via_segments(data, chunk_size)


def _remit(claims: int = 40) -> bytes:
    return build_835([Payment(D("0"), "T1", [_claim(n) for n in range(claims)])]).encode()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_files_give_the_same_segments_and_error(data: st.DataObject) -> None:
    body = bytearray(_remit())
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(body) - 1))
        what = data.draw(st.sampled_from(["replace", "delete", "insert"]))
        byte = data.draw(st.sampled_from(list(b"*~:^\n\r 0AZ\xe9\x00")))
        if what == "replace":
            body[at] = byte
        elif what == "delete":
            del body[at : at + data.draw(st.integers(1, 40))]
        else:
            body.insert(at, byte)
    chunk_size = data.draw(st.sampled_from([1 << 20, 5, 64, 333]))
    assert _via_batches(bytes(body), chunk_size) == _via_segments(bytes(body), chunk_size)


def test_a_batch_read_before_an_error_comes_before_it() -> None:
    good = _remit(5).decode()
    broken = good.replace("CLP*PCN3*", "clp*PCN3*", 1)
    items = []
    with pytest.raises(X12SyntaxError, match="invalid segment id 'clp'"):
        for item in read_batches(broken.encode(), chunk_size=1 << 20):
            items.append(item)
    # Everything up to the bad segment was handed out, as read_segments would have.
    before = _via_segments(broken.encode(), 1 << 20)[:-1]
    assert isinstance(items[-1], SegmentBatch)
    assert items[-1].elements[-1] == before[-1][0] == ["AMT", "B6", "150"]
    count = sum(len(i.elements) if isinstance(i, SegmentBatch) else 1 for i in items)
    assert count == len(before)


def test_row_layouts_are_the_table_columns() -> None:
    for table, columns in ROW_COLUMNS.items():
        assert list(columns) == COLUMNS[table]


def _claim(n: int, status: str = "1", pcn: str | None = None) -> Claim:
    """Claims that balance, lines with every optional part, now and then a bad one."""
    sign = -1 if status == "22" else 1
    line = Line(
        "99214",
        D("200") * sign,
        D("105") * sign,
        [("CO", "45", D("50") * sign), ("PR", "2", D("45") * sign)],
        modifiers=("25", "59") if n % 2 else (),
        units=D("2") if n % 3 == 0 else None,
        original_code="99215" if n % 4 == 0 else "",
        control=f"L{n}",
        allowed=D("150") * sign,
        remarks=("N381",) if n % 5 == 0 else (),
        quantity=D("1") if n % 6 == 0 else None,
    )
    paid = D("105") * sign + (D("1") if n % 7 == 3 else 0)  # every 7th claim is off by 1
    return Claim(
        pcn or f"PCN{n}",
        status,
        D("200") * sign,
        paid,
        D("45") * sign,
        icn=f"ICN{n}",
        lines=[line] if n % 9 else [],
        adjustments=[] if n % 9 else [("CO", "45", D("95") * sign)],
        statement=("20250105", "20250106") if n % 2 else None,
        remarks=("MA01",) if n % 8 == 0 else (),
    )


def _reversals_file(tmp_path: Path, delimiters: Delimiters | None) -> Path:
    claims = [_claim(n) for n in range(12)]
    claims += [_claim(3, "22", "PCN3"), _claim(30, "1", "PCN3"), _claim(4, "22", "PCN4")]
    claims += [_claim(n) for n in range(40, 45)]
    payments = [
        Payment(
            D("1000.00"), "T1", claims, plb=[("L6", "", "", D("-2.50")), ("WO", "R1", "", D("10"))]
        ),
        Payment(D("525"), "T2", [_claim(n) for n in range(50, 55)]),
    ]
    path = tmp_path / "mixed.835"
    path.write_text(build_835(payments, delimiters=delimiters, control=Counter(3)), "ascii")
    return path


@pytest.mark.parametrize(
    "delimiters", [None, Delimiters("|", "!", ">", "\n"), Delimiters("+", "`", "<", "'")]
)
def test_records_and_tables_say_the_same(tmp_path: Path, delimiters: Delimiters | None) -> None:
    path = _reversals_file(tmp_path, delimiters)
    from_records = TableBuilder()
    from_records.add_all(iter_835(path))
    tables = parse_file(path).tables
    assert len(tables["problems"]) > 0  # the unbalanced claims and payments
    reversals = tables["remit_claims"][tables["remit_claims"]["claim_status_code"] == "22"]
    assert reversals["corrected_by_claim_key"].tolist()[0].endswith(":14")
    assert reversals["reversal_of_claim_key"].tolist()[0].endswith(":4")
    for table in (*KIND_TABLES["835"], "problems"):
        rows = [tuple(r) for r in tables[table].astype(object).itertuples(index=False)]
        expected = [tuple(r) for r in from_records.take(table)]
        assert _cells(rows) == _cells(expected), table


def _cells(rows: list[tuple[object, ...]]) -> list[tuple[str, ...]]:
    # Exact Decimals (repr keeps the exponent); pandas' missing integers are None.
    return [tuple("None" if v is None or v is pd.NA else repr(v) for v in row) for row in rows]


def test_streamed_chunks_are_the_in_memory_tables(tmp_path: Path) -> None:
    path = _reversals_file(tmp_path, None)
    writer = TableWriter(tmp_path / "csv", "csv")
    stream_tables(path, writer, chunk_claims=1)
    writer.close((*KIND_TABLES["835"], "problems"))
    tables = parse_file(path).tables
    for table in (*KIND_TABLES["835"], "problems"):
        expected = tmp_path / "expected.csv"
        tables[table].to_csv(expected, index=False)
        assert (tmp_path / "csv" / f"{table}.csv").read_text() == expected.read_text(), table
