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
from pathlib import Path

from pipeline.errors import ConfigError

__all__ = ["FileControlNumbers"]

_KINDS = ("interchange", "group", "transaction")
_MAXIMUM = 999_999_999


class FileControlNumbers:
    """ISA13 / GS06 / ST02 issuer kept in a small JSON file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def next_interchange(self) -> int:
        return self._next("interchange")

    def next_group(self) -> int:
        return self._next("group")

    def next_transaction(self) -> int:
        return self._next("transaction")

    def _next(self, kind: str) -> int:
        with self.path.open("a+", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            fh.seek(0)
            text = fh.read()
            try:
                counters = json.loads(text) if text.strip() else {}
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{self.path}: control-number file is corrupt") from exc
            value = int(counters.get(kind, 0)) + 1
            if value > _MAXIMUM:
                raise ConfigError(f"{self.path}: {kind} control numbers exhausted")
            counters[kind] = value
            fh.seek(0)
            fh.truncate()
            fh.write(json.dumps({k: counters.get(k, 0) for k in _KINDS}))
            fh.flush()
            os.fsync(fh.fileno())
        return value
