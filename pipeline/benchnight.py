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

import itertools
import json
import os
import resource
import statistics
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = [
    "MEMTRACE",
    "STAGES",
    "TIMINGS_OUT",
    "NightTimings",
    "StageTiming",
    "absorb",
    "dump_on_exit",
    "growth_table",
    "machine_line",
    "median_night",
    "peak_rss_mib",
    "read_night",
    "render_table",
    "reset_timings",
    "simulator_peak_rss_mib",
    "stage",
    "timings",
    "write_night",
]

STAGES = (
    "scale: practice written",
    "Prefect start",
    "Dask cluster start",
    "practice load",
    "simulator: practice load",
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


MEMTRACE = "CLAIMFLOW_MEMTRACE"
"""Env var: when set, each stage's start and end print the process's current RSS before and
after a full collection and ``malloc_trim`` to stderr (``MEMTRACE end build cur … live …``):
what a stage leaves alive, which the peak column cannot show. A diagnostic: the collections
cost seconds at 100k claims, so timings taken with it are not comparable."""


def _current_rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def _memtrace(when: str, name: str) -> None:
    if not os.environ.get(MEMTRACE) or not Path("/proc/self/statm").exists():
        return
    from pipeline.heap import release_memory

    before = _current_rss_mib()
    release_memory()  # glibc keeps freed memory mapped; trimming shows what is really alive
    print(
        f"MEMTRACE {when:5} {name:28} cur {before:7.0f} live {_current_rss_mib():7.0f} "
        f"peak {peak_rss_mib():7.0f}",
        file=sys.stderr,
        flush=True,
    )


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Add the enclosed block's wall time, CPU time and peak RSS to stage ``name``."""
    wall, cpu = time.perf_counter(), time.process_time()
    _memtrace("begin", name)
    try:
        yield
    finally:
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rss = peak_rss_mib()
        _memtrace("end", name)
        with _lock:
            entry = _table.setdefault(name, StageTiming(name))
            entry.calls += 1
            entry.wall += wall
            entry.cpu += cpu
            entry.peak_rss_mib = max(entry.peak_rss_mib, rss)


TIMINGS_OUT = "CLAIMFLOW_TIMINGS_OUT"
"""Env var: a process started with it (the simulator's, under the scale harness) writes its
table there as it exits, for the parent to :func:`absorb`."""

_OWN_NAMES = {"simulator adjudication"}
"""Rows another process's table keeps as named; the others are prefixed ``simulator: ``."""


def dump_on_exit() -> None:
    """Write this process's table to ``$CLAIMFLOW_TIMINGS_OUT`` at exit, when it is set."""
    path = os.environ.get(TIMINGS_OUT)
    if not path:
        return
    import atexit

    def dump() -> None:
        rows = {name: asdict(row) for name, row in timings().items()}
        body = {"peak_rss_mib": peak_rss_mib(), "stages": rows}
        Path(path).write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")

    atexit.register(dump)


def absorb(path: Path) -> float:
    """Add the rows another process dumped (:func:`dump_on_exit`) to this table; returns
    that process's peak RSS in MiB (:func:`simulator_peak_rss_mib` from now on)."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    with _lock:
        for name, row in raw["stages"].items():
            key = name if name in _OWN_NAMES else f"simulator: {name}"
            entry = _table.setdefault(key, StageTiming(key))
            entry.calls += row["calls"]
            entry.wall += row["wall"]
            entry.cpu += row["cpu"]
            entry.peak_rss_mib = max(entry.peak_rss_mib, row["peak_rss_mib"])
        _simulator_rss[0] = max(_simulator_rss[0], float(raw["peak_rss_mib"]))
    return _simulator_rss[0]


_simulator_rss = [0.0]


def simulator_peak_rss_mib() -> float:
    """Peak RSS of the simulator's own process, when it ran as one (0: it ran in this one)."""
    return _simulator_rss[0]


def timings() -> dict[str, StageTiming]:
    """A copy of the table so far, in :data:`STAGES` order (others after)."""
    with _lock:
        rows = {k: StageTiming(**vars(v)) for k, v in _table.items()}
    order = {name: i for i, name in enumerate(STAGES)}
    return dict(sorted(rows.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


def reset_timings() -> None:
    with _lock:
        _table.clear()
        _simulator_rss[0] = 0.0


def machine_line() -> str:
    """CPU count and load average: the figures mean little without them (shared machines)."""
    one, five, fifteen = os.getloadavg()
    return (
        f"nproc {os.cpu_count()} (usable {len(os.sched_getaffinity(0))}), "
        f"load average {one:.2f} {five:.2f} {fifteen:.2f}"
    )


def render_table(rows: dict[str, StageTiming], *, claims: int, total_wall: float) -> str:
    """The per-stage table as Markdown (it goes into the README as it is printed)."""
    head = f"claims {claims:,}; total wall {total_wall:.1f} s; peak RSS {peak_rss_mib():.0f} MiB"
    if simulator_peak_rss_mib():
        head += f" (the simulator's own process: {simulator_peak_rss_mib():.0f} MiB)"
    table = _rows_table(rows, claims=claims, total_wall=total_wall)
    return "\n".join([head, machine_line(), "", table])


def _rows_table(rows: dict[str, StageTiming], *, claims: int, total_wall: float) -> str:
    lines = [
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


@dataclass
class NightTimings:
    """One night's table as written to ``timings.json`` (what medians and growth are made of)."""

    claims: int
    total_wall: float
    peak_rss_mib: float
    machine: str
    stages: dict[str, StageTiming] = field(default_factory=dict)
    simulator_peak_rss_mib: float = 0.0
    """The simulator's own process (0: it ran inside the night's)."""


def write_night(
    path: Path, rows: dict[str, StageTiming], *, claims: int, total_wall: float
) -> None:
    """Keep the night's table beside its outputs, so runs can be compared later."""
    night = NightTimings(
        claims, total_wall, peak_rss_mib(), machine_line(), rows, simulator_peak_rss_mib()
    )
    path.write_text(json.dumps(asdict(night), indent=1) + "\n", encoding="utf-8")


def read_night(path: Path) -> NightTimings:
    raw = json.loads(path.read_text(encoding="utf-8"))
    stages = {name: StageTiming(**row) for name, row in raw.pop("stages").items()}
    return NightTimings(**raw, stages=stages)


def median_night(nights: Sequence[NightTimings]) -> NightTimings:
    """Stage by stage medians of several runs of the same size (a stage missing in a run is 0)."""
    if not nights or len({n.claims for n in nights}) != 1:
        raise ValueError("median_night wants one or more runs of the same claim count")
    names = [name for night in nights for name in night.stages]
    rows = {}
    for name in dict.fromkeys(names):
        runs = [n.stages.get(name, StageTiming(name)) for n in nights]
        rows[name] = StageTiming(
            name,
            calls=int(statistics.median(r.calls for r in runs)),
            wall=statistics.median(r.wall for r in runs),
            cpu=statistics.median(r.cpu for r in runs),
            peak_rss_mib=statistics.median(r.peak_rss_mib for r in runs),
        )
    order = {name: i for i, name in enumerate(STAGES)}
    ordered = dict(sorted(rows.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))
    return NightTimings(
        nights[0].claims,
        statistics.median(n.total_wall for n in nights),
        statistics.median(n.peak_rss_mib for n in nights),
        "; ".join(n.machine for n in nights),
        ordered,
        statistics.median(n.simulator_peak_rss_mib for n in nights),
    )


def render_median(nights: Sequence[NightTimings]) -> str:
    """The median table with the spread of the totals (what the README quotes)."""
    night = median_night(nights)
    walls = sorted(n.total_wall for n in nights)
    head = (
        f"median of {len(nights)} run(s): total wall {night.total_wall:.1f} s "
        f"(runs {', '.join(f'{w:.1f}' for w in walls)}); peak RSS {night.peak_rss_mib:.0f} MiB"
    )
    if night.simulator_peak_rss_mib:
        head += f" (the simulator's own process: {night.simulator_peak_rss_mib:.0f} MiB)"
    table = _rows_table(night.stages, claims=night.claims, total_wall=night.total_wall)
    return "\n".join([f"claims {night.claims:,}", head, *night.machine.split("; "), "", table])


def growth_table(sizes: Sequence[NightTimings]) -> str:
    """Median CPU per stage at each size and how it grows size to size (linear = the size ratio)."""
    sizes = sorted(sizes, key=lambda n: n.claims)
    header = ["stage", *(f"CPU s {n.claims:,}" for n in sizes)]
    header += [f"growth {a.claims:,} -> {b.claims:,}" for a, b in itertools.pairwise(sizes)]
    lines = ["| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]
    names = dict.fromkeys(name for n in sizes for name in n.stages)
    for name in names:
        cpu = [n.stages[name].cpu if name in n.stages else 0.0 for n in sizes]
        growth = [f"{b / a:.1f}x" if a > 0 else "-" for a, b in itertools.pairwise(cpu)]
        label = f"↳ {name}" if name in NESTED else name
        lines.append("| " + " | ".join([label, *(f"{c:.2f}" for c in cpu), *growth]) + " |")
    walls = [n.total_wall for n in sizes]
    total_growth = [f"{b / a:.1f}x" for a, b in itertools.pairwise(walls)]
    lines.append(
        "| total wall s | " + " | ".join([*(f"{w:.1f}" for w in walls), *total_growth]) + " |"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pipeline.benchnight median F...`` / ``growth DIR...`` (``make bench-night``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] not in ("median", "growth"):
        print("usage: python -m pipeline.benchnight median TIMINGS.json... | growth DIR...")
        return 2
    if args[0] == "median":
        print(render_median([read_night(Path(a)) for a in args[1:]]))
        return 0
    per_size = [
        median_night([read_night(p) for p in sorted(Path(d).glob("run-*/timings.json"))])
        for d in args[1:]
    ]
    print(growth_table(per_size))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
