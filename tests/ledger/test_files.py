"""File registry: content-addressed, duplicates recorded and never processed twice."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from pipeline.errors import DuplicateFileError, IllegalTransition
from pipeline.ledger import Controls, Direction, FileState, Ledger

from .conftest import build_837, draft


def _x12(tmp_path: Path, ledger: Ledger, name: str) -> Path:
    claim = ledger.record_claim(draft("SNIFF1"))
    data, _ = build_837(ledger.control_numbers, [claim])
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_register_records_hash_size_names_and_envelope(ledger: Ledger, tmp_path: Path) -> None:
    path = _x12(tmp_path, ledger, "local-1.x12")
    record = ledger.register_received(path, "ACK_0001.x12")
    data = path.read_bytes()
    assert record.sha256 == hashlib.sha256(data).hexdigest()
    assert record.size == len(data)
    assert (record.direction, record.state) == (Direction.RECEIVED, FileState.RECEIVED)
    assert record.names == ("ACK_0001.x12",)
    assert record.local_path == str(path)
    assert record.transaction_type == "837"
    assert record.controls == (Controls("000000001", "1", "0001", "837"),)
    assert record.isa13 == "000000001"
    assert not record.is_duplicate
    assert record.created_at.utcoffset() is not None


def test_same_bytes_under_another_name_is_a_duplicate(ledger: Ledger, tmp_path: Path) -> None:
    first = tmp_path / "a"
    again = tmp_path / "b"
    first.write_bytes(b"not x12 at all\n")
    again.write_bytes(b"not x12 at all\n")
    original = ledger.register_received(first, "ERA_1.835")
    ledger.mark_parsed(original.id)
    duplicate = ledger.register_received(again, "ERA_1_resent.835")
    assert duplicate.is_duplicate
    assert duplicate.id == original.id
    assert duplicate.state == FileState.PARSED  # how far the first copy got
    assert duplicate.names == ("ERA_1.835", "ERA_1_resent.835")
    # The same name again adds no name, but is still reported.
    assert ledger.register_received(first, "ERA_1.835").is_duplicate
    assert ledger.file(original.id).names == ("ERA_1.835", "ERA_1_resent.835")
    assert len(ledger.files_by_state(*FileState)) == 1


def test_strict_registration_raises_on_duplicate(ledger: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"same")
    ledger.register_received(path, "one")
    with pytest.raises(DuplicateFileError, match="two: same bytes as ledger file"):
        ledger.register_received(path, "two", strict=True)
    assert ledger.file_by_sha256(hashlib.sha256(b"same").hexdigest()) is not None


def test_unreadable_file_registers_without_controls(ledger: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "cut.x12"
    path.write_bytes(b"ISA*00*   ")
    record = ledger.register_received(path, "cut.x12")
    assert record.controls == ()
    assert record.transaction_type is None


def test_states_received_parsed_posted_and_reruns(ledger: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x")
    record = ledger.register_received(path, "f")
    parsed = ledger.mark_parsed(
        record.id, transaction_type="835", controls=[Controls("12", "7", "0001", "835")]
    )
    assert parsed.state == FileState.PARSED
    assert parsed.controls == (Controls("000000012", "7", "0001", "835"),)
    assert ledger.mark_parsed(record.id).state == FileState.PARSED  # rerun: no-op
    assert ledger.mark_posted(record.id).state == FileState.POSTED
    assert [f.id for f in ledger.files_by_state(FileState.POSTED)] == [record.id]
    with pytest.raises(IllegalTransition, match=f"file {record.id}: posted -> received"):
        ledger.release(record.id, "again")


def test_quarantine_keeps_reason_and_release_requeues(ledger: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "bad"
    path.write_bytes(b"garbage")
    record = ledger.register_received(path, "bad.835")
    reason = "bad.835: segment 12 (byte 340): CLP04 does not balance"
    held = ledger.quarantine(record.id, reason)
    assert (held.state, held.quarantine_reason) == (FileState.QUARANTINED, reason)
    assert ledger.files_by_state(FileState.RECEIVED, direction=Direction.RECEIVED) == []
    with pytest.raises(IllegalTransition):
        ledger.mark_posted(record.id)
    assert ledger.release(record.id, "parser fixed").state == FileState.RECEIVED


def test_concurrent_registration_of_the_same_bytes(ledger_url: str, tmp_path: Path) -> None:
    path = tmp_path / "same"
    path.write_bytes(b"delivered twice at once")
    ledgers = [Ledger(ledger_url) for _ in range(4)]
    results: list[bool] = []
    barrier = threading.Barrier(len(ledgers))

    def register(ledger: Ledger, n: int) -> None:
        barrier.wait()
        results.append(ledger.register_received(path, f"copy-{n}").is_duplicate)

    threads = [threading.Thread(target=register, args=(lg, n)) for n, lg in enumerate(ledgers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, True, True, True]
    assert len(ledgers[0].files_by_state(FileState.RECEIVED)) == 1
    assert len(ledgers[0].files_by_state(FileState.RECEIVED)[0].names) == 4
    for lg in ledgers:
        lg.close()
