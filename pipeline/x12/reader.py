"""Streaming X12 reader: bytes in, :class:`Segment` objects out, in constant memory.

Delimiters come from each ISA (a file may hold many interchanges, each with its
own). Whitespace and CR/LF between segments are ignored. A UTF-8 BOM, UTF-16 with
a BOM, and Latin-1/cp1252 bytes inside data are accepted. Anything that is not
X12, or is cut short, raises :class:`~pipeline.errors.X12SyntaxError` naming the
file, the segment number and byte offset, and the problem.

Byte offsets are exact for single-byte and UTF-8 input; for UTF-16 input they are
offsets in the decoded text times two, plus the BOM.

:func:`read_batches` is the same reader for hot parsers: envelope segments come as
:class:`Segment` objects, the body segments between them as :class:`SegmentBatch`
runs of plain element lists (no object per segment), with the same checks and errors.
"""

from __future__ import annotations

import codecs
import dataclasses
import io
import os
from collections.abc import Generator, Iterable, Iterator
from itertools import accumulate, repeat
from operator import itemgetter
from pathlib import Path
from typing import BinaryIO

from pipeline.errors import X12SyntaxError
from pipeline.x12.segments import Delimiters, Envelope, Segment

__all__ = [
    "BATCH_CHUNK_SIZE",
    "CHUNK_SIZE",
    "Checkpoint",
    "SegmentBatch",
    "Source",
    "Window",
    "read_batches",
    "read_segments",
]

CHUNK_SIZE = 1 << 20
# Batches stay small enough that a parser walks segments the reader just made, still in
# the CPU cache: an 835 read 8 KiB at a time parses ~15% faster than 1 MiB at a time.
BATCH_CHUNK_SIZE = 1 << 13
Source = str | os.PathLike[str] | bytes | BinaryIO

_WHITESPACE = " \t\r\n\x0b\x0c"
_ENVELOPE_IDS = frozenset({"ISA", "GS", "ST", "SE", "GE", "IEA", "TA1"})
_UTF8_BOM = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def read_segments(
    source: Source, *, name: str | None = None, chunk_size: int = CHUNK_SIZE
) -> Iterator[Segment]:
    """Yield every segment of ``source`` (a path, bytes or a binary stream)."""
    stream, label, owned = _open(source, name)
    try:
        yield from _Reader(stream, label, chunk_size).segments()
    finally:
        if owned:
            stream.close()


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """A place where a reader can pick up: the byte ``offset`` just after a segment
    terminator, the ``number`` of segments before it and the envelope context
    (interchange, group, transaction set; which of them are open) there."""

    offset: int
    number: int
    delimiters: Delimiters
    envelopes: tuple[Envelope, Envelope, Envelope]
    open: tuple[str, ...] = ("ISA", "GS", "ST")  # envelope segments open there


@dataclasses.dataclass
class Window:
    """Read only part of a plain (single-byte, no BOM) file, for two processes sharing one
    transaction set: from ``resume`` (default: the file's start) up to byte ``stop``
    (default: its end). ``stop`` must sit just after a segment terminator (else the
    reader raises what it raises at a file cut short there); it ends there quietly and
    leaves ``reached``, the checkpoint to go on from."""

    resume: Checkpoint | None = None
    stop: int | None = None
    reached: Checkpoint | None = None


