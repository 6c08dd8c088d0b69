"""A file-backed control-number counter, for senders without a ledger.

The practice's ISA13/GS06/ST02 come from the claims ledger
(:class:`pipeline.ledger.LedgerControlNumbers`); this counter serves the embedded
clearinghouse simulator (a sender of its own) and tests.

Numbers only go up; the file is locked while it is read and rewritten, so two
processes never receive the same number.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.errors import ConfigError

__all__ = ["FileControlNumbers"]

_KINDS = ("interchange", "group", "transaction")
_MAXIMUM = 999_999_999


class FileControlNumbers:
    """ISA13 / GS06 / ST02 issuer kept in a small JSON file.

    Each number locks, rewrites and fsyncs the file. Inside :meth:`batch` numbers come from
    memory and the file is written once when the batch ends (a 271 answering 2,000 inquiries
    takes an ST02 each: the simulator spent most of its time in fsync); :meth:`checkpoint`
    writes the numbers taken so far, so a number on a delivered file is never issued again.
    The same numbers in the same order either way. One process owns a file while batching.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()  # the simulator's SFTP and real-time answers share it
        self._open = 0  # batches open
        self._counters: dict[str, int] = {}

    def next_interchange(self) -> int:
        return self._next("interchange")

    def next_group(self) -> int:
        return self._next("group")

    def next_transaction(self) -> int:
        return self._next("transaction")

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Numbers from memory until the outermost batch ends, then the file once."""
        with self._lock:
            if not self._open:
                self._counters = self._rewrite(lambda stored: stored)
            self._open += 1
        try:
            yield
        finally:
            with self._lock:
                self._open -= 1
                if not self._open:
                    self._store()

    def checkpoint(self) -> None:
        """Write the numbers taken so far in the open batch (none open: they are written)."""
        with self._lock:
            if self._open:
                self._store()

    def _next(self, kind: str) -> int:
        with self._lock:
            if self._open:
                self._counters[kind] = self._checked(kind, self._counters[kind] + 1)
                return self._counters[kind]
            stored = self._rewrite(lambda c: c | {kind: self._checked(kind, c[kind] + 1)})
            return stored[kind]

    def _checked(self, kind: str, value: int) -> int:
        if value > _MAXIMUM:
            raise ConfigError(f"{self.path}: {kind} control numbers exhausted")
        return value

    def _store(self) -> None:
        """The batch's counters to the file (never lowered)."""
        self._rewrite(lambda stored: {k: max(stored[k], self._counters[k]) for k in _KINDS})

    def _rewrite(self, change: Callable[[dict[str, int]], dict[str, int]]) -> dict[str, int]:
        """Read, change and write the counters under the file's lock (fsynced)."""
        with self.path.open("a+", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            fh.seek(0)
            text = fh.read()
            try:
                raw = json.loads(text) if text.strip() else {}
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{self.path}: control-number file is corrupt") from exc
            counters = change({k: int(raw.get(k, 0)) for k in _KINDS})
            fh.seek(0)
            fh.truncate()
            fh.write(json.dumps(counters))
            fh.flush()
            os.fsync(fh.fileno())
        return counters
