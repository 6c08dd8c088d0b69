"""``release_memory`` hands freed heap back to the system (glibc), which a stage setting the
night's peak then does not stack its tables on top of."""

from __future__ import annotations

import resource
from pathlib import Path

import pytest

from pipeline.heap import _malloc_trim, release_memory

STATM = Path("/proc/self/statm")
pytestmark = pytest.mark.skipif(
    not STATM.exists() or _malloc_trim() is None, reason="needs Linux and glibc's malloc_trim"
)


def _rss_mib() -> float:
    return int(STATM.read_text().split()[1]) * resource.getpagesize() / 2**20


def test_freed_heap_goes_back_to_the_system() -> None:
    # 64 KiB blocks: below glibc's mmap threshold, so they come from the heap, and a live
    # block at the end keeps the heap's top from shrinking on its own.
    blocks = [bytearray(64 * 1024) for _ in range(3_000)]
    keep = bytearray(64 * 1024)
    before = _rss_mib()
    del blocks
    freed = _rss_mib()
    release_memory(collect=False)
    after = _rss_mib()
    assert freed - after > 100, (before, freed, after)  # ~190 MiB were freed
    assert keep  # still alive: only free pages went


def test_the_collection_frees_cycles() -> None:
    import gc
    import weakref

    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a  # type: ignore[attr-defined]
    gone = weakref.ref(a)
    enabled = gc.isenabled()
    gc.disable()
    try:
        del a, b
        assert gone() is not None
        release_memory()
        assert gone() is None
    finally:
        if enabled:
            gc.enable()
