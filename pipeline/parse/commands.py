"""``claimflow parse FILE... --out DIR [--format csv|parquet]``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pipeline.errors import ClaimflowError
from pipeline.parse.api import remove_dir, staging_dir, stream_tables
from pipeline.parse.split835 import SPLIT_BYTES, split_tables
from pipeline.parse.t835 import Remit835Parser
from pipeline.parse.tables import KIND_TABLES, TableWriter

__all__ = ["parse_command"]


def parse_command(files: list[Path], *, out: Path, fmt: str, split_bytes: int | None = None) -> int:
    """Parse every file into ``out/<table>.<fmt>`` (all files together, ``source_file`` column).

    Each file is staged on its own and merged only when it parsed completely, so a bad
    file adds nothing and costs the others nothing. Exit 0 when all parsed (balancing
    problems are rows in ``problems``), 2 when any file was unreadable (one stderr line
    each). 835s stream in chunks, so file size does not matter.

    With ``--format parquet`` an 835 of ``split_bytes`` or more is parsed by two processes
    (:mod:`pipeline.parse.split835`, same tables); by default :data:`SPLIT_BYTES` when
    this process may use two CPUs, else never.
    """
    if fmt not in ("csv", "parquet"):
        print(f"claimflow parse: --format must be csv or parquet, not {fmt!r}", file=sys.stderr)
        return 2
    try:
        final = TableWriter(out, fmt)
    except OSError as exc:
        print(f"claimflow parse: cannot write to {out}: {exc.strerror}", file=sys.stderr)
        return 2
    tables = {"problems"}
    known: dict[str, str] = {}
    status = 0
    parsed = 0
    if split_bytes is None:
        split_bytes = SPLIT_BYTES if len(os.sched_getaffinity(0)) >= 2 else None
    for number, path in enumerate(files, 1):
        stage = staging_dir(out)
        writer = TableWriter(stage, fmt)
        try:
            run = None
            if fmt == "parquet" and split_bytes is not None:
                more = number < len(files)  # its claims are the next files' known originals
                split = split_tables(
                    path, writer, known_claims=known, min_bytes=split_bytes, want_seen=more
                )
                run = split.run if split is not None else None
            if run is None:
                run = stream_tables(path, writer, known_claims=known)
        except ClaimflowError as exc:
            writer.close()
            remove_dir(stage)
            print(str(exc), file=sys.stderr)
            status = 2
            continue
        writer.close()
        final.merge(writer)
        remove_dir(stage)
        parsed += 1
        for kind in run.kinds:
            tables.update(KIND_TABLES[kind])
        parser = run.handlers.get("835")
        if isinstance(parser, Remit835Parser):
            known.update(parser.seen_pcn)
            known.update(parser.seen_icn)
    counts = final.close(sorted(tables)) if parsed else final.close()
    written = ", ".join(f"{t} {counts.get(t, 0)}" for t in sorted(counts))
    print(f"parsed {parsed} of {len(files)} file(s) into {out} ({fmt}): {written}")
    return status
