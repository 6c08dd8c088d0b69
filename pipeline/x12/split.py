"""Cut a one-interchange, one-group file into pieces of whole transaction sets.

So the sets of a big file (a 271 answering 110,000 inquiries) can be read in several processes:
each piece reads as an interchange of its own — the file's ISA/GS header, a run of its ST..SE
sets as they are, and the file's GE/IEA with GE01 counting the piece's sets. What a set says
does not depend on the other sets, so reading the pieces in order gives the same records as
reading the file. A :class:`Piece` names byte ranges of the file, not its bytes: what goes to
a worker process is a few numbers, and the worker reads its part of the file itself.

Only plain files are cut: exactly one ISA, one GS, one GE and one IEA, as many SE as ST, at
least two sets per piece. Anything else (several groups, a BOM, a torn set) gives ``None``:
read the file whole, where its envelope problems are found and named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Piece", "split_transaction_sets"]

_WS = rb"[ \t\r\n]*"


@dataclass(frozen=True)
class Piece:
    """Sets ``start``..``end`` (byte offsets) of ``path``, between its header and trailer."""

    path: str
    header_end: int
    start: int
    end: int
    sets: int
    trailer_at: int

    def read(self) -> bytes:
        """The piece as an interchange of its own (GE01 = its sets)."""
        with open(self.path, "rb") as fh:
            header = fh.read(self.header_end)
            fh.seek(self.start)
            body = fh.read(self.end - self.start)
            fh.seek(self.trailer_at)
            trailer = fh.read()
        return header + body + _recount(trailer, self.sets, header[3:4])


def split_transaction_sets(path: str | Path, parts: int) -> list[Piece] | None:
    """``path`` as up to ``parts`` pieces of consecutive sets, or ``None`` (read it whole)."""
    data = Path(path).read_bytes()
    if parts < 2 or not data.startswith(b"ISA") or len(data) < 106:
        return None
    element, terminator = data[3:4], data[105:106]
    if element.isalnum() or terminator.isalnum() or element == terminator:
        return None
    found = {
        tag: _segment_starts(data, tag, element, terminator)
        for tag in (b"ISA", b"GS", b"ST", b"SE", b"GE", b"IEA")
    }
    starts = found[b"ST"]
    single = all(len(found[tag]) == 1 for tag in (b"ISA", b"GS", b"GE", b"IEA"))
    if not single or len(found[b"SE"]) != len(starts) or len(starts) < 2 * parts:
        return None
    trailer_at = found[b"GE"][0]
    if trailer_at < starts[-1] or found[b"GS"][0] > starts[0]:
        return None
    size = -(-len(starts) // parts)  # sets per piece, the last may hold fewer
    return [
        Piece(
            str(path),
            header_end=starts[0],
            start=starts[first],
            end=starts[first + size] if first + size < len(starts) else trailer_at,
            sets=min(size, len(starts) - first),
            trailer_at=trailer_at,
        )
        for first in range(0, len(starts), size)
    ]


def _segment_starts(data: bytes, tag: bytes, element: bytes, terminator: bytes) -> list[int]:
    """Offsets of every ``tag`` segment (at the start, or after a terminator and whitespace)."""
    pattern = re.compile(
        rb"(?:\A|" + re.escape(terminator) + rb")" + _WS + rb"(" + tag + re.escape(element) + rb")"
    )
    return [m.start(1) for m in pattern.finditer(data)]


def _recount(trailer: bytes, sets: int, element: bytes) -> bytes:
    """The GE/IEA trailer with GE01 set to ``sets``."""
    head = b"GE" + element
    end = trailer.index(element, len(head))
    return head + str(sets).encode() + trailer[end:]