class SegmentBatch:
    """Consecutive body segments of one transaction set, as the reader split them.

    ``elements[i]`` is what ``Segment.elements`` would be for segment number
    ``first_number + i``, found at byte ``offsets[i]``; all share ``envelope``.
    Offsets are worked out only when asked for (hot parsers never need them).
    """

    __slots__ = ("_base", "_offsets", "_parts", "_strip", "elements", "envelope", "first_number")

    def __init__(
        self,
        envelope: Envelope,
        first_number: int,
        elements: list[list[str]],
        offsets: list[int] | None = None,
        *,
        raw: tuple[list[str], int, str] | None = None,
    ) -> None:
        self.envelope = envelope
        self.first_number = first_number
        self.elements = elements
        self._offsets = offsets
        # raw: the split buffer, its text offset and the strip characters, to work out
        # the offsets when asked.
        self._parts, self._base, self._strip = raw or ([], 0, "")

    @property
    def offsets(self) -> list[int]:
        if self._offsets is None:
            parts = self._parts
            texts = map(str.lstrip, parts, repeat(self._strip))
            # Each part starts one terminator after the previous one ends.
            starts = accumulate(map((1).__add__, map(len, parts)), initial=self._base)
            # A part that is only whitespace was no segment (lstrip leaves nothing).
            self._offsets = [
                start + len(raw) - len(text)
                for start, raw, text in zip(starts, parts, texts, strict=False)  # starts: +1
                if text
            ]
            self._parts = []
        return self._offsets

    def segments(self) -> Iterator[Segment]:
        """The batch as :class:`Segment` objects (what :func:`read_segments` yields)."""
        first, elements = self.first_number, self.elements
        numbers = range(first, first + len(elements))
        return map(Segment, elements, numbers, self.offsets, repeat(self.envelope))


def read_batches(
    source: Source,
    *,
    name: str | None = None,
    chunk_size: int = BATCH_CHUNK_SIZE,
    window: Window | None = None,
) -> Iterator[Segment | SegmentBatch]:
    """:func:`read_segments` for hot parsers: body segments come in :class:`SegmentBatch`
    runs (at most one buffer chunk each), envelope segments (ISA, GS, ST, SE, GE, IEA,
    TA1) as :class:`Segment` objects, in file order. Same checks, same errors; a batch
    read before an error is yielded before the error is raised. ``window``: read only
    that part of the file (numbers and offsets stay those of the whole file)."""
    stream, label, owned = _open(source, name)
    try:
        reader = _Reader(stream, label, chunk_size)
        if window is None:
            yield from reader.batches()
        else:
            yield from reader.window(window)
    finally:
        if owned:
            stream.close()


def _open(source: Source, name: str | None) -> tuple[BinaryIO, str, bool]:
    if isinstance(source, bytes):
        return io.BytesIO(source), name or "<bytes>", True
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            return path.open("rb"), name or str(path), True
        except OSError as exc:
            raise X12SyntaxError(f"cannot open: {exc.strerror}", source=str(path)) from exc
    return source, name or str(getattr(source, "name", "<stream>")), False


