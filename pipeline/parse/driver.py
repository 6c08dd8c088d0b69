"""One pass over a return file: each transaction set goes to its parser, records come out.

The driver runs the envelope checks (:class:`~pipeline.x12.envelope.EnvelopeChecker`), picks a
parser at each ST by :func:`~pipeline.parse.detect.transaction_kind`, hands TA1
segments to the TA1 parser, and yields every record (and problem) as soon as the batch
of segments that completed it is read -- so an 835, 271, 277CA or 999 of any size streams
through in bounded memory (rows a later segment completes, as a 999 group's AK9 status,
come as a :class:`~pipeline.parse.common.Spooled` the driver replays from disk). Body
segments come from :func:`~pipeline.x12.reader.read_batches`: a parser with ``feed_batch``
(the 835) takes whole batches of element lists, the others get :class:`Segment` objects one
by one through their ``dispatch``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pipeline.errors import X12SyntaxError
from pipeline.parse.common import Spooled
from pipeline.parse.detect import transaction_kind
from pipeline.parse.t271 import Eligibility271Parser
from pipeline.parse.t277 import ClaimStatus277Parser
from pipeline.parse.t277ca import ClaimAck277Parser
from pipeline.parse.t835 import Remit835Parser, RemitSink
from pipeline.parse.t999 import Ack999Parser
from pipeline.parse.ta1 import TA1Parser
from pipeline.x12.envelope import EnvelopeChecker
from pipeline.x12.problems import Problem
from pipeline.x12.reader import SegmentBatch, Source, read_batches
from pipeline.x12.segments import Segment

__all__ = ["Handler", "Run", "Session", "drive", "source_label"]


class Handler(Protocol):
    """What the driver needs from a transaction parser."""

    @property
    def dispatch(self) -> Mapping[str, Callable[[Segment], None]]: ...

    def start(self, seg: Segment) -> None: ...

    def feed(self, seg: Segment) -> None: ...

    def end(self, seg: Segment) -> None: ...

    def finish(self) -> None: ...


@dataclass
class Run:
    """Options and outcome of one drive: which kinds were seen, in order.

    ``remit_sink`` takes the 835 claims, provider adjustments and payments instead of
    the yielded records (the table builder); ``after_batch`` is called after each batch
    of segments (to write tables out in chunks).
    """

    known_claims: Mapping[str, str] | None = None
    remember: int | None = None
    remit_sink: RemitSink | None = None
    after_batch: Callable[[], None] | None = None
    kinds: list[str] = field(default_factory=list)
    handlers: dict[str, Handler] = field(default_factory=dict)


def source_label(source: Source, name: str | None = None) -> str:
    if name:
        return name
    if isinstance(source, bytes):
        return "<bytes>"
    if isinstance(source, (str, Path)) or hasattr(source, "__fspath__"):
        return str(source)
    return str(getattr(source, "name", "<stream>"))


def drive(source: Source, *, name: str | None = None, run: Run | None = None) -> Iterator[object]:
    """Yield the records of every supported transaction set (and TA1) in ``source``.

    Raises :class:`X12SyntaxError` for unreadable input, and at the end when the file
    held no 835, 271, 999, 277CA or TA1 at all.
    """
    session = Session(source, name=name, run=run)
    yield from session.consume(read_batches(source, name=session.label))
    yield from session.close()


class Session:
    """:func:`drive` in steps: :meth:`consume` the reader's items (once, or window after
    window of one file), then :meth:`close`."""

    def __init__(self, source: Source, *, name: str | None = None, run: Run | None = None):
        self.run = run or Run()
        label = self.label = source_label(source, name)
        self.stem = Path(label).stem if label not in ("<bytes>", "<stream>") else label.strip("<>")
        self.out: list[object] = []
        self.checker = EnvelopeChecker(label)  # the one SNIP 1 checker, as `claimflow validate`'s
        self.current: Handler | None = None
        self.dispatch: Mapping[str, Callable[[Segment], None]] | None = None
        self.feed_batch: Callable[[SegmentBatch], None] | None = None
        self.skipped = ""

    def consume(self, items: Iterable[Segment | SegmentBatch]) -> Iterator[object]:
        """Route ``items`` (what :func:`~pipeline.x12.reader.read_batches` yields) to the
        parsers; yield the records as each batch completes them."""
        run, out, checker = self.run, self.out, self.checker
        handlers = run.handlers
        current, dispatch, feed_batch = self.current, self.dispatch, self.feed_batch
        after_batch = run.after_batch
        try:
            for item in items:
                if isinstance(item, SegmentBatch):
                    if feed_batch is not None:
                        feed_batch(item)
                    elif dispatch is not None:
                        for seg in item.segments():
                            handler = dispatch.get(seg.elements[0])
                            if handler is not None:
                                handler(seg)
                    del item  # let its segments go before the reader splits the next chunk
                    if out:
                        yield from _flush(out)
                    if after_batch is not None:
                        after_batch()
                    continue
                seg = item  # an envelope segment (ISA, GS, ST, SE, GE, IEA, TA1)
                tag = seg.elements[0]
                checker.feed(seg)
                if checker.problems:
                    out.extend(checker.problems)
                    checker.problems.clear()
                if tag == "ST":
                    env = seg.envelope
                    kind = transaction_kind(
                        seg[1], env.functional_id, env.implementation or env.version
                    )
                    if kind is None:
                        self.skipped = self.skipped or seg[1]
                        current = dispatch = feed_batch = None
                        out.append(_unsupported(seg))
                    else:
                        current = handlers.get(kind) or handlers.setdefault(
                            kind, _make(kind, out, self.stem, run)
                        )
                        if kind not in run.kinds:
                            run.kinds.append(kind)
                        current.start(seg)
                        dispatch = current.dispatch
                        feed_batch = getattr(current, "feed_batch", None)
                elif tag == "SE":
                    if current is not None:
                        current.end(seg)
                    current = dispatch = feed_batch = None
                elif tag == "TA1":
                    ta1 = handlers.get("TA1") or handlers.setdefault(
                        "TA1", _make("TA1", out, self.stem, run)
                    )
                    if "TA1" not in run.kinds:
                        run.kinds.append("TA1")
                    ta1.feed(seg)
                if out:
                    yield from _flush(out)
        finally:
            self.current, self.dispatch, self.feed_batch = current, dispatch, feed_batch

    def drain(self) -> Iterator[object]:
        """Records a parser completed outside :meth:`consume` (as when told to close a claim)."""
        return _flush(self.out)

    def close(self) -> Iterator[object]:
        """Finish every parser; raise when the file held nothing this reads."""
        run = self.run
        for parser in run.handlers.values():
            parser.finish()
        yield from _flush(self.out)
        if not run.kinds:
            skipped = self.skipped
            what = f"found ST01 {skipped!r}" if skipped else "no transaction set and no TA1"
            raise X12SyntaxError(
                f"no 835, 271, 999, 277CA or TA1 in file ({what})", source=self.label
            )


def _flush(out: list[object]) -> Iterator[object]:
    """The records in ``out``, then empty it; rows a parser spooled are replayed lazily."""
    for record in out:
        if type(record) is Spooled:
            yield from record.records()
        else:
            yield record
    out.clear()


def _make(kind: str, out: list[object], stem: str, run: Run) -> Handler:
    if kind == "835":
        return Remit835Parser(
            out, stem=stem, known_claims=run.known_claims, remember=run.remember,
            sink=run.remit_sink,
        )  # fmt: skip
    if kind == "271":
        return Eligibility271Parser(out)
    if kind == "999":
        return Ack999Parser(out)
    if kind == "277CA":
        return ClaimAck277Parser(out)
    if kind == "277":
        return ClaimStatus277Parser(out)
    return TA1Parser(out)


def _unsupported(seg: Segment) -> Problem:
    env = seg.envelope
    return Problem(
        env.source, env.transaction_control_number, "transaction", env.transaction_control_number,
        "unsupported_transaction", "835, 271, 999 or 277", seg[1],
        f"transaction set {seg[1]!r} is not a return file parse reads; skipped",
        segment_number=seg.number, segment_id="ST", severity="warning",
    )  # fmt: skip
