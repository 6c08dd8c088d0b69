"""The 837P is built straight into its draft file: what is staged, kept and sent is that file,
and a build that fails leaves nothing behind in the outbox folders."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from pipeline import steps
from pipeline.build.codes import CodeSets
from pipeline.ledger import ClaimState, FileState, Ledger
from pipeline.practice import Practice
from pipeline.transport import open_transport
from tests.flows.conftest import ON, World


def _files(world: World) -> list[str]:
    ws = world.workspace
    return sorted(
        str(p.relative_to(ws.base))
        for folder in (ws.outgoing_dir, ws.sent_dir, ws.quarantine_dir)
        if folder.exists()
        for p in folder.iterdir()
    )


def _stage(ledger: Ledger, world: World, practice: Practice, codes: CodeSets) -> Any:
    return steps.stage_claims(ledger, practice, world.workspace, world.profile, on=ON, codes=codes)


def test_the_file_staged_is_the_file_built_kept_and_uploaded(
    world: World, practice: Practice, codes: CodeSets
) -> None:
    with world.ledger() as ledger:
        summary = _stage(ledger, world, practice, codes)
        assert summary.file and summary.count > 0
        (pending,) = ledger.pending_uploads()
        (head,) = ledger.staged_files()
        kept = world.workspace.sent_dir / summary.file
        assert pending.content == kept.read_bytes() == ledger.outbox_content(head.file_id)
        assert (head.file_id, head.name) == (pending.file_id, pending.name)
        assert pending.name == summary.file
        assert head.sha256 == pending.sha256 == hashlib.sha256(pending.content).hexdigest()
        submitted = {c.patient_control_number for c in ledger.claims_by_state(ClaimState.SUBMITTED)}
    # only the kept copy is left: no draft, no half-built part in the outgoing folder
    assert _files(world) == [f"edi/sent/{summary.file}"]
    text = kept.read_text("ascii")
    element, terminator = text[3], text[105]
    segments = [s.strip().split(element) for s in text.split(terminator)]
    pcns = [s[1] for s in segments if s[0] == "CLM"]
    assert set(pcns) == submitted and len(pcns) == len(submitted) == summary.count

    # the uploader sends the kept copy as it is; the ledger's bytes are not needed for it
    with open_transport(world.profile) as transport, world.ledger() as ledger:
        upload = steps.upload_pending(ledger, transport, world.workspace)
        assert upload.uploaded == [summary.file] and ledger.staged_files() == []
    world.clearinghouse.wait_idle()
    assert world.remote("outbound") == [summary.file]
    assert (world.sftp / "outbound" / summary.file).read_bytes() == pending.content


def test_a_kept_copy_that_is_not_the_file_staged_is_written_again_from_the_ledger(
    world: World, practice: Practice, codes: CodeSets
) -> None:
    with world.ledger() as ledger:
        summary = _stage(ledger, world, practice, codes)
        assert summary.file
        (pending,) = ledger.pending_uploads()
    kept = world.workspace.sent_dir / summary.file
    kept.write_bytes(pending.content[:-10])  # cut short (a disk, a hand)
    with open_transport(world.profile) as transport, world.ledger() as ledger:
        steps.upload_pending(ledger, transport, world.workspace)
    world.clearinghouse.wait_idle()
    assert kept.read_bytes() == pending.content
    assert (world.sftp / "outbound" / summary.file).read_bytes() == pending.content


def test_a_build_that_fails_half_way_leaves_no_file_and_stages_nothing(
    world: World, practice: Practice, codes: CodeSets
) -> None:
    # ISA, GS, ST, BHT and NM1*41 are written before the submitter's PER phone, which ASCII
    # cannot carry (no scrubber rule looks at it)
    bp = practice.billing_provider.model_copy(update={"phone": "555０123456"})
    broken = practice.model_copy(update={"billing_provider": bp})
    with world.ledger() as ledger:
        with pytest.raises(UnicodeEncodeError):
            _stage(ledger, world, broken, codes)
        assert ledger.pending_uploads() == []
        assert ledger.files_by_state(*FileState) == []
    assert _files(world) == []


def test_a_draft_left_by_a_killed_run_is_removed_and_a_running_one_s_is_kept(
    world: World, practice: Practice, codes: CodeSets
) -> None:
    import os
    import subprocess
    import sys

    folder = world.workspace.outgoing_dir
    folder.mkdir(parents=True, exist_ok=True)
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()  # a pid that ended
    stale = folder / f".837-{gone}-0123456789ab.part"
    running = folder / f".837-{os.getpid()}-ba9876543210.part"  # this process: still alive
    stale.write_text("ISA*", encoding="ascii")
    running.write_text("ISA*", encoding="ascii")
    with world.ledger() as ledger:
        _stage(ledger, world, practice, codes)
    assert not stale.exists() and running.exists()
    assert sorted(p.name for p in folder.glob("*.part")) == [running.name]
