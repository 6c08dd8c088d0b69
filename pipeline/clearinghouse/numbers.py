"""The simulator's ISA13/GS06/ST02 counter, read and written once per upload answered.

:class:`~pipeline.x12.control.FileControlNumbers` locks, rewrites and fsyncs its file for
every number; a 271 answering 2,000 inquiries takes one ST02 each, so answering an upload
spent most of its time in fsync. Inside :meth:`BatchedControlNumbers.batch` the numbers come
from memory and the file is written when the batch ends. Outside a batch each
number goes to the file as before. :meth:`BatchedControlNumbers.checkpoint` writes the
numbers taken so far: the responder calls it before it delivers each response file, so a
number on a delivered file is never issued again. The same numbers in the same order either
way, so the responses stay byte-identical. One simulator owns its root's counter file.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.errors import ConfigError
from pipeline.x12.control import FileControlNumbers

__all__ = ["BatchedControlNumbers"]

_KINDS = ("interchange", "group", "transaction")
_MAXIMUM = 999_999_999


class BatchedControlNumbers:
    """A :class:`FileControlNumbers` whose numbers can be taken in batches."""

    def __init__(self, path: Path) -> None:
        self.file = FileControlNumbers(path)
        self._lock = threading.RLock()  # the SFTP and real-time answers share the counter
        self._open = 0  # batches open
        self._counters: dict[str, int] = {}

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Numbers from memory until the outermost batch ends, then the file once."""
        with self._lock:
            if not self._open:
                self._counters = {k: self._peek(k) for k in _KINDS}
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

    def next_interchange(self) -> int:
        return self._next("interchange")

    def next_group(self) -> int:
        return self._next("group")

    def next_transaction(self) -> int:
        return self._next("transaction")

    def _next(self, kind: str) -> int:
        with self._lock:
            if not self._open:
                return self.file._next(kind)
            value = self._counters[kind] + 1
            if value > _MAXIMUM:
                raise ConfigError(f"{self.file.path}: {kind} control numbers exhausted")
            self._counters[kind] = value
            return value

    def _peek(self, kind: str) -> int:
        path = self.file.path
        if not path.exists():
            return 0
        return _counters(path, path.read_text(encoding="utf-8"))[kind]

    def _store(self) -> None:
        """Write the counters reached (under the file's lock, fsynced; never lowered)."""
        path = self.file.path
        with path.open("a+", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            fh.seek(0)
            stored = _counters(path, fh.read())
            counters = {k: max(stored.get(k, 0), self._counters.get(k, 0)) for k in _KINDS}
            fh.seek(0)
            fh.truncate()
            fh.write(json.dumps(counters))
            fh.flush()
            os.fsync(fh.fileno())


def _counters(path: Path, text: str) -> dict[str, int]:
    try:
        raw = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: control-number file is corrupt") from exc
    return {k: int(raw.get(k, 0)) for k in _KINDS}
