"""One pass over a return file: each transaction set goes to its parser, records come out.

The driver keeps the envelope checks (SE/GE/IEA counts and control numbers), picks a
parser at each ST by :func:`~pipeline.parse.detect.transaction_kind`, hands TA1
segments to the TA1 parser, and yields every record (and problem) as soon as it is
complete -- so an 835 of any size streams through in bounded memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pipeline.errors import X12SyntaxError
from pipeline.parse.common import EnvelopeChecker
from pipeline.parse.detect import transaction_kind
from pipeline.parse.t271 import Eligibility271Parser
from pipeline.parse.t277ca import ClaimAck277Parser
from pipeline.parse.t835 import Remit835Parser
from pipeline.parse.t999 import Ack999Parser
from pipeline.parse.ta1 import TA1Parser
from pipeline.x12.problems import Problem
from pipeline.x12.reader import Source, read_segments
from pipeline.x12.segments import Segment

__all__ = ["Handler", "Run", "drive", "source_label"]

_ENVELOPE = frozenset({"ISA", "GS", "ST", "SE", "GE", "IEA", "TA1"})


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
    """Options and outcome of one drive: which kinds were seen, in order."""

    known_claims: Mapping[str, str] | None = None
    remember: int | None = None
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
    run = run or Run()
    label = source_label(source, name)
    stem = Path(label).stem if label not in ("<bytes>", "<stream>") else label.strip("<>")
    out: list[object] = []
    checker = EnvelopeChecker(out)
    handlers = run.handlers
    current: Handler | None = None
    dispatch: Mapping[str, Callable[[Segment], None]] | None = None
    skipped = ""
    for seg in read_segments(source, name=label):
        tag = seg.elements[0]
        if tag not in _ENVELOPE:
            if dispatch is not None:
                handler = dispatch.get(tag)
                if handler is not None:
                    handler(seg)
                    if out:
                        yield from out
                        out.clear()
            continue
        checker.see(seg)
        if tag == "ST":
            kind = transaction_kind(seg[1], seg.envelope.functional_id)
            if kind is None:
                skipped = skipped or seg[1]
                current = dispatch = None
                out.append(_unsupported(seg))
            else:
                current = handlers.get(kind) or handlers.setdefault(
                    kind, _make(kind, out, stem, run)
                )
                if kind not in run.kinds:
                    run.kinds.append(kind)
                current.start(seg)
                dispatch = current.dispatch
        elif tag == "SE":
            if current is not None:
                current.end(seg)
            current = dispatch = None
        elif tag == "TA1":
            ta1 = handlers.get("TA1") or handlers.setdefault("TA1", _make("TA1", out, stem, run))
            if "TA1" not in run.kinds:
                run.kinds.append("TA1")
            ta1.feed(seg)
        if out:
            yield from out
            out.clear()
    for parser in handlers.values():
        parser.finish()
    yield from out
    out.clear()
    if not run.kinds:
        what = f"found ST01 {skipped!r}" if skipped else "no transaction set and no TA1"
        raise X12SyntaxError(f"no 835, 271, 999, 277CA or TA1 in file ({what})", source=label)


def _make(kind: str, out: list[object], stem: str, run: Run) -> Handler:
    if kind == "835":
        return Remit835Parser(out, stem=stem, known_claims=run.known_claims, remember=run.remember)
    if kind == "271":
        return Eligibility271Parser(out)
    if kind == "999":
        return Ack999Parser(out)
    if kind == "277CA":
        return ClaimAck277Parser(out)
    return TA1Parser(out)


def _unsupported(seg: Segment) -> Problem:
    env = seg.envelope
    return Problem(
        env.source, env.transaction_control_number, "transaction", env.transaction_control_number,
        "unsupported_transaction", "835, 271, 999 or 277", seg[1],
        f"transaction set {seg[1]!r} is not a return file parse reads; skipped",
        segment_number=seg.number, segment_id="ST", severity="warning",
    )  # fmt: skip
