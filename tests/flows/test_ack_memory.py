"""A large 999 moves its claims through ``process_acknowledgments`` without whole tables."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from pipeline.ledger import ClaimState, Controls, FileState, Ledger
from pipeline.parse import parse_file
from pipeline.steps import Workspace, process_acknowledgments
from pipeline.steps.summaries import AckSummary
from tests.ledger.conftest import draft
from tests.parse.big_files import write_999

SETS = 50_000  # one AK1 group, about 3 MB; every odd set rejected
CLAIMS = 40  # the sets the ledger sent claims in (the rest: other senders' sets)


def _peak(work: Callable[[], object]) -> tuple[object, int]:
    gc.collect()
    tracemalloc.start()
    try:
        result = work()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_large_999_posts_in_a_fraction_of_the_whole_table_memory(tmp_path: Path) -> None:
    path = write_999(tmp_path / "big.999", SETS)
    workspace = Workspace(tmp_path)
    with Ledger(workspace.ledger_url) as ledger:
        claims = ledger.record_claims([draft(f"BIG{i:05d}") for i in range(1, CLAIMS + 1)])
        sets = {c.id: Controls("77", "1", f"{i:09d}", "837") for i, c in enumerate(claims, 1)}
        ledger.stage_submission(b"ISA*837", "out.x12", sets, list(sets.values()))
        received = ledger.register_received(path, "big.999")
        assert received.transaction_type == "999"

        _, whole_tables = _peak(lambda: parse_file(path))
        summary, streamed = _peak(lambda: process_acknowledgments(ledger, workspace))
        print(
            f"\n{path.stat().st_size / 2**20:.1f} MB 999 ({SETS:,} sets): tracemalloc peak "
            f"parse_file {whole_tables / 2**20:.0f} MB, process_acknowledgments "
            f"{streamed / 2**20:.0f} MB"
        )
        assert streamed < whole_tables / 3

        assert isinstance(summary, AckSummary)
        assert (summary.files, summary.attention) == (1, [])
        assert (summary.rejected, summary.accepted) == (CLAIMS // 2, CLAIMS // 2)
        for i, claim in enumerate(claims, 1):
            state = ledger.claim_by_id(claim.id).state
            assert state is (ClaimState.REJECTED if i % 2 else ClaimState.ACCEPTED), i
        rejection = summary.rejections[0]
        assert (rejection["patient_control_number"], rejection["code"]) == ("BIG00001", "999 R")
        assert ledger.file(received.id).state is FileState.POSTED


def test_a_999_cut_short_is_quarantined_and_moves_no_claim(tmp_path: Path) -> None:
    # Group 1 whole (its AK9 releases its rows), then group 2 cut off: the file is read to
    # its end before anything is posted, so group 1's verdicts must not stand either.
    whole = write_999(tmp_path / "whole.999", 4).read_bytes()
    path = tmp_path / "cut.999"
    group_2 = b"AK1*HC*2*005010X222A1~\nAK2*837*000000009*005010X222A1~\n"
    path.write_bytes(whole[: whole.index(b"\nSE*") + 1] + group_2)
    workspace = Workspace(tmp_path)
    with Ledger(workspace.ledger_url) as ledger:
        claims = ledger.record_claims([draft(f"CUT{i:03d}") for i in range(1, 5)])
        sets = {c.id: Controls("77", "1", f"{i:09d}", "837") for i, c in enumerate(claims, 1)}
        ledger.stage_submission(b"ISA*837", "out.x12", sets, list(sets.values()))
        received = ledger.register_received(path, "cut.999", transaction_type="999")
        summary = process_acknowledgments(ledger, workspace)
        (line,) = summary.attention
        print(f"\n{line}")
        assert line.startswith(f"file {received.id} (cut.999) quarantined: ") and "\n" not in line
        assert (summary.files, summary.verdicts) == (0, {})
        assert {ledger.claim_by_id(c.id).state for c in claims} == {ClaimState.SUBMITTED}
        assert ledger.file(received.id).state is FileState.QUARANTINED
        assert (workspace.quarantine_dir / "cut.999.reason.txt").exists()
