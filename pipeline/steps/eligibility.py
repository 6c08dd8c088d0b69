"""271 -> the ledger's eligibility checks: one summary row per answered trace (TRN02)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Executor
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.benchnight import stage
from pipeline.errors import ClaimflowError
from pipeline.ledger import Ledger
from pipeline.parse.tables import COLUMNS
from pipeline.steps.files import ELIGIBILITY, local_path, quarantine, waiting
from pipeline.steps.summaries import EligibilityResult
from pipeline.steps.workspace import Workspace

if TYPE_CHECKING:
    import pandas as pd

    from pipeline.x12.split import Piece

__all__ = ["eligibility_table", "process_eligibility", "summary_rows", "table_rows"]


def process_eligibility(
    ledger: Ledger, workspace: Workspace, executor: Executor | None = None
) -> EligibilityResult:
    """Every waiting 271 into the ledger; ``executor``: where a big one is read in pieces."""
    summary = EligibilityResult()
    statuses: Counter[str] = Counter()
    for record in waiting(ledger, ELIGIBILITY):
        try:
            with stage("parse"):
                rows = table_rows(local_path(record), record.names[0], executor)
        except (ClaimflowError, OSError) as exc:
            reason = " ".join(str(exc).split())
            summary.attention.append(quarantine(ledger, workspace, record, reason))
            continue
        with stage("ledger: 271s"):
            for _trace, status in _traced(rows):
                statuses[status] += 1
                summary.responses += 1
            answers = _Answers(rows)
            ledger.record_eligibility_responses(answers, file_id=record.id)  # one transaction
            ledger.mark_parsed(record.id)
            ledger.mark_posted(record.id)
        del rows, answers  # before the next file is read
        summary.files += 1
    summary.by_status = dict(sorted(statuses.items()))
    return summary


_TRACE = COLUMNS["eligibility_summary"].index("trace_number")
_STATUS = COLUMNS["eligibility_summary"].index("coverage_status")
CHUNK = 2000
"""Table rows turned into ``eligibility_summary`` dicts at a time while a 271 is posted."""


def _traced(rows: list[Any]) -> Iterator[tuple[str, str]]:
    """(trace, coverage status) of each table row that answers a trace (the dicts' values:
    text columns pass through :func:`summary_rows`' conversion as they are)."""
    for row in rows:
        trace = str(row[_TRACE] or "")
        if trace:
            yield trace, str(row[_STATUS] or "unknown")


class _Answers:
    """(trace, summary row) of a 271's table rows, made :data:`CHUNK` rows at a time (the same
    dicts :func:`summary_rows` gives) each time it is iterated: never a dict per answer for the
    whole file, which at 100k claims was most of the posting's memory."""

    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows

    def __iter__(self) -> Iterator[tuple[str, dict[str, Any]]]:
        from pipeline.parse.tables import to_frame
        from pipeline.reconcile.inputs import records

        for start in range(0, len(self.rows), CHUNK):
            part = self.rows[start : start + CHUNK]
            for row in records(to_frame("eligibility_summary", part)):
                trace = str(row.get("trace_number") or "")
                if trace:
                    yield trace, row


SPLIT_MIN_BYTES = 4 * 1024 * 1024
"""A 271 at least this big is read in pieces when an executor is given (a 10k night's: 14 MB)."""
PIECES = 8
"""Pieces a big 271 is cut into: a few per worker, so none waits long on a slow one."""


def summary_rows(
    path: Path,
    name: str,
    executor: Executor | None = None,
    *,
    split_min_bytes: int = SPLIT_MIN_BYTES,
) -> list[dict[str, Any]]:
    """The ``eligibility_summary`` rows of a 271, as ``parse_file`` tables them (dicts; see
    :func:`table_rows`)."""
    from pipeline.parse.tables import to_frame
    from pipeline.reconcile.inputs import records

    rows = table_rows(path, name, executor, split_min_bytes=split_min_bytes)
    return records(to_frame("eligibility_summary", rows))


def table_rows(
    path: Path,
    name: str,
    executor: Executor | None = None,
    *,
    split_min_bytes: int = SPLIT_MIN_BYTES,
) -> list[Any]:
    """The ``eligibility_summary`` table rows (value lists in ``COLUMNS`` order) of a 271,
    read in one streaming pass that keeps no benefit rows: those are most of a 271 (15 per
    answer in the demo) and the ledger keeps only the summary. The whole file is read before
    anything is posted, so an unreadable file records nothing.

    With ``executor``, a big file is read in pieces of whole transaction sets in its workers
    (:mod:`pipeline.x12.split`), the rows joined in file order; a piece that cannot be read
    sends the whole file through one pass, which names the problem where it is in the file.
    """
    rows = None
    if executor is not None and path.stat().st_size >= split_min_bytes:
        rows = _rows_in_pieces(executor, path, name)
    if rows is None:
        rows = _summary_table_rows(path, name)
    return rows


def _rows_in_pieces(executor: Executor, path: Path, name: str) -> list[Any] | None:
    """The summary rows read piece by piece in ``executor``; ``None``: read it whole."""
    from pipeline.x12.split import split_transaction_sets

    pieces = split_transaction_sets(path, PIECES)
    if not pieces:
        return None
    rows: list[Any] = []
    try:
        for part in executor.map(_piece_rows, pieces, [name] * len(pieces)):
            rows += part
    except ClaimflowError:
        return None
    return rows


def _summary_table_rows(source: Path | bytes, name: str) -> list[Any]:
    from pipeline.parse import iter_records
    from pipeline.parse.t271 import EligibilitySummary
    from pipeline.parse.tables import TableBuilder

    builder = TableBuilder()
    builder.add_all(r for r in iter_records(source, name=name) if type(r) is EligibilitySummary)
    return builder.take("eligibility_summary")


def _piece_rows(piece: Piece, name: str) -> list[Any]:
    """In a worker: the summary rows of one piece (as table rows: cheap to send back)."""
    return _summary_table_rows(piece.read(), name)


def eligibility_table(ledger: Ledger, *, chunk: int = 250) -> pd.DataFrame | None:
    """The ``eligibility_summary`` row of every answered inquiry (for reconciliation), with
    the patient, payer and date it was asked about (``patient_id``, ``payer_id``,
    ``service_date``: what patient estimates join on); ``None`` when none is answered.

    The frame ``pd.DataFrame`` makes of those rows as dicts (columns in first-seen order, a
    cell a row lacks NaN), built column by column from the ledger read ``chunk`` checks at a
    time, so a night's 271s are never all in memory as dicts. Equal texts and dates are one
    object: a night repeats a few plans' amounts, names and dates thousands of times.
    """
    import pandas as pd

    columns: dict[str, list[Any]] = {}
    shared: dict[object, object] = {}
    count = 0
    for check in ledger.iter_eligibility_checks(chunk=chunk):
        if not check.summary:
            continue
        row = dict(check.summary) | {
            "patient_id": check.patient_id,
            "payer_id": check.payer_id or "",
            "service_date": check.service_date,
        }
        for key, value in row.items():
            cells = columns.get(key)
            if cells is None:
                cells = columns[key] = [_MISSING] * count
            if type(value) is str or type(value) is date:  # exact: never merge 1 and True
                value = shared.setdefault(value, value)
            cells.append(value)
        count += 1
        if len(row) < len(columns):  # a column this row lacks
            for cells in columns.values():
                if len(cells) < count:
                    cells.append(_MISSING)
    if not count:
        return None
    # A column at a time, each list let go once it is an array, and no consolidated copy of
    # them all: pd.DataFrame(columns) held the lists, their arrays and that copy at once.
    # pd.Series infers each column's dtype as pd.DataFrame does.
    series = {key: pd.Series(columns.pop(key)) for key in list(columns)}
    return pd.DataFrame(series, copy=False)


_MISSING = math.nan  # what pd.DataFrame(rows) puts where a row lacks a column (no amount)