class _Reader:
    def __init__(self, stream: BinaryIO, source: str, chunk_size: int) -> None:
        self.stream = stream
        self.source = source
        self.chunk_size = chunk_size
        self.start_offset = 0
        self.byte_scale = 1
        self.fix_encoding = True
        self.number = 0
        self.stop: Window | None = None  # a window that ends before the file does

    # -- decoding ---------------------------------------------------------------
    def _chunks(self) -> Iterator[str]:
        head = self.stream.read(self.chunk_size)
        if head.startswith(_UTF8_BOM):
            head = head[len(_UTF8_BOM) :]
            self.start_offset = len(_UTF8_BOM)
        elif head[:2] in _UTF16_BOMS:
            yield from self._utf16_chunks(
                head[2:], "utf-16-le" if head[:2] == codecs.BOM_UTF16_LE else "utf-16-be", 2
            )
            return
        elif head[:6] in (b"I\x00S\x00A\x00", b"\x00I\x00S\x00A"):
            # UTF-16 without a BOM: "ISA" tells the byte order.
            yield from self._utf16_chunks(head, "utf-16-le" if head[:1] == b"I" else "utf-16-be", 0)
            return
        # Latin-1 maps bytes 1:1 onto characters, so string offsets are byte offsets;
        # segments holding non-ASCII bytes are re-decoded one by one (UTF-8, else cp1252).
        while head:
            yield head.decode("latin-1")
            head = self.stream.read(self.chunk_size)

    def _utf16_chunks(self, data: bytes, encoding: str, bom: int) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder(encoding)()
        self.start_offset, self.byte_scale, self.fix_encoding = bom, 2, False
        try:
            while data:
                yield decoder.decode(data)
                data = self.stream.read(self.chunk_size)
            yield decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise X12SyntaxError("invalid UTF-16 data", source=self.source) from exc

    # -- errors ---------------------------------------------------------------------
    def _error(self, problem: str, offset: int | None, number: int | None = None) -> X12SyntaxError:
        byte = None if offset is None else self.start_offset + offset * self.byte_scale
        return X12SyntaxError(problem, source=self.source, segment_number=number, offset=byte)

    # -- segments ------------------------------------------------------------------
    def segments(self) -> Iterator[Segment]:
        for item in self.batches():
            if isinstance(item, Segment):
                yield item
            else:
                yield from item.segments()

    def window(self, window: Window) -> Iterator[Segment | SegmentBatch]:
        """:meth:`batches` over ``window``: single-byte text read as Latin-1, as
        :meth:`_chunks` reads a file without a BOM."""
        start = 0 if window.resume is None else window.resume.offset
        self.stream.seek(start)
        limit = None if window.stop is None else window.stop - start
        self.stop = window if window.stop is not None else None

        def chunks() -> Iterator[str]:
            left = limit
            while left is None or left > 0:
                data = self.stream.read(
                    self.chunk_size if left is None else min(left, self.chunk_size)
                )
                if not data:
                    return
                if left is not None:
                    left -= len(data)
                yield data.decode("latin-1")

        resume = window.resume
        if resume is None:
            yield from self.batches(chunks())
            return
        self.number = resume.number
        tracker = _EnvelopeTracker(self, resume.delimiters)
        tracker.interchange, tracker.group, tracker.envelope = resume.envelopes
        tracker.open = list(resume.open)
        source = chunks()
        buf, base, exhausted = yield from self._interchange(
            "", resume.offset, resume.delimiters, source, False, tracker
        )
        yield from self.batches(source, buf, base, exhausted)

    def batches(
        self,
        chunks: Iterator[str] | None = None,
        buf: str = "",
        base: int = 0,  # base: text offset of buf[0]
        exhausted: bool = False,
    ) -> Iterator[Segment | SegmentBatch]:
        if chunks is None:
            chunks = self._chunks()
        while True:
            while len(buf) < 512 and not exhausted:
                nxt = next(chunks, None)
                if nxt is None:
                    exhausted = True
                else:
                    buf += nxt
            stripped = buf.lstrip(_WHITESPACE)
            base += len(buf) - len(stripped)
            buf = stripped
            if not buf:
                if self.number == 0:
                    raise self._error("empty file: no X12 interchange", 0)
                return
            if not buf.startswith("ISA"):
                what = "data after the last IEA" if self.number else "not an X12 interchange"
                found = _kind_of(buf)
                raise self._error(f"{what}: expected 'ISA', found {found}", base, self.number + 1)
            delimiters = self._isa_delimiters(buf, base)
            state = yield from self._interchange(buf, base, delimiters, chunks, exhausted)
            buf, base, exhausted = state

    def _isa_delimiters(self, buf: str, base: int) -> Delimiters:
        number = self.number + 1
        element = buf[3] if len(buf) > 3 else ""
        if not element or element.isalnum() or element in _WHITESPACE:
            raise self._error(f"invalid element separator {element!r} in ISA", base, number)
        positions = [i for i, ch in enumerate(buf[:140]) if ch == element]
        if len(positions) < 16 or len(buf) < positions[15] + 3:
            raise self._error("ISA is cut short or has fewer than 16 elements", base, number)
        p16 = positions[15]
        component, terminator = buf[p16 + 1], buf[p16 + 2]
        fields = buf[: p16 + 1].split(element)
        version, repetition = fields[12], fields[11]
        if (
            version < "00501"
            or len(repetition) != 1
            or repetition.isalnum()
            or repetition in (component, terminator, element)
        ):
            repetition = ""  # 4010 and earlier: ISA11 is a standards id, no repetition
        chosen = [element, component, terminator] + ([repetition] if repetition else [])
        if len(set(chosen)) != len(chosen) or component.isalnum() or terminator.isalnum():
            raise self._error(
                f"ISA delimiters clash or are letters/digits: {''.join(chosen)!r}", base, number
            )
        return Delimiters(element, repetition, component, terminator)

    def _interchange(
        self,
        buf: str,
        base: int,
        delimiters: Delimiters,
        chunks: Iterator[str],
        exhausted: bool,
        resumed: _EnvelopeTracker | None = None,
    ) -> Generator[Segment | SegmentBatch, None, tuple[str, int, bool]]:
        """Yield one interchange: envelope segments, and body segments in batches.

        Returns the rest of the buffer, its offset and whether the input is exhausted.
        The body check runs once per segment id after each envelope segment: the
        envelope state only changes there.
        """
        term, ele = delimiters.segment, delimiters.element
        strip_chars = "".join(c for c in _WHITESPACE if c not in delimiters.active())
        ws = frozenset(strip_chars)
        fix = self.fix_encoding and all(c.isascii() for c in delimiters.active())
        tracker = resumed or _EnvelopeTracker(self, delimiters)
        valid_ids: set[str] = set()
        # body_ids: ids checked valid and allowed since the last envelope segment; known_body:
        # every body id checked in this interchange. Right after an ST all of them are
        # allowed again (the check is only "inside a transaction set"), so body_ids is
        # refilled there and a file of many small transaction sets still splits in bulk.
        body_ids: set[str] = set()
        known_body: set[str] = set()
        number = self.number
        first = resumed is None
        while True:
            off = base
            redecode = fix and not buf.isascii()
            parts = buf.split(term)
            tail = parts.pop()
            pre: list[list[str]] | None = None  # every part split, when none is empty
            stops: list[int] = []  # indexes of parts that are not a known body segment
            if known_body and not redecode:
                texts = filter(None, map(str.strip, parts, repeat(strip_chars)))
                found = list(map(str.split, texts, repeat(ele)))
                if len(found) == len(parts):
                    pre = found
                    if not known_body.issuperset(map(itemgetter(0), pre)):
                        stops = [k for k, e in enumerate(pre) if e[0] not in known_body]
                    stops.append(len(parts))
                elif body_ids and body_ids.issuperset(map(itemgetter(0), found)):
                    # Some part is empty: bulk only when every segment is a known body one.
                    raw_parts = (parts, base, strip_chars)
                    yield SegmentBatch(tracker.envelope, number + 1, found, raw=raw_parts)
                    number += len(found)
                    off += sum(map(len, parts)) + len(parts)
                    parts = []
            found = []
            offsets: list[int] = []
            add, add_offset = found.append, offsets.append
            batch_start = number + 1
            index, stop_at = 0, 0
            count = len(parts)
            while index < count:
                if pre is not None and body_ids:
                    # Inside a transaction set: the known body segments up to the next
                    # other one go out as one batch, already split.
                    while stops[stop_at] < index:
                        stop_at += 1
                    end = stops[stop_at]
                    if end > index:
                        if found:
                            yield SegmentBatch(tracker.envelope, batch_start, found, offsets)
                            found, offsets = [], []
                            add, add_offset = found.append, offsets.append
                        run = parts[index:end]
                        yield SegmentBatch(
                            tracker.envelope, number + 1, pre[index:end],
                            raw=(run, off, strip_chars),
                        )  # fmt: skip
                        number += end - index
                        off += sum(map(len, run)) + len(run)
                        batch_start = number + 1
                        index = end
                        continue
                raw = parts[index]
                start = off
                off += len(raw) + 1
                if pre is not None:
                    seg_text, elements = raw.strip(strip_chars), pre[index]
                    if raw[:1] in ws:
                        start += len(raw) - len(raw.lstrip(strip_chars))
                else:
                    if raw[:1] in ws:
                        seg_text = raw.lstrip(strip_chars)
                        start += len(raw) - len(seg_text)
                        seg_text = seg_text.rstrip(strip_chars)
                        if not seg_text:
                            index += 1
                            continue
                    else:
                        seg_text = raw.rstrip(strip_chars) if raw[-1:] in ws else raw
                        if not seg_text:
                            index += 1
                            continue
                    if redecode and not seg_text.isascii():
                        seg_text = _redecode(seg_text)
                    elements = seg_text.split(ele)
                number += 1
                if elements[0] in body_ids:
                    add(elements)
                    add_offset(start)
                    index += 1
                    continue
                tag = elements[0]
                try:
                    if tag not in valid_ids:
                        if not _valid_id(tag):
                            self.number = number
                            raise self._error(f"invalid segment id {_shown_id(tag)}", start, number)
                        valid_ids.add(tag)
                    if tag not in _ENVELOPE_IDS:
                        tracker.check_body(tag, number, start)
                        body_ids.add(tag)
                        known_body.add(tag)
                        add(elements)
                        add_offset(start)
                        index += 1
                        continue
                    if found:
                        yield SegmentBatch(tracker.envelope, batch_start, found, offsets)
                        found, offsets = [], []
                        add, add_offset = found.append, offsets.append
                    body_ids.clear()
                    if tag == "ISA" and not first and not _same_isa(seg_text, delimiters):
                        # A new interchange with other delimiters: re-detect from here.
                        self.number = number - 1
                        rest = term.join(parts[index:]) + term + tail
                        tracker.require_closed(start)
                        return rest, start, exhausted
                    first = False
                    envelope = tracker.see(elements, number, start)
                    if tag == "ST":
                        body_ids.update(known_body)
                except X12SyntaxError:
                    if found:  # what came before the error, as read_segments would have
                        yield SegmentBatch(tracker.envelope, batch_start, found, offsets)
                    raise
                yield Segment(elements, number, start, envelope)
                batch_start = number + 1
                if tag == "IEA":
                    self.number = number
                    rest = term.join(parts[index + 1 :]) + (term if index + 1 < count else "")
                    return rest + tail, off, exhausted
                index += 1
            if found:
                yield SegmentBatch(tracker.envelope, batch_start, found, offsets)
            base = off
            buf = tail
            nxt = None if exhausted else next(chunks, None)
            if nxt is None:
                exhausted = True
                self.number = number
                stop = self.stop
                if stop is not None and not tail and tracker.open:
                    # The end of a window, between two segments of an interchange.
                    envelopes = (tracker.interchange, tracker.group, tracker.envelope)
                    opened = tuple(tracker.open)
                    stop.reached = Checkpoint(base, number, delimiters, envelopes, opened)
                    return "", base, True
                if _unterminated_last_ok(tail, delimiters):
                    buf = tail + term
                    continue
                if tail.strip(_WHITESPACE):
                    raise self._error(
                        "file ends in the middle of a segment (no segment terminator)",
                        base,
                        number + 1,
                    )
                raise self._error(f"file ends before {tracker.missing()}", base, number)
            buf = tail + nxt


