"""One big 835 transaction set parsed by two processes, for ``claimflow parse --format parquet``.

A payer's 835 is often one ST with 100,000 claims: one stream, one core. Here the process
reads the header (ISA .. the first CLP), then forks. The parent parses the claims up to a
CLP near the middle (the *cut*); the child parses from the cut to the end of the file,
converts its rows to Arrow and leaves them in the staging folder as Arrow IPC files, which
the parent appends to its Parquet writers after its own rows. Both read the file through
:class:`~pipeline.x12.reader.Window`, so segment numbers and offsets are those of the
whole file.

What the parser carries across the cut, the child works out from the bytes before it
(segments, claims and CLP04 totals; the reversal bookkeeping replayed on the CLP
elements) -- and the parent checks every bit of it against its own state at the cut.
Anything that differs (or a child that fails to answer) and the parent reads on past the
cut itself, as one process would have: the output is the one-process output either way,
only the time differs. Reader errors come in file order: the parent's first, else the
child's.
"""

from __future__ import annotations

import os
import pickle
import re
import signal
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from pipeline.errors import X12SyntaxError
from pipeline.gcpause import no_cyclic_gc
from pipeline.parse.common import parse_decimal
from pipeline.parse.driver import Run, Session
from pipeline.parse.t835 import HOLD_LIMIT, Remit835Parser, RemitPayment
from pipeline.parse.tables import COLUMNS, RowSink, TableBuilder, TableWriter, arrow_table
from pipeline.x12.reader import Checkpoint, SegmentBatch, Window, read_batches

__all__ = ["SPLIT_BYTES", "Split", "split_tables"]

SPLIT_BYTES = 8 << 20  # below this a second process costs more than it saves
SHARE = 0.5  # of the body's bytes, read by the parent (it also writes all Parquet)
_PIECE = 4 << 20  # bytes the child scans at a time before the cut
_WS = b" \t\r\n\x0b\x0c"


@dataclass(frozen=True)
class Split:
    """What :func:`split_tables` did: the drive's outcome, and whether the child's half
    was used (``False``: the parent read past the cut itself)."""

    run: Run
    parallel: bool


@dataclass(frozen=True)
class _Plan:
    header_end: int  # just after the terminator before the first CLP
    cut: int  # just after the terminator before the CLP the child starts at
    element: bytes
    terminator: bytes


@dataclass(frozen=True)
class _State:
    """The parser at the cut, as the child assumed it (the parent compares its own)."""

    number: int
    payment: RemitPayment
    held: int
    seen: int | None  # hash of the remembered claims, when they matter


def split_tables(
    path: Path,
    writer: TableWriter,
    *,
    known_claims: dict[str, str] | None = None,
    remember: int | None = 50_000,
    chunk_claims: int = 10_000,
    min_bytes: int = SPLIT_BYTES,
    want_seen: bool = True,
    share: float = SHARE,
) -> Split | None:
    """:func:`~pipeline.parse.api.stream_tables` of a Parquet ``writer``, in two processes.

    ``None`` (``writer`` untouched) when the file is not a plain 835 of ``min_bytes`` or
    more. ``want_seen``: the returned parser's ``seen_pcn``/``seen_icn`` are needed (the
    next file's ``known_claims``). ``share``: where to cut, as a fraction of the body.
    """
    plan = _plan(path, min_bytes, share)
    if plan is None:
        return None
    builder = TableBuilder()
    run = Run(known_claims=known_claims, remember=remember, remit_sink=builder)
    session = Session(path, run=run)
    with no_cyclic_gc():
        head = Window(stop=plan.header_end)
        builder.add_all(session.consume(read_batches(path, name=session.label, window=head)))
        parser = run.handlers.get("835")
        if (
            head.reached is None
            or run.kinds != ["835"]
            or not isinstance(parser, Remit835Parser)
            or session.current is not parser
        ):
            return None
        parallel = _fork_and_parse(path, plan, head.reached, session, parser, builder, writer,
                                   chunk_claims, want_seen)  # fmt: skip
    return Split(run, parallel)


