"""SNIP 1 envelope checks: ISA width, trailer counts and control numbers, GS/ST agreement, TA1.

The reader already refuses what cannot be read at all (a trailer without its header,
a file cut short); what it lets through and this module checks is the arithmetic
and the agreement between headers and trailers (DOMAIN.md §1.1-1.3)::

    checker = EnvelopeChecker("in.835")
    for seg in read_segments("in.835"):
        checker.feed(seg)
    problems = checker.problems
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pipeline.x12.problems import Problem
from pipeline.x12.segments import Segment

__all__ = ["FUNCTIONAL_IDS", "ISA_WIDTH", "EnvelopeChecker", "check_envelopes"]

ISA_WIDTH = 106  # characters, terminator included
_ISA_FIELD_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)

# GS01 functional identifier -> the ST01 values a group of that kind holds (DOMAIN.md §1.2).
FUNCTIONAL_IDS: dict[str, frozenset[str]] = {
    "HS": frozenset({"270"}),
    "HB": frozenset({"271"}),
    "HC": frozenset({"837"}),
    "HP": frozenset({"835"}),
    "FA": frozenset({"999", "997"}),
    "HN": frozenset({"277"}),
    "HR": frozenset({"276"}),
    "HI": frozenset({"278"}),
    "BE": frozenset({"834"}),
    "RA": frozenset({"820"}),
}


def _digits(size: int) -> Callable[[str], bool]:
    return lambda value: len(value) == size and value.isdigit()


# TA101 control number, TA102 date YYMMDD, TA103 time HHMM, TA104 ack code, TA105 note code
_TA1_FORMATS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("a 9-digit interchange control number", _digits(9)),
    ("a YYMMDD date", _digits(6)),
    ("an HHMM time", _digits(4)),
    ("A, E or R", lambda value: value in ("A", "E", "R")),
    ("a 3-digit note code", _digits(3)),
)


@dataclass
class _Open:
    """A header waiting for its trailer: where it was and what it counts."""

    seg: Segment
    children: int = 0  # GS in an ISA, ST in a GS


@dataclass
class EnvelopeChecker:
    """Feed every segment of one file in order; read :attr:`problems` at the end."""

    source_file: str
    problems: list[Problem] = field(default_factory=list)
    _isa: _Open | None = None
    _gs: _Open | None = None
    _st: Segment | None = None

    def feed(self, seg: Segment) -> None:
        tag = seg.id
        if tag == "ISA":
            self._check_isa(seg)
            self._isa = _Open(seg)
        elif tag == "GS":
            self._gs = _Open(seg)
            if self._isa:
                self._isa.children += 1
        elif tag == "ST":
            self._st = seg
            if self._gs:
                self._gs.children += 1
            self._check_st(seg)
        elif tag == "SE":
            self._check_se(seg)
            self._st = None
        elif tag == "GE":
            self._check_trailer(seg, self._gs, "group", "GE", "GS06")
            self._gs = None
        elif tag == "IEA":
            self._check_trailer(seg, self._isa, "interchange", "IEA", "ISA13")
            self._isa = None
        elif tag == "TA1":
            self._check_ta1(seg)

    # -- ISA ------------------------------------------------------------------------
    def _check_isa(self, seg: Segment) -> None:
        d = seg.envelope.delimiters
        width = len(d.element.join(seg.elements)) + len(d.segment)
        if width == ISA_WIDTH:
            return
        wrong = [
            f"ISA{i:02d} has {len(seg[i])} (expected {size})"
            for i, size in enumerate(_ISA_FIELD_WIDTHS, start=1)
            if len(seg[i]) != size
        ]
        detail = "; ".join(wrong) if wrong else "an ISA needs exactly 16 elements"
        self._add(
            seg, "interchange", seg[13].strip(), "isa_width", str(ISA_WIDTH), str(width),
            f"ISA is {width} characters, not {ISA_WIDTH}: {detail}", element="ISA",
        )  # fmt: skip

    # -- TA1 (interchange acknowledgment: no guide map checks it, so we do) ---------
    def _check_ta1(self, seg: Segment) -> None:
        for index, (what, ok) in enumerate(_TA1_FORMATS, start=1):
            value = seg[index]
            if not ok(value):
                self._add(
                    seg, "interchange", seg[1], "ta1_format", what, value,
                    f"TA1{index:02d} {value or '(empty)'!s} is not {what}",
                    element=f"TA1{index:02d}",
                )  # fmt: skip
        if len(seg) > len(_TA1_FORMATS) + 1:
            self._add(
                seg, "interchange", seg[1], "ta1_format", "5 elements", str(len(seg) - 1),
                f"TA1 has {len(seg) - 1} elements, the segment defines 5", element="TA1",
            )  # fmt: skip

    # -- ST / SE --------------------------------------------------------------------
    def _check_st(self, seg: Segment) -> None:
        gs = self._gs.seg if self._gs else None
        if gs is None:
            return
        st01, st03, gs01, gs08 = seg[1], seg[3], gs[1], gs[8]
        allowed = FUNCTIONAL_IDS.get(gs01)
        if allowed is not None and st01 not in allowed:
            self._add(
                seg, "transaction", seg[2], "gs01_st01", "/".join(sorted(allowed)), st01,
                f"ST01 {st01} cannot sit in a GS01 {gs01} group "
                f"(expects {'/'.join(sorted(allowed))})",
                element="ST01",
            )  # fmt: skip
        if st03 and st03 != gs08:
            self._add(
                seg, "transaction", seg[2], "gs08_st03", gs08, st03,
                f"ST03 {st03} differs from GS08 {gs08}", element="ST03",
            )  # fmt: skip

    def _check_se(self, seg: Segment) -> None:
        st = self._st
        if st is None:
            return
        control = st[2]
        counted = seg.number - st.number + 1  # ST through SE, as SE01 counts
        if seg[1] != str(counted):
            self._add(
                seg, "transaction", control, "se_count", str(counted), seg[1],
                f"SE01 says {seg[1] or '(empty)'} segments, the set has {counted} (ST to SE)",
                element="SE01",
            )  # fmt: skip
        if seg[2] != control:
            self._add(
                seg, "transaction", control, "se_control", control, seg[2],
                f"SE02 {seg[2] or '(empty)'} does not match ST02 {control}", element="SE02",
            )  # fmt: skip

    # -- GE / IEA -------------------------------------------------------------------
    def _check_trailer(
        self, seg: Segment, header: _Open | None, level: str, tag: str, control_ref: str
    ) -> None:
        if header is None:
            return
        index = 6 if tag == "GE" else 13
        control = header.seg[index].strip()
        inner = "transaction sets" if tag == "GE" else "functional groups"
        if seg[1].strip() != str(header.children):
            self._add(
                seg, level, control, f"{tag.lower()}_count", str(header.children), seg[1],
                f"{tag}01 says {seg[1] or '(empty)'} {inner}, found {header.children}",
                element=f"{tag}01",
            )  # fmt: skip
        if seg[2].strip() != control:
            self._add(
                seg, level, control, f"{tag.lower()}_control", control, seg[2],
                f"{tag}02 {seg[2] or '(empty)'} does not match {control_ref} {control}",
                element=f"{tag}02",
            )  # fmt: skip

    def _add(
        self,
        seg: Segment,
        level: str,
        key: str,
        rule: str,
        expected: str,
        actual: str,
        message: str,
        *,
        element: str,
    ) -> None:
        control = seg.envelope.transaction_control_number if level == "transaction" else ""
        self.problems.append(
            Problem(
                source_file=self.source_file,
                transaction_control_number=control,
                level=level,
                key=key,
                rule=rule,
                expected=expected,
                actual=actual,
                message=message,
                segment_number=seg.number,
                segment_id=seg.id,
                element=element,
            )
        )


def check_envelopes(segments: Iterable[Segment], source_file: str) -> list[Problem]:
    """All SNIP 1 problems of a sequence of segments (convenience for tests and callers)."""
    checker = EnvelopeChecker(source_file)
    for seg in segments:
        checker.feed(seg)
    return checker.problems
