"""A big 271 is posted a chunk of answers at a time: the same ledger rows as in one piece, in
a fraction of the memory (no dict or statement parameters for every answer at once)."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from pipeline.ledger import EligibilityRecord, Ledger
from pipeline.ledger import store as ledger_store
from pipeline.ledger.eligibility import json_summary
from pipeline.steps import Workspace
from pipeline.steps import eligibility as step
from pipeline.steps.eligibility import process_eligibility, summary_rows
from tests.x12.test_split import many_sets

SETS = 300  # 1,200 answers


def _post(base: Path, path: Path, chunk: int, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Post ``path`` into a fresh ledger ``chunk`` answers at a time (after a small file, so
    the ledger's one-time set-up is not measured); the peak and what was stored."""
    monkeypatch.setattr(step, "CHUNK", chunk)
    monkeypatch.setattr(ledger_store, "ELIGIBILITY_CHUNK", chunk)
    workspace = Workspace(base)
    with Ledger(workspace.ledger_url) as ledger:
        ledger.register_received(many_sets(base / "warm.271", 3), "warm.271")
        process_eligibility(ledger, workspace)
        ledger.register_received(path, path.name)
        gc.collect()
        tracemalloc.start()
        try:
            summary = process_eligibility(ledger, workspace)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        checks = ledger.eligibility_checks()
    return summary, peak, checks


def _stored(checks: list[EligibilityRecord]) -> list[tuple[Any, ...]]:
    return [(c.trace_number, c.summary, c.coverage_status, c.response_file_id) for c in checks]


def test_a_big_271_posts_in_chunks_the_rows_it_would_post_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = many_sets(tmp_path / "big.271", SETS)
    expected = summary_rows(path, path.name)
    chunked, chunked_peak, stored = _post(tmp_path / "chunked", path, 100, monkeypatch)
    whole, whole_peak, stored_whole = _post(tmp_path / "whole", path, 10**9, monkeypatch)
    print(f"\n271 of {len(expected):,} answers: tracemalloc peak chunked "
          f"{chunked_peak / 2**20:.1f} MB, whole {whole_peak / 2**20:.1f} MB")  # fmt: skip
    assert chunked_peak < whole_peak / 2

    assert chunked.responses == whole.responses == len(expected) == SETS * 4
    assert chunked.by_status == whole.by_status and chunked.by_status
    assert _stored(stored) == _stored(stored_whole)
    answered = {c.trace_number: c.summary for c in stored if c.response_file_id}
    last = {str(r["trace_number"]): json_summary(r) for r in expected}
    assert {t: answered[t] for t in last} == last
