"""999, 271 and 277CA stream like the 835: records come out while the file is read, and the
parser's memory does not grow with the file (a 150 MB 999 once peaked at 4.5 GB)."""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path

import pytest

from pipeline.parse import AckTransaction, iter_records, parse_file
from pipeline.parse import common as parse_common
from tests.parse.big_files import repeat_sets, write_999

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_edi" / "x12"


def test_999_group_rows_spill_and_come_back_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parse_common, "SPOOL_ROWS", 50)
    path = write_999(tmp_path / "acks.999", 1_001)
    rows = [r for r in iter_records(path) if isinstance(r, AckTransaction)]
    assert len(rows) == 1_001
    assert [r.transaction_control_number for r in rows] == [f"{i:09d}" for i in range(1, 1002)]
    assert {r.group_status for r in rows} == {"partially_accepted"}  # the AK9, known last
    rejected = [r for r in rows if r.status == "rejected"]
    assert len(rejected) == 501 and rejected[-1].patient_control_number == "PCN00001001"
    assert rejected[0].error_element == "NM103" and rejected[0].bad_value == "X"
    # the in-memory tables agree with the spooled stream
    table = parse_file(path).tables["ack_transactions"]
    assert len(table) == 1_001 and set(table["group_status"]) == {"partially_accepted"}


def _peak_bytes(path: Path) -> int:
    tracemalloc.start()
    try:
        count = sum(1 for _ in iter_records(path))
        assert count > 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_999_parse_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    small = write_999(tmp_path / "small.999", 6_000)
    large = write_999(tmp_path / "large.999", 24_000)  # 4x the sets, all in one AK1 group
    peak_small, peak_large = _peak_bytes(small), _peak_bytes(large)
    # held in memory, the rows of the large group would take about 4x
    assert peak_large < 1.5 * peak_small, (peak_small, peak_large)


class _CountingStream(io.BytesIO):
    """A stream that remembers how far it was read."""

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.high = self.tell()
        return data


@pytest.mark.parametrize(
    ("sample", "kind"), [("claim_ack.277", "ClaimAck"), ("eligibility.271", "Eligibility")]
)
def test_271_and_277ca_yield_records_before_the_file_is_read(sample: str, kind: str) -> None:
    data = repeat_sets(SAMPLES / sample, 2_000)
    assert len(data) > 2_000_000
    stream = _CountingStream(data)
    records = iter_records(stream, name=sample)
    first = next(r for r in records if type(r).__name__.startswith(kind))
    assert first is not None
    assert stream.high < 64 * 1024, stream.high  # the first records come from the first chunks
    assert sum(1 for _ in records) > 2_000
