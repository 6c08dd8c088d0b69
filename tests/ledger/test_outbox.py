"""Outbox: file + submitted state commit together; a crash anywhere is retried, never doubled."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from pipeline.errors import IllegalTransition, LedgerError
from pipeline.ledger import ClaimState, Controls, EligibilityRequest, FileState, Ledger
from pipeline.x12.reader import read_segments

from .conftest import build_837, draft

S = ClaimState


class Crash(Exception):
    """Stands for the process dying at this point (its transaction is rolled back)."""


class Remote:
    """The clearinghouse inbox, uploaded to like the transport does it: a temporary name,
    then rename; an existing final name with the same bytes means "already delivered"."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def upload(self, name: str, content: bytes, crash: Callable[[str], None]) -> None:
        final = self.root / name
        if final.exists():
            assert final.read_bytes() == content, "same remote name, different bytes"
            return
        part = self.root / f".{name}.part"
        part.write_bytes(content[: len(content) // 2])
        crash("mid_upload")
        part.write_bytes(content)
        os.replace(part, final)

    def files(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir())


def submit_run(ledger: Ledger, remote: Remote, crash: Callable[[str], None]) -> None:
    """What the claims flow does each night: finish pending uploads, then send ready claims."""
    for pending in ledger.pending_uploads():
        remote.upload(pending.name, pending.content, crash)
        crash("after_rename")
        ledger.mark_uploaded(pending.file_id, pending.name)
    ready = ledger.claims_by_state(S.READY)
    if not ready:
        return
    data, controls = build_837(ledger.control_numbers, ready)
    name = f"837_{controls.isa13}.x12"
    crash("before_stage")
    record = ledger.stage_submission(data, name, [c.id for c in ready], [controls])
    crash("after_stage")
    remote.upload(name, data, crash)
    crash("after_rename")
    ledger.mark_uploaded(record.id, name)
    crash("after_mark")


def no_crash(_point: str) -> None:
    return None


@contextmanager
def crash_at_statement(ledger: Ledger, number: int | None) -> Iterator[list[str]]:
    """Raise ``Crash`` before the ``number``-th SQL statement (counts them when None)."""
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE")):
            return
        seen.append(statement)
        if number is not None and len(seen) == number:
            raise Crash(f"statement {number}")

    event.listen(ledger.engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(ledger.engine, "before_cursor_execute", before)


def _crashed(exc: BaseException) -> bool:
    while exc is not None:
        if isinstance(exc, Crash):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


def assert_sent_exactly_once(ledger: Ledger, remote: Remote, pcns: list[str]) -> None:
    assert ledger.pending_uploads() == []
    assert ledger.files_by_state(FileState.STAGED) == []
    (name,) = remote.files()  # one file, no leftover temporary
    sent = [s[1] for s in read_segments((remote.root / name).read_bytes()) if s.id == "CLM"]
    assert sorted(sent) == sorted(pcns)
    (uploaded,) = [f for f in ledger.files_by_state(FileState.UPLOADED) if name in f.names]
    for pcn in pcns:
        claim = ledger.claim(pcn)
        assert claim is not None and claim.state == S.SUBMITTED
        assert [t.to_state for t in ledger.transitions(claim.id)].count(S.SUBMITTED) == 1
        (submission,) = ledger.submissions(claim.id)
        assert submission.file_id == uploaded.id
        assert submission.uploaded_at is not None and submission.remote_name == name


def _fresh_claims(ledger: Ledger, tag: str) -> list[str]:
    pcns = [f"{tag}X{n}" for n in range(3)]
    for pcn in pcns:
        ledger.record_claim(draft(pcn))
    return pcns


POINTS = ["before_stage", "after_stage", "mid_upload", "after_rename", "after_mark"]


@pytest.mark.parametrize("point", POINTS)
def test_crash_between_steps_is_retried_never_doubled(
    ledger_url: str, tmp_path: Path, point: str
) -> None:
    ledger = Ledger(ledger_url)
    pcns = _fresh_claims(ledger, point.replace("_", "")[:6].upper())
    remote = Remote(tmp_path / "inbox")

    def crash(at: str) -> None:
        if at == point:
            raise Crash(at)

    with pytest.raises(Crash):
        submit_run(ledger, remote, crash)
    ledger.close()
    for _rerun in range(2):  # the next night, and an ops engineer rerunning it by hand
        with Ledger(ledger_url) as reopened:
            submit_run(reopened, remote, no_crash)
    with Ledger(ledger_url) as reopened:
        assert_sent_exactly_once(reopened, remote, pcns)


def test_crash_at_every_statement_is_retried_never_doubled(ledger_url: str, tmp_path: Path) -> None:
    probe = Ledger(ledger_url)
    _fresh_claims(probe, "PROBE")
    with crash_at_statement(probe, None) as statements:
        submit_run(probe, Remote(tmp_path / "probe"), no_crash)
    probe.close()
    total = len(statements)
    assert total > 10
    for number in range(1, total + 1):
        ledger = Ledger(ledger_url)
        pcns = _fresh_claims(ledger, f"S{number}")
        remote = Remote(tmp_path / f"inbox{number}")
        with crash_at_statement(ledger, number), pytest.raises(Exception) as info:
            submit_run(ledger, remote, no_crash)
        assert _crashed(info.value)
        ledger.close()
        with Ledger(ledger_url) as reopened:
            submit_run(reopened, remote, no_crash)
            assert_sent_exactly_once(reopened, remote, pcns)


KILL_SCRIPT = """
import os, sys
from sqlalchemy import event
from pipeline.ledger import Controls, Ledger
ledger = Ledger(sys.argv[1])
claim = ledger.claim("KILL1")
def die(_c, _cur, statement, *_a):
    if statement.lstrip().upper().startswith("INSERT INTO CLAIM_SUBMISSIONS"):
        os._exit(17)  # no rollback, no cleanup: the transaction is left open mid-way
event.listen(ledger.engine, "before_cursor_execute", die)
ledger.stage_submission(b"ISA*KILL", "kill.x12", [claim.id], [Controls("9", "9", "0001")])
"""


def test_killed_process_mid_transaction_leaves_nothing_half_done(ledger_url: str) -> None:
    with Ledger(ledger_url) as ledger:
        claim = ledger.record_claim(draft("KILL1"))
    done = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, ledger_url], capture_output=True, timeout=120
    )
    assert done.returncode == 17, done.stderr.decode()[-500:]
    with Ledger(ledger_url) as ledger:
        assert ledger.pending_uploads() == []
        assert ledger.claim_by_id(claim.id).state == S.READY
        assert ledger.submissions(claim.id) == []
        staged = ledger.stage_submission(
            b"ISA*KILL", "kill.x12", [claim.id], [Controls("9", "9", "0001")]
        )
        assert [p.file_id for p in ledger.pending_uploads()] == [staged.id]


def test_stage_commits_file_claims_and_controls_together(ledger: Ledger) -> None:
    claims = [ledger.record_claim(draft(f"ST{n}")) for n in range(2)]
    data, controls = build_837(ledger.control_numbers, claims)
    record = ledger.stage_submission(data, "out.x12", [c.id for c in claims], [controls])
    assert record.state == FileState.STAGED and record.names == ("out.x12",)
    assert record.controls == (controls,)
    (pending,) = ledger.pending_uploads()
    assert (pending.file_id, pending.name, pending.content) == (record.id, "out.x12", data)
    for claim in claims:
        (sub,) = ledger.submissions(claim.id)
        assert sub.controls == Controls(controls.isa13, controls.gs06, controls.st02, "837")
        assert sub.uploaded_at is None
        assert ledger.transitions(claim.id)[-1].file_id == record.id
    assert [c.id for c in ledger.claims_in_submission(controls.isa13.lstrip("0"))] == [
        c.id for c in claims
    ]
    assert len(ledger.claims_in_submission(controls.isa13, "0" + controls.gs06, "0001")) == 2
    assert ledger.claims_in_submission(controls.isa13, controls.gs06, "0002") == []
    uploaded = ledger.mark_uploaded(record.id, "out.x12")
    assert uploaded.state == FileState.UPLOADED
    assert ledger.mark_uploaded(record.id, "other").state == FileState.UPLOADED  # no-op
    assert ledger.submissions(claims[0].id)[0].remote_name == "out.x12"


def test_staging_twice_never_doubles(ledger: Ledger) -> None:
    claim = ledger.record_claim(draft("TWICE"))
    data, controls = build_837(ledger.control_numbers, [claim])
    first = ledger.stage_submission(data, "a.x12", [claim.id], [controls])
    again = ledger.stage_submission(data, "a.x12", [claim.id], [controls])
    assert again.is_duplicate and again.id == first.id
    other, other_controls = build_837(ledger.control_numbers, [claim])
    with pytest.raises(IllegalTransition, match="submitted -> submitted"):
        ledger.stage_submission(other, "b.x12", [claim.id], [other_controls])
    assert [p.file_id for p in ledger.pending_uploads()] == [first.id]
    assert len(ledger.submissions(claim.id)) == 1


def test_a_remote_name_is_never_reused_for_other_bytes(ledger: Ledger) -> None:
    ledger.stage_submission(b"first", "same.x12", [], [])
    with pytest.raises(LedgerError, match=r"same\.x12: outbound name already used"):
        ledger.stage_submission(b"second", "same.x12", [], [])


def test_claims_in_several_transaction_sets(ledger: Ledger) -> None:
    a, b = (ledger.record_claim(draft(p)) for p in ("MS1", "MS2"))
    sets = [Controls("77", "5", "0001", "837"), Controls("77", "5", "0002", "837")]
    with pytest.raises(LedgerError, match="map each claim"):
        ledger.stage_submission(b"x", "ms.x12", [a.id, b.id], sets)
    ledger.stage_submission(b"x", "ms.x12", {a.id: sets[0], b.id: sets[1]}, sets)
    assert [c.id for c in ledger.claims_in_submission("77", "5", "0002")] == [b.id]


def test_two_workers_staging_the_same_claims(ledger_url: str) -> None:
    with Ledger(ledger_url) as setup:
        claim_ids = [setup.record_claim(draft(f"W{n}")).id for n in range(3)]
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def worker(n: int) -> None:
        with Ledger(ledger_url) as ledger:
            barrier.wait()
            try:
                ledger.stage_submission(
                    f"file {n}".encode(), f"w{n}.x12", claim_ids, [Controls(str(n), "1", "1")]
                )
                outcomes.append("staged")
            except IllegalTransition:
                outcomes.append("refused")

    threads = [threading.Thread(target=worker, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused", "staged"]
    with Ledger(ledger_url) as ledger:
        assert len(ledger.pending_uploads()) == 1
        assert all(len(ledger.submissions(cid)) == 1 for cid in claim_ids)


def test_270_and_its_inquiries_are_staged_together(ledger: Ledger) -> None:
    requests = [
        EligibilityRequest("TRC1", "CTS02", member_id="M1", patient_id="P1", service_types=("30",)),
        EligibilityRequest("TRC2", "FAB03", member_id="M2", patient_id="P2"),
    ]
    record = ledger.stage_submission(
        b"ISA*270", "270.x12", [], [Controls("5", "5", "0001", "270")],
        transaction_type="270", eligibility=requests,
    )  # fmt: skip
    check = ledger.eligibility("TRC1")
    assert check is not None
    assert (check.request_file_id, check.service_types, check.member_id) == (
        record.id,
        ("30",),
        "M1",
    )
    assert [c.trace_number for c in ledger.eligibility_checks(awaiting_response=True)] == [
        "TRC1",
        "TRC2",
    ]


def test_last_submitted_and_files_without_controls_agree_with_the_full_reads(
    ledger: Ledger,
) -> None:
    first, second, unsent = (ledger.record_claim(draft(p)) for p in ("LS1", "LS2", "LS3"))
    for n, claim in enumerate((first, second)):
        data, controls = build_837(ledger.control_numbers, [claim])
        ledger.stage_submission(data, f"ls{n}.x12", [claim.id], [controls])
    last = ledger.last_submitted()
    assert set(last) == {first.id, second.id} and unsent.id not in last  # never sent: no date
    for claim in (first, second):
        assert last[claim.id] == max(s.submitted_at for s in ledger.submissions(claim.id))
    full = ledger.files_by_state(FileState.STAGED)
    lean = ledger.files_by_state(FileState.STAGED, with_controls=False)
    assert [f.controls for f in full] != [()] * 2 and [f.controls for f in lean] == [(), ()]
    assert [replace(f, controls=()) for f in full] == lean