class _EnvelopeTracker:
    """Keeps the envelope context and refuses segments outside their envelope."""

    def __init__(self, reader: _Reader, delimiters: Delimiters) -> None:
        self.reader = reader
        self.interchange = Envelope(delimiters, source=reader.source)
        self.group = self.interchange
        self.envelope = self.interchange
        self.open: list[str] = []  # stack of open envelope ids: ISA, GS, ST

    def see(self, elements: list[str], number: int, offset: int) -> Envelope:
        """Track an envelope segment; return the context it belongs to."""
        tag = elements[0]
        opener = {"ISA": [], "GS": ["ISA"], "ST": ["ISA", "GS"], "TA1": ["ISA"]}
        closer = {"SE": "ST", "GE": "GS", "IEA": "ISA"}
        if tag in opener:
            if tag == "TA1":
                if self.open != ["ISA"]:
                    raise self.reader._error("TA1 outside an interchange", offset, number)
                return self.envelope
            if self.open != opener[tag]:
                problem = f"{tag} where {self._expected()} was expected"
                raise self.reader._error(problem, offset, number)
            self.open.append(tag)
            self._enter(tag, elements, number)
            return self.envelope
        if not self.open or self.open[-1] != closer[tag]:
            if closer[tag] in self.open:
                trailer = {"ST": "SE", "GS": "GE"}[self.open[-1]]
                problem = f"{tag} while {self.open[-1]} is still open (missing {trailer})"
            else:
                problem = f"{tag} without a matching {closer[tag]}"
            raise self.reader._error(problem, offset, number)
        self.open.pop()
        # The trailer keeps the context it closes; the segments after it do not.
        closed = self.envelope
        self.envelope = self.group if tag == "SE" else self.interchange
        return closed

    def _enter(self, tag: str, el: list[str], number: int) -> None:
        get = el.__getitem__ if len(el) > 16 else (lambda i: el[i] if i < len(el) else "")
        if tag == "ISA":
            self.interchange = dataclasses.replace(
                self.interchange,
                sender_id=get(6).strip(),
                receiver_id=get(8).strip(),
                interchange_date=get(9),
                interchange_time=get(10),
                interchange_control_number=get(13).strip(),
                ack_requested=get(14),
                usage_indicator=get(15),
            )
            self.group = self.envelope = self.interchange
        elif tag == "GS":
            self.group = dataclasses.replace(
                self.interchange,
                functional_id=get(1),
                group_control_number=get(6),
                version=get(8),
            )
            self.envelope = self.group
        else:
            self.envelope = dataclasses.replace(
                self.group,
                transaction_set_id=get(1),
                transaction_control_number=get(2),
                implementation=get(3),
                st_segment_number=number,
            )

    def check_body(self, tag: str, number: int, offset: int) -> None:
        if self.open != ["ISA", "GS", "ST"]:
            problem = f"segment {tag} outside a transaction set (expected {self._expected()})"
            raise self.reader._error(problem, offset, number)

    def _expected(self) -> str:
        return {0: "ISA", 1: "GS or IEA", 2: "ST or GE", 3: "SE"}[len(self.open)]

    def missing(self) -> str:
        names = {"ISA": "IEA", "GS": "GE", "ST": "SE"}
        if not self.open:
            return "the next segment"
        return f"its {names[self.open[-1]]} trailer (cut short)"

    def require_closed(self, offset: int) -> None:
        if self.open:
            raise self.reader._error(f"ISA before {self.missing()}", offset, self.reader.number + 1)


