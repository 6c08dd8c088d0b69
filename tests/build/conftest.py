"""Fixtures for the builders: the demo practice, today, code sets and control numbers."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from pipeline.build.codes import CodeSets, load_code_sets
from pipeline.practice import LoadResult, load_practice

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "sample_edi" / "practice"
GOLDEN = ROOT / "tests" / "golden" / "build"
TODAY = date(2026, 11, 27)
NOW = datetime(2026, 11, 27, 21, 30)


class CountingControlNumbers:
    """An in-memory ControlNumbers: starts where told, never repeats (tests need fixed numbers)."""

    def __init__(self, start: int = 1) -> None:
        self.numbers = {"interchange": start - 1, "group": start - 1, "transaction": start - 1}

    def _next(self, kind: str) -> int:
        self.numbers[kind] += 1
        return self.numbers[kind]

    def next_interchange(self) -> int:
        return self._next("interchange")

    def next_group(self) -> int:
        return self._next("group")

    def next_transaction(self) -> int:
        return self._next("transaction")


@pytest.fixture(scope="session")
def demo() -> LoadResult:
    return load_practice(DEMO, mappings_dir=ROOT / "mappings")


@pytest.fixture(scope="session")
def codes() -> CodeSets:
    return load_code_sets(ROOT / "mappings")