def _plan(path: Path, min_bytes: int, share: float) -> _Plan | None:
    """Where to cut, from the ISA and a look near the first claim and the middle (the
    file is not read whole: it may be far bigger than the memory a parse keeps)."""
    try:
        size = os.path.getsize(path)
        if size < min_bytes:
            return None
        with open(path, "rb") as fh:
            isa = fh.read(140)
            if not isa.startswith(b"ISA"):
                return None  # (a BOM or UTF-16: one process)
            element = isa[3:4]
            positions = [i for i in range(len(isa)) if isa[i : i + 1] == element]
            if len(positions) < 16 or len(isa) < positions[15] + 3:
                return None
            terminator = isa[positions[15] + 2 : positions[15] + 3]
            if element.isalnum() or terminator.isalnum() or terminator == element:
                return None
            if terminator in _WS or element in _WS:
                return None
            first = _claim_start(fh, 0, element, terminator)
            if first is None:
                return None
            cut = _claim_start(fh, first + int((size - first) * share), element, terminator)
    except (OSError, TypeError):
        return None
    if cut is None or cut <= first:
        return None
    return _Plan(first, cut, element, terminator)


def _claim_start(fh: BinaryIO, at: int, element: bytes, terminator: bytes) -> int | None:
    """Just after the terminator before the next CLP segment from ``at`` (or ``None``)."""
    needle = b"CLP" + element
    back = 64  # room for the terminator and the white space before the CLP
    while True:
        origin = max(0, at - back)
        fh.seek(origin)
        data = fh.read(1 << 20)
        if len(data) <= at - origin:
            return None
        look = at - origin
        while (found := data.find(needle, look)) > 0:
            start = found
            while start > 0 and data[start - 1 : start] in _WS:
                start -= 1
            if data[start - 1 : start] == terminator:
                return origin + start
            look = found + 1
        if len(data) < 1 << 20:
            return None  # the end of the file
        at = origin + len(data) - len(needle)


def _pieces(path: Path, start: int, stop: int | None, terminator: bytes) -> Iterator[bytes]:
    """Bytes ``start``..``stop`` of ``path`` in pieces of a few MiB, each ending just after
    a terminator (so no segment is cut between two pieces)."""
    with open(path, "rb") as fh:
        fh.seek(start)
        left = -1 if stop is None else stop - start
        carry = b""
        while left:
            chunk = fh.read(_PIECE if left < 0 else min(left, _PIECE))
            if not chunk:
                break
            if left > 0:
                left -= len(chunk)
            buf = carry + chunk
            end = buf.rfind(terminator) + 1
            carry, buf = buf[end:], buf[:end]
            yield buf
        if carry:
            yield carry


def _fork_and_parse(
    path: Path, plan: _Plan, head: Checkpoint, session: Session, parser: Remit835Parser,
    builder: TableBuilder, writer: TableWriter, chunk_claims: int, want_seen: bool,
) -> bool:  # fmt: skip
    """The parent's side; whether the child's half was used."""
    run = session.run
    spool = writer.out_dir
    reader, answer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: from the cut to the end of the file
        os.close(reader)
        _child(path, plan, head, session, parser, builder, spool, chunk_claims, want_seen, answer)
    os.close(answer)
    try:
        mine = Window(resume=head, stop=plan.cut)
        envelope_seen = _parse_window(path, mine, session, builder, writer, chunk_claims)
        parser.close_claim()  # its segments end at the cut: the next one is a CLP
        builder.add_all(session.drain())
        builder.drain(writer)
        reply = _read_all(reader)
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        raise
    finally:
        os.close(reader)
        os.waitpid(pid, 0)
    # ("ok", state, kinds, seen), ("syntax", state, error), ("declined",) or ("error", text)
    result: tuple[Any, ...] = pickle.loads(reply) if reply else ("declined",)
    assumed = result[1] if result[0] in ("ok", "syntax") else None
    agreed = (
        isinstance(assumed, _State)
        and not envelope_seen
        and mine.reached is not None
        and mine.reached.envelopes == head.envelopes
        and mine.reached.open == head.open
        and session.current is parser
        and not parser.pending
        and assumed == _state(mine.reached.number, parser, assumed.seen is not None)
    )
    if agreed and result[0] == "syntax":  # the first error of the file: after the cut
        problem, source, number, offset = result[2]
        raise X12SyntaxError(problem, source=source, segment_number=number, offset=offset)
    if not agreed:  # read on past the cut in this process: the one-process output
        _remove_spool(spool)
        if mine.reached is None:
            raise RuntimeError("835 split: no checkpoint at the cut")
        rest = Window(resume=mine.reached)
        _parse_window(path, rest, session, builder, writer, chunk_claims)
        builder.add_all(session.close())
        builder.drain(writer)
        return False
    _, _, kinds, seen = result
    parser.finish()  # claims held back behind a reversal before the cut come first
    builder.drain(writer)
    run.kinds[:] = kinds
    if seen is not None:
        parser.seen_pcn, parser.seen_icn = seen
    _append_spool(spool, writer)
    return True


