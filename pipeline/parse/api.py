"""Public entry points: a return file in, typed records or DataFrames out."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.gcpause import no_cyclic_gc
from pipeline.parse.driver import Run, drive, source_label
from pipeline.parse.slim import SlimTables
from pipeline.parse.t835 import Remit835Parser, RemitClaim
from pipeline.parse.tables import KIND_TABLES, TableBuilder, TableWriter
from pipeline.x12.reader import Source

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ParseResult",
    "claim_index",
    "iter_835",
    "iter_records",
    "parse_835_tables",
    "parse_835_to_parquet",
    "parse_file",
    "parse_files",
    "stream_tables",
]


@dataclass
class ParseResult:
    """Tables of one file. ``transaction`` is the first kind found ("835", "271", "999",
    "TA1" or "277CA"); ``transactions`` lists all of them (a TA1 may precede a 999)."""

    source_file: str
    transaction: str
    transactions: tuple[str, ...]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    claim_keys: dict[str, str] = field(default_factory=dict)  # CLP07 / PCN -> claim_key

    @property
    def problems(self) -> pd.DataFrame:
        return self.tables["problems"]


def iter_records(
    source: Source,
    *,
    name: str | None = None,
    known_claims: Mapping[str, str] | None = None,
    remember: int | None = None,
) -> Iterator[object]:
    """Typed records of every 835/271/999/277CA/TA1 in ``source``, as they complete.

    No pandas needed. Raises :class:`~pipeline.errors.X12SyntaxError` for unreadable
    input (records already yielded stay valid).
    """
    return drive(source, name=name, run=Run(known_claims=known_claims, remember=remember))


def iter_835(
    source: Source, *, name: str | None = None, known_claims: Mapping[str, str] | None = None
) -> Iterator[object]:
    """Streaming 835 records: :class:`RemitClaim` (lines and CAS attached),
    :class:`RemitProviderAdjustment`, :class:`RemitPayment` (at each SE) and
    :class:`~pipeline.x12.problems.Problem` rows, in file order."""
    return iter_records(source, name=name, known_claims=known_claims)


def parse_file(
    source: Source, *, name: str | None = None, known_claims: Mapping[str, str] | None = None
) -> ParseResult:
    """All tables of one return file in memory (plus ``problems``).

    ``known_claims`` maps payer claim control numbers (CLP07) or patient control numbers
    of claims posted before to their claim_key, so a reversal in this file can point at
    its original (``reversal_of_claim_key``).
    """
    builder = TableBuilder()
    run = Run(known_claims=known_claims, remit_sink=builder)
    with no_cyclic_gc():
        builder.add_all(drive(source, name=name, run=run))
        tables = [t for kind in run.kinds for t in KIND_TABLES[kind]] + ["problems"]
        frames = builder.frames(tables)
    return ParseResult(
        source_label(source, name), run.kinds[0], tuple(run.kinds), frames, _seen_claims(run)
    )  # fmt: skip


def parse_files(
    paths: Iterable[Source], *, known_claims: Mapping[str, str] | None = None
) -> list[ParseResult]:
    """:func:`parse_file` for each path; claims of earlier files count as known originals."""
    known = dict(known_claims or {})
    results = []
    for path in paths:
        result = parse_file(path, known_claims=known)
        known.update(result.claim_keys)
        results.append(result)
    return results


def parse_835_tables(
    paths: Iterable[Source],
    columns: Mapping[str, Iterable[str]],
    *,
    known_claims: Mapping[str, str] | None = None,
) -> dict[str, pd.DataFrame]:
    """The 835 tables of ``paths`` in file order, as :func:`parse_files` and a concatenation
    of each table would give them, cut to ``columns`` (table -> the columns to keep; the
    tables not named, ``problems`` among them, are dropped). Parsed straight into one set
    of tables (:class:`~pipeline.parse.slim.SlimTables`). No 835 in any file: no tables.
    """
    known = dict(known_claims or {})
    tables = SlimTables(columns)
    seen_835 = False
    with no_cyclic_gc():
        for path in paths:
            run = Run(known_claims=known, remit_sink=tables)
            for _ in drive(path, run=run):  # problems and other transactions: not wanted
                pass
            known.update(_seen_claims(run))  # claims of earlier files count as originals
            seen_835 = seen_835 or "835" in run.kinds
        return tables.frames() if seen_835 else {}


def claim_index(claims: Iterable[RemitClaim]) -> dict[str, str]:
    """CLP07 and PCN -> claim_key for non-reversal claims (for ``known_claims``)."""
    index: dict[str, str] = {}
    for claim in claims:
        if claim.claim_status_code != "22":
            index[claim.patient_control_number] = claim.claim_key
            if claim.payer_claim_control_number:
                index[claim.payer_claim_control_number] = claim.claim_key
    return index


def stream_tables(
    source: Source,
    writer: TableWriter,
    *,
    chunk_claims: int = 10_000,
    known_claims: Mapping[str, str] | None = None,
    remember: int | None = 50_000,
    name: str | None = None,
) -> Run:
    """Parse ``source`` into ``writer`` in chunks of ``chunk_claims`` claims or other records
    (flat memory, for an 835, 999, 271 or 277CA of any size).

    For reversal pairing inside the file, only the last ``remember`` claims are kept
    (``None``: all); originals further back must come through ``known_claims``.
    """
    builder = TableBuilder()

    def drain_full_chunk() -> None:
        if builder.claims >= chunk_claims:
            builder.drain(writer)

    run = Run(
        known_claims=known_claims, remember=remember, remit_sink=builder,
        after_batch=drain_full_chunk,
    )  # fmt: skip
    with no_cyclic_gc():  # the batches in flight would make every collection a full one
        for record in drive(source, name=name, run=run):
            builder.add(record)
            if builder.claims >= chunk_claims:  # a long run of records from one batch
                builder.drain(writer)
        builder.drain(writer)
    return run


def parse_835_to_parquet(
    source: Source,
    out_dir: str | Path,
    *,
    chunk_claims: int = 10_000,
    known_claims: Mapping[str, str] | None = None,
) -> dict[str, int]:
    """Stream an 835 of any size to ``<out_dir>/<table>.parquet``; returns rows per table."""
    writer = TableWriter(Path(out_dir), "parquet")
    try:
        run = stream_tables(source, writer, chunk_claims=chunk_claims, known_claims=known_claims)
    finally:
        counts = writer.close(KIND_TABLES["835"] + ("problems",))
    del run
    return counts


def _seen_claims(run: Run) -> dict[str, str]:
    parser = run.handlers.get("835")
    if not isinstance(parser, Remit835Parser):
        return {}
    return {**parser.seen_pcn, **parser.seen_icn}


def staging_dir(out: Path) -> Path:
    """A private folder under ``out`` for one file's tables before they are merged."""
    out.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".parse-", dir=out))


def remove_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
