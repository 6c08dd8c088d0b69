"""The simulator in its own process (``claimflow clearinghouse serve``), for the scale harness.

A real clearinghouse is another machine: its CPU and memory are not the night's. Run in a
thread of the night's process (:class:`~pipeline.clearinghouse.server.Clearinghouse`), the
simulator shares the night's GIL and its heap (both hold the practice), so both ends of every
SFTP transfer take turns on one core. :class:`SimulatorProcess` starts it as a child instead,
with the same root, seed and practice (the same answers, byte for byte), and reads back what it
timed (``simulator adjudication``, its practice load, its peak RSS) when it stops.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from pipeline.errors import ClaimflowError

__all__ = ["SimulatorProcess"]

_LISTENING = re.compile(r"clearinghouse listening on 127\.0\.0\.1:(\d+)")
_READY = "press Ctrl-C"


class SimulatorProcess:
    """``with SimulatorProcess(root, seed, practice) as ch:`` — ``ch.root`` and ``ch.port``
    reach it; on exit it is stopped with SIGTERM and its timings join this process's table."""

    def __init__(self, root: Path, seed: int, practice: Path, *, start_timeout: float = 600.0):
        self.root = Path(root).resolve()
        self.seed = seed
        self.practice = Path(practice).resolve()
        self.start_timeout = start_timeout
        self.port = 0
        self.timings_path = self.root / "simulator-timings.json"
        self._child: subprocess.Popen[str] | None = None

    def __enter__(self) -> SimulatorProcess:
        self.root.mkdir(parents=True, exist_ok=True)
        self.timings_path.unlink(missing_ok=True)
        env = dict(os.environ)
        env["CLAIMFLOW_PRACTICE_DIR"] = str(self.practice)
        env["CLAIMFLOW_TIMINGS_OUT"] = str(self.timings_path)
        args = [sys.executable, "-m", "pipeline", "clearinghouse", "serve"]
        args += ["--root", str(self.root), "--seed", str(self.seed)]
        log = (self.root / "simulator.log").open("w", encoding="utf-8")
        with log:  # the child keeps its own handle
            self._child = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, env=env, text=True
            )
        self.port = self._wait_ready()
        return self

    def _wait_ready(self) -> int:
        """The port it listens on, once it says it is ready (it loads the practice first)."""
        assert self._child is not None
        deadline = time.monotonic() + self.start_timeout
        log = self.root / "simulator.log"
        while time.monotonic() < deadline:
            text = log.read_text(encoding="utf-8", errors="replace")
            found = _LISTENING.search(text)
            if found and _READY in text:
                return int(found.group(1))
            if self._child.poll() is not None:
                last = text.strip().splitlines()[-1:] or ["no output"]
                raise ClaimflowError(f"{log}: the simulator exited at start: {last[0]}")
            time.sleep(0.05)
        self._stop()
        raise ClaimflowError(f"{log}: the simulator did not start in {self.start_timeout:.0f} s")

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Always idle between requests: it answers an upload before the upload returns."""
        return True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop()
        from pipeline.benchnight import absorb

        if self.timings_path.exists():
            absorb(self.timings_path)

    def _stop(self) -> None:
        if self._child is None or self._child.poll() is not None:
            return
        self._child.send_signal(signal.SIGTERM)
        try:
            self._child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._child.kill()
            self._child.wait()
