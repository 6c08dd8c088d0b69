"""The practice of a night, loaded once: a night's tasks (270s, 837Ps, 276s, reconciliation)
all read the same export, and loading it is the slow part of each.

:class:`PracticeCache` keeps the last :class:`~pipeline.practice.loader.LoadResult` and hands
it out again while the files it came from are byte for byte the same (a digest of the export
folder's files and of the column maps and payer profiles). Any change — a file rewritten,
added or removed, even within the same clock tick — loads afresh. The practice handed out is
shared: callers read it, never change it (as the steps already do).
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from pipeline.practice.loader import LoadResult, load_practice

__all__ = ["PracticeCache", "practice_digest"]


def practice_digest(folder: Path, mappings: Path) -> str:
    """A digest of everything :func:`load_practice` reads: the folder's files, the column
    maps and the payer profiles (names and contents). Hashing is far cheaper than parsing."""
    digest = hashlib.blake2b(digest_size=20)
    sources = (
        (folder, "*"),
        (mappings / "practice", "*.yaml"),
        (mappings / "payers", "*.yaml"),
    )
    for base, pattern in sources:
        digest.update(f"\0{base}\0".encode())
        for path in sorted(base.glob(pattern)) if base.is_dir() else ():
            if not path.is_file():
                continue
            digest.update(f"{path.name}\0".encode(errors="surrogateescape"))
            with path.open("rb") as fh:
                digest.update(hashlib.file_digest(fh, "blake2b").digest())
    return digest.hexdigest()


class PracticeCache:
    """The last practice loaded, reused while its files are unchanged (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[Path, Path, str] | None = None
        self._result: LoadResult | None = None
        self.loads = 0
        """How many times the export was actually read (for tests and timings)."""

    def load(self, folder: str | Path, *, mappings_dir: str | Path | None = None) -> LoadResult:
        """:func:`load_practice` of ``folder``, or the same result as last time."""
        if mappings_dir is None:
            from pipeline.settings import get_settings

            mappings_dir = get_settings().mappings_dir
        given, mappings = Path(folder), Path(mappings_dir)
        with self._lock:  # one load at a time: two tasks asking at once read the export once
            key = (given.resolve(), mappings.resolve(), practice_digest(given, mappings))
            if self._result is None or key != self._key:
                self._result = load_practice(given, mappings_dir=mappings)
                self._key = key
                self.loads += 1
            return self._result

    def take(self, folder: str | Path, *, mappings_dir: str | Path | None = None) -> LoadResult:
        """:meth:`load`, then forget it: the caller holds the only reference, so the practice's
        memory can go while the caller still runs (the night's last step, reconcile, lets go
        of the encounters once it has read them)."""
        result = self.load(folder, mappings_dir=mappings_dir)
        self.clear()
        return result

    def clear(self) -> None:
        with self._lock:
            self._key, self._result = None, None
