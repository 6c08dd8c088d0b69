"""``claimflow build 270`` / ``claimflow build 837p``: load, scrub, build, report.

Files are written to a temporary name beside ``out`` and renamed into place, so a
failed run never leaves half a file. The 270 run also writes ``<out>.traces.csv``
(trace number -> patient, payer, coverage ids: no names) for matching the 271s.
Loader issues go to stderr as warnings (the good rows were loaded and used).
"""

from __future__ import annotations

import csv
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import TextIO

from pipeline.build.codes import load_code_sets
from pipeline.build.scrub import format_report
from pipeline.build.t270 import Build270Result, build_270
from pipeline.build.t837p import build_837p
from pipeline.practice import Appointment, LoadResult, load_practice
from pipeline.settings import get_settings
from pipeline.x12.writer import ControlNumbers

__all__ = ["build_270_command", "build_837p_command"]


@contextmanager
def _ledger_control_numbers() -> Iterator[ControlNumbers]:
    """ISA13/GS06/ST02 from the claims ledger, so no number is ever issued twice."""
    from pipeline.ledger import Ledger

    with Ledger(get_settings().ledger_url) as ledger:
        yield ledger.control_numbers


def build_837p_command(
    practice: Path,
    *,
    out: Path,
    today: date | None = None,
    on: date | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """837P for the practice's encounters; exit 1 when any claim was held, 0 otherwise.

    ``on`` (``--date``) is the business date the scrubber judges by (future dates of
    service, timely filing); default today.
    """
    stdout = stdout or sys.stdout
    loaded = _load(practice, stderr or sys.stderr)
    settings = get_settings()
    with _ledger_control_numbers() as numbers, _atomic(out) as (fh, keep):
        result = build_837p(
            loaded.practice,
            fh,
            control_numbers=numbers,
            today=on or today or date.today(),
            codes=load_code_sets(settings.mappings_dir),
        )
        keep(bool(result.claims))
    print(format_report(result.report, built=len(result.claims)), file=stdout)
    if result.claims:
        sets = len(result.transactions)
        print(
            f"wrote {out}: {len(result.claims)} claim(s) in {sets} transaction set(s)", file=stdout
        )
    else:
        print(f"no claims to send; {out} not written", file=stdout)
    return 1 if result.held else 0


def build_270_command(
    practice: Path,
    *,
    out: Path,
    on: date | None,
    today: date | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """270s for the appointments on ``on`` (default: tomorrow); exit 1 when any was held."""
    stdout = stdout or sys.stdout
    loaded = _load(practice, stderr or sys.stderr)
    day = on or (today or date.today()) + timedelta(days=1)
    with _ledger_control_numbers() as numbers, _atomic(out) as (fh, keep):
        result = build_270(
            loaded.practice,
            fh,
            on=day,
            control_numbers=numbers,
        )
        keep(bool(result.inquiries))
    for finding in result.findings:
        print(f"HELD appointment {finding.encounter_id}: [{finding.rule}] {finding.field}: "
              f"{finding.message}", file=stdout)  # fmt: skip
    if result.inquiries:
        _write_traces(out, result)
        print(f"wrote {out}: {len(result.inquiries)} inquiry(ies) for {day}", file=stdout)
    else:
        print(f"no appointments to check on {day}; {out} not written", file=stdout)
        if not any(a.date == day for a in loaded.practice.appointments):
            print(_appointment_dates(loaded.practice.appointments, day), file=stdout)
    return 1 if result.held else 0


def _appointment_dates(appointments: Sequence[Appointment], day: date, shown: int = 10) -> str:
    """Which dates do have appointments (the nearest ``shown`` to ``day``), for --date."""
    counts = Counter(a.date for a in appointments)
    if not counts:
        return "the practice export has no appointments at all"
    nearest = sorted(sorted(counts, key=lambda d: (abs((d - day).days), d))[:shown])
    listed = ", ".join(f"{d} ({counts[d]})" for d in nearest)
    more = f" and {len(counts) - shown} other date(s)" if len(counts) > shown else ""
    return f"appointments are on {listed}{more}; choose one with --date"


def _load(practice: Path, stderr: TextIO) -> LoadResult:
    loaded = load_practice(practice)
    for issue in loaded.issues:
        print(f"claimflow: warning: {practice / issue.file}: row {issue.row}, column "
              f"{issue.column!r}: {issue.reason}", file=stderr)  # fmt: skip
    return loaded


def _write_traces(out: Path, result: Build270Result) -> None:
    path = out.with_name(out.name + ".traces.csv")
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["trace_number", "patient_id", "payer_id", "coverage_id"])
        for trace, key in result.traces.items():
            writer.writerow([trace, key.patient_id, key.payer_id, key.coverage_id])


@contextmanager
def _atomic(out: Path) -> Iterator[tuple[TextIO, Callable[[bool], None]]]:
    """Write to ``.<name>.tmp`` and rename onto ``out`` only when kept and no error occurred."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    decision = {"keep": False}

    def keep(flag: bool) -> None:
        decision["keep"] = flag

    try:
        with tmp.open("w", encoding="ascii", newline="") as fh:
            yield fh, keep
            fh.flush()
            os.fsync(fh.fileno())
        if decision["keep"]:
            tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
