"""``release_memory()``: hand the memory a night has freed back to the system before a stage
that sets the process's peak.

glibc keeps freed memory mapped for the next allocation, and raises its trim threshold each
time a large block is freed; a night's flows free hundreds of MiB in pieces the later stages
do not fit back into, so reconciliation's tables came on top of memory nothing used any more
(100k claims: 858 MiB resident when reconcile began, about 700 of it alive). A full
collection first frees what only the collector can (the stages pause it), then
``malloc_trim`` returns the free pages. Reconcile trims too, each time it lets go of a set
of rows. Elsewhere than glibc it is only the collection.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Callable
from functools import cache

__all__ = ["release_memory"]


def release_memory(*, collect: bool = True) -> None:
    """``collect=False``: only the trim (where a stage has just freed rows that hold no
    reference cycles, a collection would only walk the heap)."""
    if collect:
        gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    libc = ctypes.util.find_library("c")
    if not libc:
        return None
    trim: Callable[[int], int] | None = getattr(ctypes.CDLL(libc), "malloc_trim", None)
    return trim