def _parse_window(
    path: Path, window: Window, session: Session, builder: TableBuilder, writer: RowSink,
    chunk_claims: int,
) -> bool:  # fmt: skip
    """Feed ``window`` of ``path`` through ``session`` into ``writer`` in chunks; whether an
    envelope segment (ST, SE...) was among its segments."""
    envelope = False

    def drain_full_chunk() -> None:
        if builder.claims >= chunk_claims:
            builder.drain(writer)

    def items() -> Any:
        nonlocal envelope
        for item in read_batches(path, name=session.label, window=window):
            if type(item) is not SegmentBatch:
                envelope = True
            yield item

    session.run.after_batch = drain_full_chunk
    try:
        for record in session.consume(items()):
            builder.add(record)
            if builder.claims >= chunk_claims:
                builder.drain(writer)
    finally:
        session.run.after_batch = None
    return envelope


def _state(number: int, parser: Remit835Parser, seen: bool) -> _State:
    digest = hash((tuple(parser.seen_pcn.items()), tuple(parser.seen_icn.items())))
    return _State(number, replace(parser.payment), len(parser.held), digest if seen else None)


def _read_all(fd: int) -> bytes:
    parts = []
    while chunk := os.read(fd, 1 << 20):
        parts.append(chunk)
    return b"".join(parts)


# -- the child ------------------------------------------------------------------------
_SPOOL_PREFIX = ".split-"


