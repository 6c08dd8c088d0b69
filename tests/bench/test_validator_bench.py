"""Implementation-guide checks, compiled tables beside pyx12: segments per second (``make bench``).

Both engines get the same segments, already read by our reader (the reader, envelope and
balancing checks are shared and not timed): pyx12 through :func:`pipeline.x12.ig.check_ig`
in this process (``jobs=1``), the compiled checker through
:class:`pipeline.x12.compiled.CompiledCheck`. pyx12 runs on a 1,000-claim file of the same
shape (it takes minutes on the big one); the compiled checker on a 10,000-claim 837P and
835, after one warm-up pass (map tables loaded, walks traced). Both must find nothing on
these clean files. Issue 15 asks for >= 20x pyx12's segments/s.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.build.codes import load_code_sets
from pipeline.build.t837p import build_837p
from pipeline.x12.compiled import CompiledCheck
from pipeline.x12.ig import IgCopy, check_ig
from pipeline.x12.problems import Problem
from pipeline.x12.reader import read_segments
from pipeline.x12.segments import Segment
from tests.bench.test_build_bench import big_practice
from tests.bench.test_parse_bench import write_bench_835
from tests.build.conftest import NOW, ROOT, TODAY, CountingControlNumbers

pytestmark = pytest.mark.bench

MIN_RATIO = 20
BIG_CLAIMS = 10_000
PYX12_CLAIMS = 1_000


def _837p(path: Path, claims: int) -> Path:
    with path.open("w", encoding="ascii") as fh:
        build_837p(
            big_practice(claims), fh, control_numbers=CountingControlNumbers(), today=TODAY,
            codes=load_code_sets(ROOT / "mappings"), now=NOW,
        )  # fmt: skip
    return path


def _835(path: Path, claims: int) -> Path:
    return write_bench_835(path, claims, 1)


def _pyx12(source: str, segments: list[Segment]) -> list[Problem]:
    copy = IgCopy(source)
    try:
        for seg in segments:
            copy.add(seg)
        return check_ig(copy, jobs=1)
    finally:
        copy.close()


def _compiled(source: str, segments: list[Segment]) -> list[Problem]:
    check = CompiledCheck(source)
    for seg in segments:
        check.add(seg)
    return check.problems()


def _rate(
    engine: Callable[[str, list[Segment]], list[Problem]], path: Path, runs: int
) -> tuple[float, int]:
    """Best segments/s of ``runs`` passes (CPU time: the machine is shared), segment count."""
    segments = list(read_segments(path))
    best = float("inf")
    for _ in range(runs):
        cpu = time.process_time()
        found = engine(str(path), segments)
        best = min(best, time.process_time() - cpu)
        assert [p for p in found if p.severity == "error"] == [], found[:3]
    return len(segments) / best, len(segments)


@pytest.mark.parametrize("kind", ["837P", "835"])
def test_compiled_is_20x_pyx12(tmp_path: Path, kind: str) -> None:
    write = _837p if kind == "837P" else _835
    small = write(tmp_path / f"small.{kind}", PYX12_CLAIMS)
    big = write(tmp_path / f"big.{kind}", BIG_CLAIMS)
    _rate(_compiled, small, 1)  # warm-up: tables loaded, walks traced, patterns compiled
    pyx12, pyx12_segments = _rate(_pyx12, small, 1)
    compiled, segments = _rate(_compiled, big, 3)
    ratio = compiled / pyx12
    print(
        f"\n{kind}: compiled {compiled:,.0f} segments/s ({segments:,} segments), "
        f"pyx12 {pyx12:,.0f} segments/s ({pyx12_segments:,} segments): {ratio:.1f}x "
        f"(CPU time, one process; 1-min load average {os.getloadavg()[0]:.1f})"
    )
    assert ratio >= MIN_RATIO
