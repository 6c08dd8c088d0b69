"""The simulator's control numbers: the same sequence batched or not, written before delivery."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.x12.control import FileControlNumbers


def _take(numbers: FileControlNumbers) -> list[int]:
    return [
        numbers.next_interchange(),
        numbers.next_group(),
        *(numbers.next_transaction() for _ in range(5)),
        numbers.next_interchange(),
    ]


def test_batched_numbers_are_the_file_counters_numbers(tmp_path: Path) -> None:
    plain = FileControlNumbers(tmp_path / "plain.json")
    batched = FileControlNumbers(tmp_path / "batched.json")
    assert _take(batched) == _take(plain)  # outside a batch: through the file
    with batched.batch():
        inside = _take(batched)
        with batched.batch():  # nested: still one batch
            inside += _take(batched)
        # nothing written yet: the file still has the numbers before the batch
        assert json.loads((tmp_path / "batched.json").read_text())["transaction"] == 5
    assert inside == _take(plain) + _take(plain)
    assert (tmp_path / "batched.json").read_text() == (tmp_path / "plain.json").read_text()
    assert _take(batched) == _take(plain)  # after the batch: on from where it ended


def test_checkpoint_writes_the_numbers_taken(tmp_path: Path) -> None:
    batched = FileControlNumbers(tmp_path / "n.json")
    with batched.batch():
        batched.next_interchange()
        batched.next_transaction()
        batched.checkpoint()
        stored = json.loads((tmp_path / "n.json").read_text())
        assert stored == {"interchange": 1, "group": 0, "transaction": 1}
        # a number on a file delivered after the checkpoint is never issued again
        assert FileControlNumbers(tmp_path / "n.json").next_interchange() == 2
        assert batched.next_interchange() == 2  # (one simulator owns the file)
    assert json.loads((tmp_path / "n.json").read_text())["interchange"] == 2


def test_corrupt_counter_file_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "n.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="corrupt"):
        with FileControlNumbers(tmp_path / "n.json").batch():
            pass