class _ArrowSpool:
    """Row chunks -> one Arrow IPC file per table in the staging folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.writers: dict[str, Any] = {}

    def write(self, table: str, rows: list[Any]) -> None:
        import pyarrow as pa

        chunk = arrow_table(table, rows)
        out = self.writers.get(table)
        if out is None:
            path = self.folder / f"{_SPOOL_PREFIX}{table}.arrow"
            out = self.writers[table] = pa.ipc.new_file(str(path), chunk.schema)
        out.write_table(chunk)

    def close(self) -> None:
        for out in self.writers.values():
            out.close()


def _child(
    path: Path, plan: _Plan, head: Checkpoint, session: Session, parser: Remit835Parser,
    builder: TableBuilder, folder: Path, chunk_claims: int, want_seen: bool, answer: int,
) -> None:  # fmt: skip
    """Parse from the cut to the end, answer on ``answer``, and exit (never returns)."""
    reply: tuple[Any, ...]
    assumed = None
    try:
        for table in COLUMNS:
            builder.take(table)  # the header's rows are the parent's
        builder.claims = 0
        assumed = _assume(path, plan, head, parser, want_seen)
        if assumed is None:
            reply = ("declined",)
        else:
            start = replace(head, offset=plan.cut, number=assumed.number)
            spool = _ArrowSpool(folder)
            _parse_window(path, Window(resume=start), session, builder, spool, chunk_claims)
            builder.add_all(session.close())
            builder.drain(spool)
            spool.close()
            seen = (parser.seen_pcn, parser.seen_icn) if want_seen else None
            reply = ("ok", assumed, session.run.kinds, seen)
    except X12SyntaxError as exc:  # the parent's to raise, if the state at the cut agrees
        reply = ("syntax", assumed, (exc.problem, exc.source, exc.segment_number, exc.offset))
    except BaseException as exc:  # the parent reads on alone
        reply = ("error", repr(exc))
    try:
        payload = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(payload)
        while view:
            view = view[os.write(answer, view) :]
    finally:
        os._exit(0)


def _assume(
    path: Path, plan: _Plan, head: Checkpoint, parser: Remit835Parser, want_seen: bool
) -> _State | None:
    """Put ``parser`` (at the header) in its state at the cut, worked out from the bytes
    before it; that state, or ``None`` when a reversal there still waits (one process)."""
    start, cut, term, element = plan.header_end, plan.cut, plan.terminator, plan.element
    pattern = re.compile(re.escape(b"CLP" + element) + b"([^" + re.escape(term) + b"]*)")
    blanks = [term + space + term for space in (b"", b"\n", b"\r\n")]
    segments = 0
    found: list[bytes] = []
    for piece in _pieces(path, start, cut, term):
        # One segment per terminator, less the empty ones (two terminators, only space
        # between; one cut between two pieces is missed: the parent's check catches it).
        segments += piece.count(term) - sum(piece.count(blank) for blank in blanks)
        found += pattern.findall(piece)
    split, strip = element.decode("latin-1"), _WS.decode()
    claims = [text.decode("latin-1").rstrip(strip).split(split) for text in found]
    p = parser.payment
    amounts: dict[str, Decimal | None] = {}
    total = p.total_paid
    for e in claims:
        text = e[3] if len(e) > 3 else ""
        if text not in amounts:
            amounts[text] = parse_decimal(text) if text else None
        paid = amounts[text]
        if paid is not None:
            total += paid
    number = head.number + segments
    parser.payment = p = replace(p, claim_count=p.claim_count + len(claims), total_paid=total)
    reversals = re.compile(re.escape(b"CLP" + element) + b"[^" + re.escape(element + term)
                           + b"]*" + re.escape(element) + b"22[" + re.escape(element + term)
                           + b"]")  # fmt: skip
    if not want_seen and not any(
        reversals.search(piece) for piece in _pieces(path, start, None, term)
    ):
        return _State(number, replace(p), 0, None)  # no reversal from here on: nothing to pair
    held = _replay(parser, claims)
    if held is None:
        return None
    dummy: list[Any] = []
    parser.held = [(dummy, [], [], [])] * held
    if held:
        parser.sink = _SkipHeld(parser.sink, dummy)
    return _state(number, parser, True)


def _replay(parser: Remit835Parser, claims: list[list[str]]) -> int | None:
    """The parser's reversal bookkeeping (``_pair``, holding claims back) over the CLP
    elements before the cut: fills ``seen_pcn``/``seen_icn``; how many claims it holds at
    the cut, or ``None`` when a reversal still waits for its correction there."""
    if parser.pending or parser.held:
        return None
    seen_pcn, seen_icn = parser.seen_pcn, parser.seen_icn
    pending: dict[str, str] = {}
    held: list[str] = []
    remember, prefix = parser.remember, parser.prefix
    count = parser.payment.claim_count - len(claims)
    previous = None

    def close(key: str) -> None:
        nonlocal held
        if pending or held:
            held.append(key)
            if len(held) > HOLD_LIMIT:
                waiting = set(pending.values())
                held = [k for k in held if k in waiting]

    for e in claims:
        if previous is not None:
            close(previous)
        count += 1
        key = previous = prefix + str(count)
        pcn = e[0]
        icn = e[6] if len(e) > 6 else ""
        if len(e) > 1 and e[1] == "22":
            pending[pcn] = key
            continue
        if pending:
            pending.pop(pcn, None)
        if remember is not None and len(seen_pcn) >= remember:
            for table in (seen_pcn, seen_icn):
                for old in list(table)[: len(table) // 2]:
                    del table[old]
        seen_pcn[pcn] = key
        if icn:
            seen_icn[icn] = key
    if previous is not None:
        close(previous)
    return None if pending else len(held)


class _SkipHeld:
    """The child's sink: claims the parser held back before the cut are the parent's."""

    def __init__(self, sink: Any, dummy: list[Any]) -> None:
        self.sink, self.dummy = sink, dummy
        self.provider_adjustment, self.payment = sink.provider_adjustment, sink.payment

    def claim(self, claim: list[Any], *rest: Any) -> None:
        if claim is not self.dummy:
            self.sink.claim(claim, *rest)


def _append_spool(folder: Path, writer: TableWriter) -> None:
    """The child's tables, after the parent's rows (buffers mapped, not copied)."""
    import pyarrow as pa

    for table in COLUMNS:
        path = folder / f"{_SPOOL_PREFIX}{table}.arrow"
        if not path.exists():
            continue
        source = pa.ipc.open_file(pa.memory_map(str(path)))
        for i in range(source.num_record_batches):
            writer.write_arrow(table, pa.Table.from_batches([source.get_batch(i)]))
        path.unlink()  # the mapping lives on until the writer is done with it


def _remove_spool(folder: Path) -> None:
    for path in folder.glob(f"{_SPOOL_PREFIX}*.arrow"):
        path.unlink()
