"""ISA13 / GS06 / ST02 from the ledger: unique, never reused, across processes and reopenings."""

from __future__ import annotations

import io
import multiprocessing

import pytest

from pipeline.errors import LedgerError
from pipeline.ledger import Ledger, LedgerControlNumbers
from pipeline.ledger.control import MAXIMUM
from pipeline.x12.reader import read_segments
from pipeline.x12.writer import ControlNumbers, X12Writer


def test_implements_the_writer_protocol_and_numbers_the_envelope(ledger: Ledger) -> None:
    numbers: ControlNumbers = ledger.control_numbers
    out = io.StringIO()
    writer = X12Writer(out, control_numbers=numbers)
    for _ in range(2):
        with writer.interchange(sender=("ZZ", "P"), receiver=("ZZ", "CH")) as isa:
            with isa.group("HC", "P", "CH", "005010X222A1") as gs:
                for _ in range(2):
                    with gs.transaction("837") as st:
                        st.segment("BHT", "0019", "00", "B1", "20260116", "0200", "CH")
    seen = {
        (s.envelope.interchange_control_number, s.envelope.group_control_number, s[2])
        for s in read_segments(out.getvalue().encode())
        if s.id == "ST"
    }
    assert seen == {
        ("000000001", "1", "0001"),
        ("000000001", "1", "0002"),
        ("000000002", "2", "0003"),
        ("000000002", "2", "0004"),
    }


def test_numbers_survive_reopening(ledger_url: str) -> None:
    with Ledger(ledger_url) as first:
        issued = [first.control_numbers.next_group() for _ in range(3)]
    with Ledger(ledger_url) as second:
        assert second.control_numbers.next_group() == issued[-1] + 1
        assert second.control_numbers.last_issued()["group"] == 4


def test_floor_and_exhaustion(ledger: Ledger) -> None:
    numbers = ledger.control_numbers
    numbers.raise_floor(interchange=500)
    numbers.raise_floor(interchange=10)  # never lowers
    assert numbers.next_interchange() == 501
    numbers.raise_floor(transaction=MAXIMUM - 1)
    assert numbers.next_transaction() == MAXIMUM
    with pytest.raises(LedgerError, match="transaction control numbers exhausted"):
        numbers.next_transaction()
    assert numbers.last_issued()["transaction"] == MAXIMUM


def _issue(url: str, count: int, queue: multiprocessing.Queue[list[int]]) -> None:
    ledger = Ledger(url)
    queue.put([ledger.control_numbers.next_interchange() for _ in range(count)])
    ledger.close()


def test_concurrent_processes_never_share_a_number(ledger_url: str) -> None:
    Ledger(ledger_url).close()  # migrated once; the workers only issue numbers
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[list[int]] = context.Queue()
    workers = [context.Process(target=_issue, args=(ledger_url, 40, queue)) for _ in range(3)]
    for w in workers:
        w.start()
    issued = [n for _ in workers for n in queue.get(timeout=120)]
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    assert sorted(issued) == list(range(1, 121))
    with Ledger(ledger_url) as ledger:
        assert isinstance(ledger.control_numbers, LedgerControlNumbers)
        assert ledger.control_numbers.next_interchange() == 121
