"""One night at a time: an exclusive lock on the workspace, held for a whole run.

``fcntl.flock`` on ``<workspace>/.claimflow.lock``: the operating system releases it when the
process ends, however it ends (exit, crash, SIGKILL), so a stale lock never blocks the next
night. A second run on the same workspace is refused at once with :class:`WorkspaceBusy`.
Re-entrant within a thread: the nightly flow holds it while its subflows take it again; another
thread of the same process is refused like another process.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.errors import WorkspaceBusy

__all__ = ["LOCK_NAME", "workspace_lock"]

LOCK_NAME = ".claimflow.lock"

_held: dict[Path, tuple[int, int, int]] = {}
"""Lock file -> (descriptor, depth, owning thread) held by this process."""
_guard = threading.Lock()


@contextmanager
def workspace_lock(base: Path) -> Iterator[Path]:
    """Hold the workspace's lock for the ``with`` block; raise ``WorkspaceBusy`` if another
    process holds it."""
    path = (base / LOCK_NAME).resolve()
    with _guard:
        me = threading.get_ident()
        if path in _held:
            fd, depth, owner = _held[path]
            if owner != me:
                raise WorkspaceBusy(
                    f"{base}: another claimflow run (pid {os.getpid()}, another thread) is "
                    "working in this workspace; try again when it has finished"
                )
            _held[path] = (fd, depth + 1, owner)
        else:
            base.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
                os.close(fd)
                raise WorkspaceBusy(
                    f"{base}: another claimflow run (pid {holder}) is working in this "
                    "workspace; try again when it has finished"
                ) from None
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            _held[path] = (fd, 1, me)
    try:
        yield path
    finally:
        with _guard:
            fd, depth, owner = _held[path]
            if depth > 1:
                _held[path] = (fd, depth - 1, owner)
            else:
                del _held[path]
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
