"""``claimflow validate``: envelope (SNIP 1), guide (SNIP 2) and balancing (SNIP 3).

:func:`validate_file` reads a file once with our streaming reader, feeding the
envelope and balancing checkers and the guide checker: by default the compiled tables
(:mod:`pipeline.x12.compiled`, pyx12's verdicts at many times its speed), or pyx12 itself
(``engine="pyx12"``: the clean copy it validates afterwards). It never raises on a bad
file: what the reader refuses makes an ``unreadable`` report carrying the reader's
one-line message.

Status: ``valid`` (no errors; warnings allowed), ``invalid`` (at least one error),
``unreadable``. Exit code of the command: the worst file decides (0, 1, 2).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from pipeline.errors import X12SyntaxError
from pipeline.gcpause import no_cyclic_gc
from pipeline.x12.balance import BalanceChecker
from pipeline.x12.compiled import CompiledCheck
from pipeline.x12.envelope import EnvelopeChecker
from pipeline.x12.ig import PARALLEL_MIN_SEGMENTS, IgCopy, check_ig, default_jobs
from pipeline.x12.problems import Problem
from pipeline.x12.reader import read_segments
from pipeline.x12.segments import Segment

__all__ = [
    "ENGINES",
    "EXIT_CODES",
    "FileReport",
    "format_report",
    "validate_command",
    "validate_file",
]

EXIT_CODES = {"valid": 0, "invalid": 1, "unreadable": 2}
ENGINES = ("compiled", "pyx12")  # the guide checker: compiled tables (default) or pyx12


@dataclass
class FileReport:
    """What validation found in one file."""

    source_file: str
    status: str  # valid | invalid | unreadable
    message: str = ""  # the reader's one-line error when unreadable
    interchanges: int = 0
    transactions: int = 0
    segments: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity != "error"]

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def as_dict(self) -> dict[str, object]:
        """JSON-ready: the summary plus every problem with its position."""
        return {
            "file": self.source_file,
            "status": self.status,
            "message": self.message,
            "interchanges": self.interchanges,
            "transactions": self.transactions,
            "segments": self.segments,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "problems": [p.row() for p in self.problems],
        }


def validate_file(
    path: str | Path,
    *,
    ig: bool = True,
    jobs: int | None = None,
    parallel_min_segments: int = PARALLEL_MIN_SEGMENTS,
    engine: str = "compiled",
) -> FileReport:
    """Validate one file; never raises on a bad file.

    ``ig=False`` skips the guide checks (SNIP 1 and 3 only; what the parser uses for speed).
    ``engine``: ``compiled`` (default) or ``pyx12`` (the reference, much slower).
    ``jobs`` (pyx12 only): processes (default: the CPUs available; 1 = this process only).
    A file of more than ``parallel_min_segments`` segments is checked by transaction set
    in parallel; the report is the same as with ``jobs=1``. The workers are started with
    ``forkserver``/``spawn``: a script calling this needs the ``__main__`` guard.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown validation engine {engine!r} (one of {', '.join(ENGINES)})")
    source = str(path)
    envelope = EnvelopeChecker(source)
    balance = BalanceChecker(source)
    copy = IgCopy(source) if ig and engine == "pyx12" else None
    compiled = CompiledCheck(source) if ig and engine == "compiled" else None
    report = FileReport(source, "valid")
    try:
        with no_cyclic_gc():
            try:
                _feed(path, report, [envelope.feed, balance.feed, *_adders(compiled, copy)])
            except X12SyntaxError as exc:
                return FileReport(source, "unreadable", message=str(exc), segments=report.segments)
        report.problems = envelope.problems + balance.problems
        if compiled is not None:
            report.problems += compiled.problems()
        elif copy is not None:
            report.problems += check_ig(
                copy,
                jobs=default_jobs() if jobs is None else jobs,
                parallel_min_segments=parallel_min_segments,
            )
    finally:
        if copy is not None:
            copy.close()
    report.problems.sort(key=_position)
    report.status = "invalid" if report.errors else "valid"
    return report


def _adders(compiled: CompiledCheck | None, copy: IgCopy | None) -> list[Callable[[Segment], None]]:
    if compiled is not None:
        return [compiled.add]
    return [copy.add] if copy is not None else []


def _feed(path: str | Path, report: FileReport, feeders: list[Callable[[Segment], None]]) -> None:
    """Every segment to every checker, counted into ``report`` (bound methods: the hot loop)."""
    segments = transactions = interchanges = 0
    try:
        for seg in read_segments(path):
            segments += 1
            tag = seg.elements[0]
            if tag == "ST":
                transactions += 1
            elif tag == "ISA":
                interchanges += 1
            for feed in feeders:
                feed(seg)
    finally:  # an unreadable file still reports how far it got
        report.segments += segments
        report.transactions += transactions
        report.interchanges += interchanges


def _position(problem: Problem) -> tuple[int, int]:
    number = problem.segment_number
    return (0 if number is None else 1, number or 0)


def format_report(report: FileReport) -> list[str]:
    """Human lines: one summary line, then one line per problem."""
    counts = (
        f"{report.interchanges} interchange(s), {report.transactions} transaction set(s), "
        f"{report.segments} segments"
    )
    if report.status == "unreadable":
        return [f"{report.source_file}: unreadable: {report.message}"]
    found = f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)"
    lines = [f"{report.source_file}: {report.status} ({found}; {counts})"]
    lines += [f"  {_problem_line(p)}" for p in report.problems]
    return lines


def _problem_line(p: Problem) -> str:
    return f"{p.severity}: {p.where()}: {p.message} [{p.rule}]"


def validate_command(
    files: list[Path],
    *,
    as_json: bool,
    jobs: int | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    engine: str = "compiled",
) -> int:
    """Validate every file, print the reports; exit 0 valid, 1 invalid, 2 unreadable.

    ``jobs``: processes for pyx12 on big files (default: the CPUs available; 1 disables).
    ``engine``: the guide checker, ``compiled`` (default) or ``pyx12``.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    reports = []
    for path in files:
        report = validate_file(path, jobs=jobs, engine=engine)
        reports.append(report)
        if report.status == "unreadable":
            print(f"claimflow: error: {report.message}", file=err)
        elif not as_json:
            print("\n".join(format_report(report)), file=out)
    if as_json:
        json.dump([r.as_dict() for r in reports], out, indent=2)
        out.write("\n")
    return max((r.exit_code for r in reports), default=0)
