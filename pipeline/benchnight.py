"""Per-stage timings of a night: wall, CPU and peak RSS (``make bench-night``).

    with stage("parse"):
        parse_file(path)
    print(render_table(timings()))

Every stage a night goes through (build, scrub, validate, upload, simulator adjudication,
download, parse, ledger posting, reconcile, export, report) is wrapped in :func:`stage`, which
adds its wall time, the process's CPU time and the peak RSS so far to one process-wide table.
Timing is always on: a clock read per stage and file, never per claim.

CPU is the whole process's (``time.process_time``): the embedded clearinghouse answers uploads
in its own thread, so ``upload`` includes ``simulator adjudication`` (shown inside it) and a
stage running beside another counts the other's CPU too. Peak RSS is the process's high-water
mark at the end of the stage (``ru_maxrss``): it only grows, so the first stage that shows a
new peak is the one that made it.
"""

from __future__ import annotations

import os
import resource
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = [
    "STAGES",
    "StageTiming",
    "machine_line",
    "peak_rss_mib",
    "render_table",
    "reset_timings",
    "stage",
    "timings",
]

STAGES = (
    "build",
    "scrub",
    "ledger: claims recorded",
    "validate",
    "ledger: staged",
    "upload",
    "simulator adjudication",
    "download",
    "parse",
    "ledger: 271s",
    "ledger: acknowledgments",
    "ledger posting",
    "claim status: due",
    "reconcile",
    "export",
    "report",
)
"""The stages in the order a night meets them (the table's row order)."""

NESTED = {"simulator adjudication": "upload"}
"""Stages that run inside another (the clearinghouse answers before the upload returns)."""


@dataclass
class StageTiming:
    """What one stage took, summed over every time it ran."""

    name: str
    calls: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    peak_rss_mib: float = 0.0


_lock = threading.Lock()
_table: dict[str, StageTiming] = {}


def peak_rss_mib() -> float:
    """The process's peak resident set so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Add the enclosed block's wall time, CPU time and peak RSS to stage ``name``."""
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rss = peak_rss_mib()
        with _lock:
            entry = _table.setdefault(name, StageTiming(name))
            entry.calls += 1
            entry.wall += wall
            entry.cpu += cpu
            entry.peak_rss_mib = max(entry.peak_rss_mib, rss)


def timings() -> dict[str, StageTiming]:
    """A copy of the table so far, in :data:`STAGES` order (others after)."""
    with _lock:
        rows = {k: StageTiming(**vars(v)) for k, v in _table.items()}
    order = {name: i for i, name in enumerate(STAGES)}
    return dict(sorted(rows.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


def reset_timings() -> None:
    with _lock:
        _table.clear()


def machine_line() -> str:
    """CPU count and load average: the figures mean little without them (shared machines)."""
    one, five, fifteen = os.getloadavg()
    return (
        f"nproc {os.cpu_count()} (usable {len(os.sched_getaffinity(0))}), "
        f"load average {one:.2f} {five:.2f} {fifteen:.2f}"
    )


def render_table(rows: dict[str, StageTiming], *, claims: int, total_wall: float) -> str:
    """The per-stage table as Markdown (it goes into the README as it is printed)."""
    lines = [
        f"claims {claims:,}; total wall {total_wall:.1f} s; peak RSS {peak_rss_mib():.0f} MiB",
        machine_line(),
        "",
        "| stage | calls | wall s | CPU s | peak RSS MiB | claims/s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows.values():
        label = f"↳ {row.name}" if row.name in NESTED else row.name
        rate = f"{claims / row.wall:,.0f}" if row.wall > 0 else "-"
        lines.append(
            f"| {label} | {row.calls} | {row.wall:.2f} | {row.cpu:.2f} "
            f"| {row.peak_rss_mib:.0f} | {rate} |"
        )
    staged = sum(r.wall for r in rows.values() if r.name not in NESTED)
    rest = total_wall - staged
    lines.append(f"| (outside the stages: start-up, Prefect, polling) | | {rest:.2f} | | | |")
    return "\n".join(lines)