def _valid_id(tag: str) -> bool:
    return (
        2 <= len(tag) <= 3
        and tag.isascii()
        and tag.isalnum()
        and tag[0].isalpha()
        and (tag.upper() == tag)
    )


def _unterminated_last_ok(tail: str, delimiters: Delimiters) -> bool:
    text = tail.strip(_WHITESPACE)
    if not text:
        return False
    if delimiters.segment in "\r\n":
        return True
    parts = text.split(delimiters.element)
    # Only a complete IEA (count and 9-digit control number) may lack its terminator.
    return len(parts) == 3 and parts[0] == "IEA" and parts[1].isdigit() and len(parts[2]) == 9


def _same_isa(text: str, delimiters: Delimiters) -> bool:
    return (
        len(text) == 105
        and text[3] == delimiters.element
        and text[104] == delimiters.component
        and (not delimiters.repetition or text[82] == delimiters.repetition)
    )


def _redecode(text: str) -> str:
    raw = text.encode("latin-1")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:
            return text


def iter_segment_texts(segments: Iterable[Segment]) -> Iterator[str]:
    """The segments joined back into text (for tests and debugging)."""
    for seg in segments:
        yield seg.envelope.delimiters.element.join(seg.elements)


def _shown_id(tag: str) -> str:
    """A would-be segment id for an error message: shown when id-sized, else only its length
    (a long one is field data cut by a wrong delimiter: it may be PHI)."""
    if len(tag) <= 3:
        return "'" + tag.encode("unicode_escape").decode("ascii") + "'"
    return f"of {len(tag)} characters"


def _kind_of(head: str) -> str:
    """What a file that is not X12 starts with, without quoting it (it may be PHI)."""
    if head.startswith("%PDF"):
        return "a PDF"
    if head.startswith("PK"):
        return "a ZIP/Office file"
    if head[:1] in "<":
        return "XML/HTML"
    if head[:1] in "{[":
        return "JSON"
    if all(ch.isprintable() or ch in "\r\n\t" for ch in head[:40]):
        return "other text"
    return "binary data"
