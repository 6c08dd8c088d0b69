"""SNIP 2 (implementation-guide) checks from compiled map tables: pyx12's verdicts, not its speed.

:mod:`pipeline.x12.compiled_maps` turns pyx12's XML maps and ours into tables once; this
module walks a file's segments through them the way pyx12 4.0.0 does (``X12Reader``,
``walk_tree``, ``segment_if.is_valid_errors``, ``err_handler`` and the collector in
:mod:`pipeline.x12.ig`), so it reports the same findings with the same 999 IK3/IK4 codes,
positions and messages. ``tests/x12/test_compiled_conformance.py`` holds pyx12 as the
reference over the corpus and our build outputs.

Where the speed comes from, without changing a verdict:

* The walk from one map node to the next depends only on the node and on the values pyx12
  matches segments by (the qualifier codes), never on the counts; the counts only decide which
  errors the walk raises. So each (node, qualifiers) walk is traced once into a few counter
  operations, and later segments replay the trace.
* Element checks are plain tables (length, character class, code set, date/time) on our
  reader's already split elements; pyx12 re-parses every segment into objects.
* The loop/segment counter is a dict of path strings; pyx12 re-parses an ``X12Path`` on
  every count.

Where pyx12 itself fails (an exception inside it: it then checks nothing), this engine keeps
going with the sensible reading; ``docs/validator-conformance.md`` lists those corners.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pipeline.x12.compiled_fast import segment_pattern
from pipeline.x12.compiled_maps import (
    CompiledMap,
    CompositeRule,
    ElementRule,
    LoopRule,
    MapIndex,
    SegmentRule,
    load_compiled_map,
    map_index,
)
from pipeline.x12.ig import DUPLICATED_ENVELOPE_CODES, ig_map_path
from pipeline.x12.problems import Problem, without_value
from pipeline.x12.segments import Delimiters, Segment

__all__ = ["CompiledCheck", "check_compiled", "check_compiled_file"]

_SUPPORTED_ISA12 = ("00401", "00501")
_REC_N = re.compile(r"-?[0-9]+", re.S | re.ASCII)
_REC_R = re.compile(r"-?[0-9]*(\.[0-9]+)?", re.S | re.ASCII)
_BAD_E = re.compile(r"""[^A-Z0-9!"&'()*+,\-\./:;?= a-z%~@\[\]_{}\\|<>#$]""", re.S | re.ASCII)
_BAD_E5 = re.compile(r"""[^A-Z0-9!"&'()*+,\-\./:;?= a-z%~@\[\]_{}\\|<>^`#$]""", re.S | re.ASCII)
_NOT_DIGIT = re.compile(r"[^0-9]+", re.S | re.ASCII)
_SEG_ID = re.compile(r"^[A-Z][A-Z0-9]{1,2}$", re.S)
_CONTROL = [
    (chr(c), name)
    for c, name in (
        (0x07, "BEL"), (0x09, "HT"), (0x0A, "LF"), (0x0B, "VT"), (0x0C, "FF"), (0x0D, "CR"),
        (0x1C, "FS"), (0x1D, "GS"), (0x1E, "RS"), (0x1F, "US"), (0x01, "SOH"), (0x02, "STX"),
        (0x03, "ETX"), (0x04, "EOT"), (0x05, "ENQ"), (0x06, "ACK"), (0x11, "DC1"),
        (0x12, "DC2"), (0x13, "DC3"), (0x14, "DC4"), (0x15, "NAK"), (0x16, "SYN"),
        (0x17, "ETB"),
    )
]  # fmt: skip
_CONTROL_CHARS = re.compile("[" + "".join(re.escape(c) for c, _ in _CONTROL) + "]")
_DATE_TYPES = ("RD8", "DT", "D8", "D6")
# segments the reader emulation does more for than count them
_READER_SPECIAL = frozenset({"ISA", "GS", "ST", "HL", "CLM", "LX", "IEA", "GE", "SE"})
_ENVELOPE = frozenset({"ISA", "GS", "ST", "IEA", "GE", "SE"})
_READER_COUNTED = _READER_SPECIAL - _ENVELOPE

# clean segment texts remembered per map segment (see CompiledCheck._remember_clean)
_CLEAN_MEMO = 4096
# walk trace operations (see _Walker)
_SEG_MISSING, _LOOP_MISSING, _MATCH_SEG, _ENTER_LOOP, _NOT_FOUND, _STRAY = range(6)


class _Crash(Exception):
    """Where pyx12 would raise; the compiled engine reports it as an engine warning."""


# ---------------------------------------------------------------------------------------------
# data types (pyx12.validation)


def _valid_date(data_type: str, val: str) -> bool:
    if data_type == "D8" and len(val) != 8:
        return False
    if data_type == "D6" and len(val) != 6:
        return False
    if _NOT_DIGIT.search(val):
        return False
    if len(val) not in (6, 8, 12):
        return False
    if len(val) == 6:
        val = ("20" if int(val[0:2]) < 50 else "19") + val
    year, month, day = int(val[0:4]), int(val[4:6]), int(val[6:8]) if len(val) >= 8 else 0
    if year < 1800 or month < 1 or month > 12:
        return False
    if month in (1, 3, 5, 7, 8, 10, 12):
        last = 31
    elif month in (4, 6, 9, 11):
        last = 30
    elif not year % 4 and not (not year % 100 and year % 400):
        last = 29
    else:
        last = 28
    if day < 1 or day > last:
        return False
    return not (len(val) == 12 and not _valid_time(val[8:12]))


def _valid_time(val: str) -> bool:
    if _NOT_DIGIT.search(val):
        return False
    if val[0:2] > "23" or val[2:4] > "59":
        return False
    return not (len(val) > 4 and (len(val) < 6 or val[4:6] > "59" or len(val) > 8))


def _valid_type(val: str, data_type: str | None, icvn: str) -> bool:
    """pyx12's ``IsValidDataType`` with charset E."""
    if not data_type:
        return True
    if data_type[0] == "N":
        m = _REC_N.match(val)
        return m is not None and m.group(0) == val
    if data_type == "R":
        m = _REC_R.match(val)
        return m is not None and m.group(0) == val
    if data_type in ("ID", "AN"):
        bad = (_BAD_E5 if icvn == "00501" else _BAD_E).search(val)
        return not (bad and bad.group(0))
    if data_type == "RD8":
        if "-" not in val:
            return False
        parts = val.split("-")
        if len(parts) != 2:
            raise _Crash("RD8 value with more than one '-'")
        return _valid_type(parts[0], "D8", "00401") and _valid_type(parts[1], "D8", "00401")
    if data_type in ("DT", "D8", "D6"):
        return _valid_date(data_type, val)
    if data_type == "TM":
        return _valid_time(val)
    return data_type == "B"


# ---------------------------------------------------------------------------------------------
# element and segment checks (pyx12.map_if: element_if / composite_if / segment_if)

# one finding: (element rule or None for segment-level, code, text, value)
_Finding = tuple[ElementRule | None, str, str, str | None]


def _check_element(
    rule: ElementRule, value: str | None, icvn: str, ext: dict[str, frozenset[str | None]],
    type_list: list[str | None] | None = None,
) -> list[_Finding]:  # fmt: skip
    if not value:
        if rule.usage in ("N", "S"):
            return []
        if rule.usage == "R" and (
            rule.seq != 1 or not rule.in_composite or rule.parent_usage == "R"
        ):
            return [
                (
                    rule,
                    "1",
                    f'Mandatory data element "{rule.name}" ({rule.refdes}) is missing',
                    None,
                )
            ]
        return []
    name, refdes = rule.name, rule.refdes
    if rule.usage == "N":
        return [(rule, "10", f'Data element "{name}" ({refdes}) is marked as Not Used', None)]
    if rule.undefined:
        raise _Crash(f"data element {rule.data_ele!r} is not defined")
    out: list[_Finding] = []
    data_type = rule.data_type
    if data_type is not None and (data_type == "R" or data_type[0] == "N"):
        length = len(value.replace("-", "").replace(".", ""))
    else:
        length = len(value)
    if length < rule.min_len:
        out.append(
            (
                rule,
                "4",
                f'Data element "{name}" ({refdes}) is too short: '
                f'len("{value}") = {length} < {rule.min_len} (min_len)',
                value,
            )
        )
    if length > rule.max_len:
        out.append(
            (
                rule,
                "5",
                f'Data element "{name}" ({refdes}) is too long: '
                f'len("{value}") = {length} > {rule.max_len} (max_len)',
                value,
            )
        )
    if _CONTROL_CHARS.search(value):
        for char, label in _CONTROL:
            if char in value:
                bad = f"<{label}>"
                out.append(
                    (
                        rule,
                        "6",
                        f'Data element "{name}" ({refdes}), '
                        f"contains an invalid control character({bad})",
                        bad,
                    )
                )
                return out
    if data_type in ("AN", "ID") and value[-1] == " " and len(value.rstrip()) >= rule.min_len:
        out.append(
            (
                rule,
                "6",
                f'Data element "{name}" ({refdes}) has unnecessary trailing spaces. ({value})',
                value,
            )
        )
    if (rule.codes or rule.external is not None) and value not in rule.codes:
        valid = False
        if rule.external is not None:
            codes = ext.get(rule.external)
            if codes is None:
                raise _Crash(f"external code set {rule.external!r} is not defined")
            valid = value in codes
        if not valid:
            out.append((rule, "7", f"({value}) is not a valid code for {name} ({refdes})", value))
    if not _valid_type(value, data_type, icvn):
        if data_type in _DATE_TYPES:
            out.append(
                (
                    rule,
                    "8",
                    f'Data element "{name}" ({refdes}) contains an invalid date ({value})',
                    value,
                )
            )
        elif data_type == "TM":
            out.append(
                (
                    rule,
                    "9",
                    f'Data element "{name}" ({refdes}) contains an invalid time ({value})',
                    value,
                )
            )
        else:
            out.append(
                (
                    rule,
                    "6",
                    f'Data element "{name}" ({refdes}) is type {data_type}, '
                    f"contains an invalid character({value})",
                    value,
                )
            )
    if type_list and not any(_valid_type(value, t, "00401") for t in type_list if t is not None):
        if "TM" in type_list:
            out.append(
                (
                    rule,
                    "9",
                    f'Data element "{name}" ({refdes}) contains an invalid time ({value})',
                    value,
                )
            )
        elif any(t in type_list for t in _DATE_TYPES):
            out.append(
                (
                    rule,
                    "8",
                    f'Data element "{name}" ({refdes}) contains an invalid date ({value})',
                    value,
                )
            )
    if rule.regex is not None and not rule.regex.search(value):
        out.append(
            (
                rule,
                "7",
                f'Data element "{name}" with a value of ({value}) '
                f'failed to match the regular expression "{rule.regex_src}"',
                value,
            )
        )
    return out


def _check_composite(
    rule: CompositeRule, parts: list[str] | None, icvn: str, ext: dict[str, frozenset[str | None]]
) -> list[_Finding]:
    empty = parts is None or not any(parts)
    if empty and rule.usage in ("N", "S"):
        return []
    if rule.usage == "R" and empty:
        return [(None, "1", f'Mandatory composite "{rule.name}" ({rule.refdes}) is missing', None)]
    if parts is None:
        raise _Crash(f"composite {rule.refdes} without usage")
    if rule.usage == "N":
        return [(None, "5", f'Composite "{rule.name}" ({rule.refdes}) is marked as Not Used', None)]
    out: list[_Finding] = []
    count = len(rule.children)
    if len(parts) > count:
        out.append(
            (None, "3", f'Too many sub-elements in composite "{rule.name}" ({rule.refdes})', None)
        )
    for i, child in enumerate(rule.children):
        out += _check_element(child, parts[i] if i < len(parts) else None, icvn, ext)
    return out


def _value(elems: list[str], pos: int, comp: str) -> str | None:
    """pyx12's ``get_value("NN")``: the element, trailing empty components dropped."""
    if pos >= len(elems):
        return None
    return elems[pos].rstrip(comp) if comp else elems[pos]


def _check_segment(
    rule: SegmentRule, elems: list[str], comp: str, icvn: str,
    ext: dict[str, frozenset[str | None]],
) -> list[_Finding]:  # fmt: skip
    """pyx12's ``segment_if.is_valid_errors``; ``elems[0]`` is the segment id."""
    out: list[_Finding] = []
    count = len(rule.by_index)
    n = len(elems) - 1
    seg_id = elems[0]
    if n > count:
        out.append(
            (
                None,
                "3",
                f'Too many elements in segment "{rule.name}" ({seg_id}). '
                f"Has {n}, should have {count}",
                _value(elems, count + 1, comp),
            )
        )
    dtype: list[str | None] = []
    type_list: list[str | None] = []
    is_dtp = seg_id == "DTP"
    for i in range(min(n, count)):
        child = rule.by_index[i]
        if child is None:
            raise _Crash(f"{seg_id}{i + 1:02d} not resolvable in the map")
        raw = elems[i + 1]
        if isinstance(child, CompositeRule):
            parts = raw.split(comp) if comp else [raw]
            out += _check_composite(child, parts, icvn, ext)
            continue
        if i == 1 and is_dtp:
            qualifier = _value(elems, 2, comp)
            if qualifier in ("RD8", "D8", "D6", "DT", "TM"):
                dtype = [qualifier]
        if child.data_ele == "1250":
            type_list.extend(child.valid_codes)
        if comp and comp in raw:
            parts = raw.split(comp)  # a composite where the map has a simple element
            formatted = raw.rstrip(comp)
            out.append(
                (
                    child,
                    "6",
                    f'Data element "{child.name}" ({child.refdes}) is an invalid composite',
                    formatted,
                )
            )
            continue
        if i == 2 and is_dtp:
            out += _check_element(child, raw, icvn, ext, dtype)
        elif child.data_ele == "1251" and type_list:
            out += _check_element(child, raw, icvn, ext, type_list)
        else:
            out += _check_element(child, raw, icvn, ext)
    for i in range(min(n, count), count):
        child = rule.by_index[i]
        if child is None:
            raise _Crash(f"{seg_id}{i + 1:02d} not resolvable in the map")
        if isinstance(child, CompositeRule):
            out += _check_composite(child, None, icvn, ext)
        else:
            out += _check_element(child, None, icvn, ext)
    for kind, positions in rule.syntax:
        text = _syntax_error(kind, positions, elems, comp)
        if text is not None:
            out.append((None, "8", text, None))
    return out


def _syntax_error(kind: str, idx: tuple[int, ...], elems: list[str], comp: str) -> str | None:
    """pyx12's ``is_syntax_valid``: None when satisfied, else its message."""
    label = kind + "".join(f"{i:02d}" for i in idx)
    seg_id = elems[0]
    n = len(elems) - 1
    if len(idx) < 2:
        return f"Syntax string must have at least two comparators {label}"

    def present(s: int) -> bool:
        return n >= s and _value(elems, s, comp) != ""

    def ids(positions: tuple[int, ...]) -> str:
        out = f"{seg_id}{positions[0]:02d}"
        for k in range(len(positions) - 1):
            sep = " or " if k == len(positions) - 2 else ", "
            out += f"{sep}{seg_id}{positions[k + 1]:02d}"
        return out

    if kind == "P":
        count = sum(present(s) for s in idx)
        if count not in (0, len(idx)):
            return f"Syntax Error ({label}): If any of {ids(idx)} is present, then all are required"
        return None
    if kind == "R":
        if not any(present(s) for s in idx):
            return f"Syntax Error ({label}): At least one element is required"
        return None
    if kind == "E":
        if sum(present(s) for s in idx) > 1:
            return f"Syntax Error ({label}): At most one of {ids(idx)} may be present"
        return None
    if kind == "C":
        if present(idx[0]) and sum(present(s) for s in idx[1:]) != len(idx) - 1:
            verb = "are" if len(idx[1:]) > 1 else "is"
            return (
                f"Syntax Error ({label}): If {seg_id}{idx[0]:02d} is present, "
                f"then {ids(idx[1:])} {verb} required"
            )
        return None
    if kind == "L":
        if present(idx[0]) and not any(present(s) for s in idx[1:]):
            return (
                f"Syntax Error ({label}): If {seg_id}{idx[0]:02d} is present, then at least "
                f"one of {ids(idx[1:])} is required"
            )
        return None
    return f"Syntax Type {label} Not Found"


# ---------------------------------------------------------------------------------------------
# the walk (pyx12.map_walker.walk_tree), traced once per (node, qualifiers)


def _is_match(seg: SegmentRule, seg_id: str, values: dict[tuple[int, int | None], Any]) -> bool:
    if seg.id != seg_id:
        return False
    if seg.key is None:
        return True
    ele, sub, codes = seg.key
    return values.get((ele, sub)) in codes


def _parent_loop(node: LoopRule | SegmentRule) -> LoopRule:
    if node.is_root:
        assert isinstance(node, LoopRule)
        return node
    up = node.parent
    while up is not None and not (up.is_loop or up.is_root):
        up = up.parent
    assert up is not None
    return up


class _Tracer:
    """Computes one walk as a list of counter operations (no counts read)."""

    def __init__(self, seg_id: str, values: dict[tuple[int, int | None], Any]) -> None:
        self.seg_id = seg_id
        self.values = values
        self.ops: list[tuple[Any, ...]] = []

    def walk(self, start: SegmentRule) -> SegmentRule | None:
        node = _parent_loop(start)
        node_pos = start.pos
        while True:
            found, result = self._scan(node, node_pos)
            if found:
                return result
            if node.is_root:
                self.ops.append((_NOT_FOUND, start))
                return None
            node_pos = node.pos
            node = _parent_loop(node)

    def _scan(self, node: LoopRule, node_pos: int) -> tuple[bool, SegmentRule | None]:
        for pos, children in node.groups:
            if pos < node_pos:
                continue
            for child in children:
                if isinstance(child, SegmentRule):
                    if _is_match(child, self.seg_id, self.values):
                        if node.is_loop and self._is_loop_match(node):
                            return True, self._goto(node)
                        if child.usage not in ("N", "R", "S"):
                            raise _Crash(f"segment usage {child.usage!r}")
                        self.ops.append((_MATCH_SEG, child))
                        return True, child
                    if child.usage == "R":
                        self.ops.append((_SEG_MISSING, child))
                elif self._is_loop_match(child):
                    return True, self._goto(child)
        return False, None

    def _is_loop_match(self, loop: LoopRule) -> bool:
        if not loop.groups:
            return False
        first = loop.first_node
        if isinstance(first, LoopRule):
            for _pos, children in loop.groups:
                for child in children:
                    if isinstance(child, LoopRule) and self._is_loop_match(child):
                        return True
            return False
        assert isinstance(first, SegmentRule)
        if _is_match(first, self.seg_id, self.values):
            return True
        if loop.usage == "R":
            self.ops.append((_LOOP_MISSING, loop, first))
        return False

    def _goto(self, loop: LoopRule) -> SegmentRule | None:
        first = loop.first_seg
        if first is not None and _is_match(first, self.seg_id, self.values):
            if loop.usage not in ("N", "R", "S"):
                raise _Crash(f"loop usage {loop.usage!r}")
            self.ops.append((_ENTER_LOOP, loop, first))
            return first
        for _pos, children in loop.groups:
            for child in children:
                if isinstance(child, LoopRule):
                    found = self._goto(child)
                    if found is not None:
                        return found
        return None


# ---------------------------------------------------------------------------------------------
# the error tree (pyx12.error_handler) as far as it decides where a finding lands


class _EnvNode:
    __slots__ = ("control", "kind", "line", "line_end")

    def __init__(self, kind: str, line: int, control: str) -> None:
        self.kind = kind
        self.line = line
        self.line_end = 0
        self.control = control

    def cur_line(self) -> int:
        return self.line_end or self.line


class _SegNode:
    __slots__ = ("added", "line", "loop", "name", "seg_id", "st_control")

    def __init__(self, name: str, loop: str, seg_id: str, line: int) -> None:
        self.name = name
        self.loop = loop
        self.seg_id = seg_id
        self.line = line
        self.added = False
        self.st_control = ""

    def cur_line(self) -> int:
        return self.line


class CompiledCheck:
    """Implementation-guide findings of a file fed segment by segment (``add``), then ``problems``.

    The same interchanges are left out as for pyx12 (:class:`pipeline.x12.ig.IgCopy`): another
    ISA12 than 00401/00501, an ISA not 106 characters wide, other delimiters than the first
    interchange's; each with one ``ig_skipped`` warning.
    """

    def __init__(self, source_file: str, map_folder: Path | None = None) -> None:
        self.source_file = source_file
        self._folder = map_folder
        self._index: MapIndex | None = None
        self._delimiters: Delimiters | None = None
        self._skip_interchange = False
        self._gs_seen = False
        self._failed: str | None = None
        self.skipped: list[Problem] = []
        self.out: list[Problem] = []
        self.warnings: list[Problem] = []
        # reader state (pyx12.x12file.X12Reader)
        self._loops: list[tuple[str, str | None]] = []
        self._isa_ids: list[str | None] = []
        self._gs_ids: list[str | None] = []
        self._st_ids: list[str | None] = []
        self._gs_count = self._st_count = self._seg_count = self._hl_count = self._lx_count = 0
        self._hl_stack: list[int | None] = []
        self._check_837_lx = False
        self._reader_errors: list[tuple[str, str, str, str | None, int | None]] = []
        # driver state (ig._Run)
        self._control: CompiledMap | None = None
        self._map_file = ""
        self._cur_map: CompiledMap | None = None
        self._node: SegmentRule | None = None
        self._node_map: CompiledMap | None = None  # the map self._node belongs to
        self._icvn: str | None = None
        self._skipping = False
        self._counts: dict[str, int] = {}
        # error tree cursor (pyx12.error_handler.err_handler)
        self._isa: _EnvNode | None = None
        self._gs: _EnvNode | None = None
        self._st: _EnvNode | None = None
        self._cur: _EnvNode | _SegNode | None = None
        # the segment cursor of a clean segment is only made if a finding lands on it
        self._lazy: tuple[SegmentRule, str, int] | None = None
        self._seg_added = False
        self._comp = ""
        self._sep = "*"
        self._valid_ids: set[str] = set()
        self._syntax_memo: dict[tuple[Any, ...], tuple[str, ...]] = {}
        self._patterns: dict[SegmentRule, re.Pattern[str] | None] = {}
        self._clean: dict[SegmentRule, set[str]] = {}  # texts found clean by the exact checks
        self._children: dict[str, set[str]] = {}  # counter path -> its counted child paths
        self._ext: dict[str, frozenset[str | None]] = {}

    # -- input ------------------------------------------------------------------------------

    def add(self, seg: Segment) -> None:
        elems = seg.elements
        seg_id = elems[0]
        if seg_id == "ISA":
            self._skip_interchange = self._refuse_interchange(seg)
        if self._skip_interchange:
            return
        if seg_id == "GS":
            self._gs_seen = True
        if self._failed is not None:
            return
        try:
            if seg_id in _ENVELOPE or not self._common(elems, seg.number):
                self._segment(elems, seg.number)
        except _Crash as exc:
            self._failed = str(exc)

    def _refuse_interchange(self, seg: Segment) -> bool:
        d = seg.envelope.delimiters
        problem = ""
        if seg[12] not in _SUPPORTED_ISA12:
            problem = f"pyx12 reads only ISA12 00401/00501, not {seg[12]!r}"
        elif len(d.element.join(seg.elements)) != 105:
            problem = "pyx12 needs a 106-character ISA"
        elif self._delimiters not in (None, d):
            problem = "pyx12 reads only the delimiters of the first interchange of a file"
        if problem:
            self.skipped.append(
                Problem(
                    self.source_file, "", "interchange", seg.envelope.interchange_control_number,
                    "ig_skipped", "", "", f"{problem}: interchange skipped",
                    segment_number=seg.number, segment_id=seg.id, severity="warning",
                )
            )  # fmt: skip
            return True
        if self._delimiters is None:
            self._delimiters = d
            self._comp = d.component
            self._sep = d.element
        return False

    def problems(self) -> list[Problem]:
        """Every finding, by position (rule ``ig``; warnings ``ig_no_map``, ``ig_skipped``)."""
        found = list(self.skipped)
        if not self._gs_seen:
            return found
        if self._failed is None:
            try:
                self._cleanup()
            except _Crash as exc:
                self._failed = str(exc)
        if self._failed is not None:
            found.append(
                Problem(
                    self.source_file, "", "transaction", "", "ig_engine", "", "",
                    f"compiled checker stopped ({self._failed}); IG not checked",
                    severity="warning",
                )
            )  # fmt: skip
            return sorted(found, key=_position)
        found += self.warnings + self.out
        return sorted(found, key=_position)

    # -- reader checks (X12Base._parse_segment, X12Reader._parse_segment / __iter__) ----------

    def _reader(self, elems: list[str], line: int) -> None:
        errs = self._reader_errors
        if elems[-1] == "" and len(elems) > 1:
            errs.append(
                ("seg", "SEG1", "Segment contains trailing element terminators", None, line)
            )
        seg_id = elems[0]
        comp = self._comp if seg_id != "ISA" else ""
        first = elems[1] if len(elems) > 1 else ""
        if not (first and first[0] != comp) and not any(
            e.replace(comp, "") if comp else e for e in elems[1:]
        ):
            assert self._delimiters is not None
            shown = _format(elems, comp, comp, self._delimiters.element, self._delimiters.segment)
            text = f'Segment "{shown}" is empty'
            errs.append(("seg", "8", text, None, line))
        if seg_id not in self._valid_ids:
            if not (2 <= len(seg_id) <= 3) or not _SEG_ID.search(seg_id):
                errs.append(("seg", "1", f'Segment identifier "{seg_id}" is invalid', None, line))
            else:
                self._valid_ids.add(seg_id)
        if seg_id not in _READER_SPECIAL:
            self._seg_count += 1
            return
        comp = self._comp
        if seg_id == "ISA":
            if len(elems) - 1 != 16:
                raise _Crash("The ISA segment must have 16 elements")
            isa13 = elems[13]
            if isa13 in self._isa_ids:
                errs.append(
                    (
                        "isa",
                        "025",
                        f"ISA Interchange Control Number {isa13} not unique within file",
                        None,
                        line,
                    )
                )
            self._loops.append(("ISA", isa13))
            self._isa_ids.append(isa13)
            self._gs_count = 0
            self._gs_ids = []
        elif seg_id == "GS":
            gs06 = _value(elems, 6, comp)
            if gs06 in self._gs_ids:
                errs.append(
                    (
                        "gs",
                        "6",
                        f"GS Interchange Control Number {gs06} not unique within file",
                        None,
                        line,
                    )
                )
            self._gs_count += 1
            self._gs_ids.append(gs06)
            self._loops.append(("GS", gs06))
            self._st_count = 0
            self._st_ids = []
        elif seg_id == "ST":
            self._hl_stack = []
            st02 = _value(elems, 2, comp)
            if st02 in self._st_ids:
                errs.append(
                    (
                        "st",
                        "23",
                        f"ST Interchange Control Number {st02} not unique within file",
                        None,
                        line,
                    )
                )
            self._st_count += 1
            self._st_ids.append(st02)
            self._loops.append(("ST", st02))
            self._seg_count = 1
            self._hl_count = 0
        elif seg_id == "HL":
            self._hl_count += 1
            hl01 = _value(elems, 1, comp)
            if self._hl_count != _int(hl01):
                errs.append(
                    (
                        "seg",
                        "HL1",
                        f"My HL count {self._hl_count:d} does not match your HL count {hl01}",
                        None,
                        None,
                    )
                )
            hl02 = _value(elems, 2, comp)
            if hl02 != "":
                parent = _int(hl02)
                if parent not in self._hl_stack:
                    errs.append(
                        ("seg", "HL2", f"HL parent ({parent}) is not a valid parent", None, None)
                    )
                while self._hl_stack and parent != self._hl_stack[-1]:
                    del self._hl_stack[-1]
            self._hl_stack.append(self._hl_count)
        elif self._check_837_lx and seg_id == "CLM":
            self._lx_count = 0
        elif self._check_837_lx and seg_id == "LX":
            self._lx_count += 1
            lx01 = _value(elems, 1, comp)
            if lx01 != f"{self._lx_count:d}":
                errs.append(
                    (
                        "seg",
                        "LX",
                        f"Your 2400/LX01 Service Line Number {lx01} "
                        f"does not match my count of {self._lx_count:d}",
                        None,
                        None,
                    )
                )
        if seg_id not in ("ISA", "IEA", "GS", "GE", "ST", "SE"):
            self._seg_count += 1
        loops = self._loops
        if seg_id == "IEA":
            if loops[-1][0] != "ISA":
                errs.append(("isa", "024", f"Unterminated Loop {loops[-1][0]}", None, None))
                del loops[-1]
            iea02 = _value(elems, 2, comp)
            if loops[-1][1] != iea02:
                errs.append(
                    (
                        "isa",
                        "001",
                        f"IEA id={iea02} does not match ISA id={loops[-1][1]}",
                        None,
                        None,
                    )
                )
            if _int(_value(elems, 1, comp)) != self._gs_count:
                errs.append(("isa", "021", f"IEA count for IEA02={iea02} is wrong", None, None))
            del loops[-1]
        elif seg_id == "GE":
            if loops[-1][0] != "GS":
                errs.append(("gs", "3", f"Unterminated segment {loops[-1][1]}", None, None))
                del loops[-1]
            ge01, ge02 = _value(elems, 1, comp), _value(elems, 2, comp)
            if loops[-1][1] != ge02:
                errs.append(
                    ("gs", "4", f"GE id={ge02} does not match GS id={loops[-1][1]}", None, None)
                )
            if _int(ge01) != self._st_count:
                errs.append(
                    (
                        "gs",
                        "5",
                        f"GE count of {ge01} for GE02={ge02} is wrong. I count {self._st_count}",
                        None,
                        None,
                    )
                )
            del loops[-1]
        elif seg_id == "SE":
            se01, se02 = _value(elems, 1, comp), _value(elems, 2, comp)
            if loops[-1][0] != "ST" or loops[-1][1] != se02:
                errs.append(
                    ("st", "3", f"SE id={se02} does not match ST id={loops[-1][1]}", None, None)
                )
            if _int(se01) != self._seg_count + 1:
                errs.append(
                    (
                        "st",
                        "4",
                        f"SE count of {se01} for SE02={se02} is wrong. "
                        f"I count {self._seg_count + 1}",
                        None,
                        None,
                    )
                )
            del loops[-1]

    def _loop_id(self, kind: str) -> str | None:
        for loop_kind, control in self._loops:
            if loop_kind == kind:
                return control
        return None

    # -- the driver (ig._Run.problems) ---------------------------------------------------------

    def _segment(self, elems: list[str], line: int) -> None:
        if self._index is None:
            self._start()
        try:
            self._reader(elems, line)
        except IndexError as exc:  # a trailer with no open loop: pyx12 raises
            raise _Crash("trailer without an open envelope") from exc
        self._after_reader(elems, line)

    def _after_reader(self, elems: list[str], line: int) -> None:
        seg_id = elems[0]
        index = self._index
        assert index is not None
        if self._control is None:  # pyx12 picks the control map by the first ISA it reads
            name = "x12.control.00501.xml" if elems[12] == "00501" else "x12.control.00401.xml"
            self._control = _load(index.folder, name)
            self._map_file = name
        if seg_id == "ISA":
            self._skipping = False
            self._node, self._node_map = self._control.node("/ISA_LOOP/ISA"), self._control
            self._force("/ISA_LOOP", "/ISA_LOOP/ISA")
        elif seg_id == "GS":
            fic, vriic = _value(elems, 1, self._comp), _value(elems, 8, self._comp)
            found = index.filename(self._icvn, vriic, fic)
            if found is None:
                self._skipping = True
                self.warnings.append(
                    Problem(
                        self.source_file, "", "group", vriic or "", "ig_no_map", "", "",
                        f"no implementation guide map for GS08 {vriic} "
                        f"(GS01 {fic}, ISA12 {self._icvn})",
                        segment_number=line, segment_id="GS", severity="warning",
                    )
                )  # fmt: skip
                self._reader_errors = []
                return
            self._skipping = False
            if found != self._map_file:
                self._map_file = found
                self._cur_map = _load(index.folder, found)
                self._check_837_lx = self._cur_map.id == "837"
            assert self._cur_map is not None
            self._node, self._node_map = self._cur_map.node("/ISA_LOOP/GS_LOOP/GS"), self._cur_map
            self._force("/ISA_LOOP/GS_LOOP", "/ISA_LOOP/GS_LOOP/GS")
        elif self._skipping:
            if seg_id != "IEA":
                self._reader_errors = []
                return
            self._skipping = False
            self._node, self._node_map = self._control.node("/ISA_LOOP/IEA"), self._control
        else:
            assert self._node is not None
            found_node = self._walk(self._node, elems, line)
            if found_node is None:
                return  # pyx12 keeps the node; this segment's reader errors wait for the next
            self._node = found_node
        node = self._node
        assert node is not None
        if seg_id == "ISA":
            self._isa = _EnvNode("ISA", line, elems[13])
            self._lazy = None
            self._cur, self._seg_added = self._isa, True
            self._icvn = elems[12]
            self._handle_reader_errors()
        elif seg_id == "IEA":
            self._handle_reader_errors()
            if self._isa is None:
                raise _Crash("IEA without ISA")
            self._isa.line_end = line
            self._lazy = None
            self._cur, self._seg_added = self._isa, True
        elif seg_id == "GS":
            self._gs = _EnvNode("GS", line, self._loop_id("GS") or "")
            self._lazy = None
            self._cur, self._seg_added = self._gs, True
            self._handle_reader_errors()
        elif seg_id == "GE":
            self._handle_reader_errors()
            if self._gs is None:
                raise _Crash("GE without GS")
            self._gs.line_end = line
            self._lazy = None
            self._cur, self._seg_added = self._gs, True
        elif seg_id == "ST":
            self._st = _EnvNode("ST", line, self._loop_id("ST") or "")
            self._lazy = None
            self._cur, self._seg_added = self._st, True
            self._handle_reader_errors()
        elif seg_id == "SE":
            self._handle_reader_errors()
            if self._st is None:
                raise _Crash("SE without ST")
            self._st.line_end = line
            self._lazy = None
            self._cur, self._seg_added = self._st, True
        else:
            self._add_seg(node.name, node.loop_id, seg_id, line)
            self._handle_reader_errors()
        self._apply_segment_errors(node, elems)

    def _start(self) -> None:
        folder = self._folder or ig_map_path()
        if folder is None:
            raise _Crash("no map folder")
        self._folder = folder
        try:
            self._index = map_index(folder)
        except Exception as exc:  # an unreadable map folder: one engine warning, no traceback
            raise _Crash(f"map folder {folder} unreadable: {type(exc).__name__}: {exc}") from exc
        self._ext = self._index.codes

    def _force(self, loop_path: str, seg_path: str) -> None:
        self._reset(loop_path)
        self._inc(loop_path)
        self._inc(seg_path)

    def _walk(self, start: SegmentRule, elems: list[str], line: int) -> SegmentRule | None:
        cmap = self._node_map
        assert cmap is not None
        seg_id = elems[0]
        comp = self._comp
        paths = cmap.key_paths.get(seg_id)
        if paths is None:  # nothing to match by: the node and id decide the walk
            key: tuple[Any, ...] = (start, seg_id)
            trace = cmap.walks.get(key)
            if trace is None:
                tracer = _Tracer(seg_id, {})
                trace = _trace(tracer.walk(start), tracer.ops)
                cmap.walks[key] = trace
            self._replay(trace[1], elems, line)
            return trace[0]  # type: ignore[no-any-return]
        sig: list[Any] = [start, seg_id]
        values: dict[tuple[int, int | None], Any] = {}
        for ele, sub in paths:
            if ele >= len(elems):
                value: str | None = None
            elif sub is None:
                value = elems[ele].rstrip(comp) if comp else elems[ele]
            else:
                split = elems[ele].split(comp) if comp and seg_id != "ISA" else [elems[ele]]
                value = split[sub - 1] if sub - 1 < len(split) else None
            if value in cmap.key_codes[(seg_id, ele, sub)]:
                values[(ele, sub)] = value
            else:  # only membership matters: one trace for every other value
                values[(ele, sub)] = _OTHER
            sig.append(values[(ele, sub)])
        key = tuple(sig)
        trace = cmap.walks.get(key)
        if trace is None:
            tracer = _Tracer(seg_id, values)
            result = tracer.walk(start)
            trace = _trace(result, tracer.ops)
            cmap.walks[key] = trace
        result, ops, _fast = trace
        self._replay(ops, elems, line)
        return result  # type: ignore[no-any-return]

    def _replay(self, ops: tuple[tuple[Any, ...], ...], elems: list[str], line: int) -> None:
        counts = self._counts
        if len(ops) == 1 and ops[0][0] == _MATCH_SEG:  # the common walk: the next segment
            child = ops[0][1]
            path = child.path
            count = counts.get(path, 0) + 1
            if child.usage != "N" and count <= child.max_repeat:
                counts[path] = count
                if count == 1:
                    self._register(path)
                return
        elif not ops:
            return
        self._replay_all(ops, elems, line)

    def _replay_clean(self, fast: tuple[tuple[str, ...], Any, Any], counts: dict[str, int]) -> bool:
        """A walk's counter operations when they raise nothing (True); False, untouched, when
        one would (``_replay_all`` then replays it with its findings)."""
        checks, kind, node = fast
        for path in checks:
            if counts.get(path, 0) < 1:
                return False  # a mandatory segment or loop may be missing
        if kind == _MATCH_SEG:
            path = node.path
            count = counts.get(path, 0) + 1
            if node.usage == "N" or count > node.max_repeat:
                return False
            counts[path] = count
            if count == 1:
                self._register(path)
            return True
        loop, first = node
        if loop.usage == "N" or counts.get(loop.path, 0) + 1 > loop.max_repeat:
            return False
        self._reset(loop.path)
        self._inc(loop.path)
        self._inc(first.path)
        return True

    def _inc(self, path: str) -> int:
        counts = self._counts
        count = counts.get(path, 0) + 1
        counts[path] = count
        if count == 1:
            self._register(path)
        return count

    def _register(self, path: str) -> None:
        """Link a newly counted path under its ancestors, so a reset finds it without a scan."""
        children = self._children
        chain = _CHAINS.get(path)
        if chain is None:
            chain = _CHAINS[path] = _chain(path)
        for parent, child in chain:
            kids = children.get(parent)
            if kids is None:
                children[parent] = {child}
            elif child in kids:
                return  # the rest of the chain is linked already
            else:
                kids.add(child)

    def _reset(self, path: str) -> None:
        """pyx12's ``NodeCounter.reset_to_node``: forget every count below ``path``."""
        children, counts = self._children, self._counts
        stack = [path]
        while stack:
            kids = children.pop(stack.pop(), None)
            if kids:
                for kid in kids:
                    counts.pop(kid, None)
                    stack.append(kid)

    def _replay_all(self, ops: Iterable[tuple[Any, ...]], elems: list[str], line: int) -> None:
        counts = self._counts
        pending: list[tuple[Any, ...]] = []  # (map node or None, seg id, code, text)
        missing: list[tuple[Any, ...]] = []  # (node, code, text, seg id)
        for op in ops:
            kind = op[0]
            if kind == _MATCH_SEG:
                child = op[1]
                path = child.path
                count = self._inc(path)
                if child.usage == "N":
                    pending.append(
                        (None, "", "2", f"Segment {child.id} found but marked as not used")
                    )
                elif count > child.max_repeat:
                    pending.append(
                        (
                            child,
                            elems[0],
                            "5",
                            f"Segment {elems[0]} exceeded max count.  "
                            f"Found {count}, should have {child.max_repeat}",
                        )
                    )
                if missing:
                    missing = [m for m in missing if m[0].eq_key != child.eq_key]
                    pending += [(m[0], m[3], m[1], m[2]) for m in missing if m[0].pos != child.pos]
                    missing = [m for m in missing if m[0].pos == child.pos]
            elif kind == _SEG_MISSING:
                child = op[1]
                if counts.get(child.path, 0) < 1:
                    missing.append(
                        (
                            child,
                            "3",
                            f'Mandatory segment "{child.name}" ({child.id}) missing',
                            child.id,
                        )
                    )
            elif kind == _LOOP_MISSING:
                loop, first = op[1], op[2]
                if counts.get(loop.path, 0) < 1:
                    missing.append(
                        (first, "3", f'Mandatory loop "{loop.name}" ({loop.id}) missing', first.id)
                    )
            elif kind == _ENTER_LOOP:
                loop, first = op[1], op[2]
                if loop.usage == "N":
                    pending.append((None, "", "2", f"Loop {loop.id} found but marked as not used"))
                else:
                    path = loop.path
                    self._reset(path)
                    count = self._inc(path)
                    if count > loop.max_repeat:
                        pending.append(
                            (
                                loop,
                                elems[0],
                                "4",
                                f"Loop {loop.id} exceeded max count.  "
                                f"Found {count}, should have {loop.max_repeat}",
                            )
                        )
                self._inc(first.path)
                pending += [(m[0], m[3], m[1], m[2]) for m in missing]
                missing = []
            elif kind == _NOT_FOUND:
                start = op[1]
                if elems[0] == "HL":
                    shown = _format(elems, self._comp, ":", "*", "")
                else:
                    shown = f"{elems[0]}*{_value(elems, 1, self._comp)}"
                pending.append(
                    (start, elems[0], "1", f"Segment {shown} not found.  Started at {start.path}")
                )
        for node, seg_id, code, text in pending:
            if node is not None:
                self._add_seg(node.name, node.loop_id, seg_id, line)
            self._seg_error(code, text, None, line)

    # -- error tree ----------------------------------------------------------------------------

    def _add_seg(self, name: str, loop: str, seg_id: str, line: int) -> None:
        self._cur = _SegNode(name, loop, seg_id, line)
        self._lazy = None
        self._seg_added = False

    def _cursor(self) -> _EnvNode | _SegNode | None:
        lazy = self._lazy
        if lazy is not None:
            node, seg_id, line = lazy
            self._cur = _SegNode(node.name, node.loop_id, seg_id, line)
            self._lazy = None
        return self._cur

    def _attach(self) -> bool:
        """pyx12's ``_add_cur_seg``: False when it fails (no transaction set open)."""
        if not self._seg_added:
            if self._st is None or not isinstance(self._cursor(), _SegNode):
                return False
            assert isinstance(self._cur, _SegNode)
            self._cur.st_control = self._st.control
            self._seg_added = True
        return True

    def _handle_reader_errors(self) -> None:
        errors, self._reader_errors = self._reader_errors, []
        for kind, code, text, value, line in errors:
            if kind == "isa":
                self._env_error(self._isa, "ISA", "interchange", code, text)
            elif kind == "gs":
                self._env_error(self._gs, "GS", "group", code, text)
            elif kind == "st":
                self._env_error(self._st, "ST", "transaction", code, text)
            else:
                self._seg_error(code, text, value, line)

    def _env_error(
        self, node: _EnvNode | None, seg_id: str, level: str, code: str, text: str
    ) -> None:
        if node is None:
            raise _Crash(f"{seg_id} error without an open {seg_id}")
        if (seg_id, code) in DUPLICATED_ENVELOPE_CODES:
            return
        control = node.control
        self.out.append(
            Problem(
                self.source_file, node.control if seg_id == "ST" else "", level, control or "",
                "ig", "", "", f"[{code}] {text}", segment_number=node.cur_line(), segment_id=seg_id,
            )
        )  # fmt: skip

    def _seg_error(self, code: str, text: str, value: str | None, line: int | None) -> None:
        cur = self._cursor()
        if not isinstance(cur, _SegNode) or not self._attach():
            return  # pyx12 drops it (an envelope node or no transaction set to hang it on)
        message = without_value(text, value)
        self.out.append(
            Problem(
                self.source_file, cur.st_control, "transaction", cur.name or cur.seg_id, "ig",
                "", value or "", f"[{code}] {message}", segment_number=cur.line,
                segment_id=cur.seg_id, loop=cur.loop,
            )
        )  # fmt: skip

    def _ele_error(self, rule: ElementRule, code: str, text: str, value: str | None) -> None:
        cur = self._cursor()
        if cur is None:
            raise _Crash("element error before any segment")
        if isinstance(cur, _SegNode):
            if not self._seg_added and self._st is None:
                raise _Crash("element error outside a transaction set")
            self._attach()
            control, loop, seg_id = cur.st_control, cur.loop, cur.seg_id
        else:
            control = cur.control if cur.kind == "ST" else ""
            loop, seg_id = "", cur.kind
        own = _segment_id_of(rule.refdes) or seg_id
        ref = f"{own}{rule.ele_pos:02d}"
        if rule.subele_pos:
            ref += f"-{rule.subele_pos}"
        message = without_value(text, value)
        self.out.append(
            Problem(
                self.source_file, control, "transaction", ref, "ig", "", value or "",
                f"[{code}] {message}", segment_number=cur.cur_line(), segment_id=own, loop=loop,
                element=ref,
            )
        )  # fmt: skip

    def _apply_segment_errors(self, node: SegmentRule, elems: list[str]) -> None:
        cmap = self._node_map
        assert cmap is not None
        comp = "" if elems[0] == "ISA" else self._comp  # pyx12 never splits ISA elements
        if node in self._patterns:
            pattern = self._patterns[node]
        else:
            key = (node, self._sep, comp)
            if key in cmap.patterns:
                pattern = cmap.patterns[key]
            else:
                pattern = self._pattern(node, cmap.icvn, comp)
                cmap.patterns[key] = pattern
            self._patterns[node] = pattern
        text = self._sep.join(elems)
        if pattern and pattern.fullmatch(text):
            if not node.syntax:
                return  # the common case: a clean segment, no Python per element
            found: list[_Finding] = [
                (None, "8", t, None) for t in self._syntax(node, elems, comp, text)
            ]
        else:
            clean = self._clean.get(node)
            if clean is not None and text in clean:
                return
            found = _check_segment(node, elems, comp, cmap.icvn, self._ext)
            if not found:
                self._remember_clean(node, text)
        for rule, code, text, value in found:
            if rule is None:
                self._seg_error("8", text, value, None)
            else:
                self._ele_error(rule, code, text, value)

    def _remember_clean(self, node: SegmentRule, text: str) -> None:
        """A segment text the exact checks found clean: the same text there is clean again
        (they read nothing else). Helps what no pattern covers (a map regex: ``EQ01``)."""
        clean = self._clean.get(node)
        if clean is None:
            clean = self._clean[node] = set()
        if len(clean) < _CLEAN_MEMO:  # values that never repeat must not grow it unbounded
            clean.add(text)

    def _syntax(self, node: SegmentRule, elems: list[str], comp: str, text: str) -> tuple[str, ...]:
        """Syntax-rule messages of a segment; memoised by which elements hold text."""
        if comp and comp in text:  # an element of bare separators reads as empty: no memo
            return tuple(
                m for k, p in node.syntax if (m := _syntax_error(k, p, elems, comp)) is not None
            )
        key = (node, tuple(map(bool, elems)))
        found = self._syntax_memo.get(key)
        if found is None:
            found = tuple(
                m for k, p in node.syntax if (m := _syntax_error(k, p, elems, comp)) is not None
            )
            self._syntax_memo[key] = found
        return found

    def _common(self, elems: list[str], line: int) -> bool:
        """The usual segment (no envelope, HL, CLM or LX; no reader finding; a walk already
        traced) in one pass; False when the full path must take it (nothing done then)."""
        seg_id = elems[0]
        comp = self._comp
        cmap = self._node_map
        start = self._node
        if (
            self._skipping
            or self._reader_errors
            or cmap is None
            or start is None
            or len(elems) < 2
            or elems[-1] == ""
            or seg_id not in self._valid_ids
            or not elems[1]
            or elems[1][0] == comp
        ):
            return False
        if seg_id in _READER_COUNTED:  # HL, CLM, LX: the reader's own checks first
            self._reader(elems, line)
            if self._reader_errors:
                self._after_reader(elems, line)
                return True
        else:
            self._seg_count += 1  # pyx12's reader counts it before the walk
        spec = cmap.key_spec.get(seg_id)
        if spec is None:
            key: tuple[Any, ...] = (start, seg_id)
        else:
            ele, sub, codes = spec
            if sub is None:  # matched by one simple element
                value = elems[ele].rstrip(comp) if ele < len(elems) else None
            elif sub > 0 and ele < len(elems):  # by one component
                parts = elems[ele].split(comp)
                value = parts[sub - 1] if sub <= len(parts) else None
            elif sub > 0:
                value = None
            else:
                self._after_reader(elems, line)
                return True
            key = (start, seg_id, value if value in codes else _OTHER)
        trace = cmap.walks.get(key)
        if trace is None or trace[0] is None:
            self._after_reader(elems, line)  # not traced yet, or not found: the full path
            return True
        node, ops, fast = trace
        counts = self._counts
        if fast is None or not self._replay_clean(fast, counts):
            self._replay_all(ops, elems, line)
        self._node = node
        self._lazy = (node, seg_id, line)
        self._seg_added = False
        pattern = self._patterns.get(node)
        if pattern:
            text = self._sep.join(elems)
            if pattern.fullmatch(text):
                if node.syntax:
                    for message in self._syntax(node, elems, comp, text):
                        self._seg_error("8", message, None, None)
                return True
        self._apply_segment_errors(node, elems)
        return True

    def _pattern(self, node: SegmentRule, icvn: str, comp: str) -> re.Pattern[str] | None:
        ext = self._ext

        def accepts(rule: ElementRule, value: str) -> bool:
            try:
                return not _check_element(rule, value, icvn, ext)
            except _Crash:
                return False

        return segment_pattern(node, icvn, self._sep, comp, accepts, ext)

    def _cleanup(self) -> None:
        errs = self._reader_errors
        for kind, control in self._loops:
            if kind == "ST":
                errs.append(
                    (
                        "st",
                        "2",
                        f'Mandatory segment "Transaction Set Trailer" (SE={control}) missing',
                        None,
                        0,
                    )
                )
            elif kind == "GS":
                errs.append(
                    (
                        "gs",
                        "3",
                        f'Mandatory segment "Functional Group Trailer" (GE={control}) missing',
                        None,
                        0,
                    )
                )
            elif kind == "ISA":
                errs.append(
                    (
                        "isa",
                        "023",
                        f'Mandatory segment "Interchange Control Trailer" (IEA={control}) missing',
                        None,
                        0,
                    )
                )
        self._handle_reader_errors()


class _Other:
    """A qualifier value in none of the code lists matching reads: all such values walk alike."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<other>"


_OTHER = _Other()


def _load(folder: Path, name: str) -> CompiledMap:
    try:
        return load_compiled_map(folder, name)
    except Exception as exc:  # a missing or broken map file: one engine warning, no traceback
        raise _Crash(f"map {name} unreadable: {type(exc).__name__}: {exc}") from exc


_CHAINS: dict[str, tuple[tuple[str, str], ...]] = {}


def _trace(result: SegmentRule | None, ops: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    """(found node, operations, fast form): the fast form, when the walk found a node, is
    (paths whose count must be >= 1 for no missing finding, MATCH/ENTER, its node(s))."""
    fast = None
    if result is not None and ops and ops[-1][0] in (_MATCH_SEG, _ENTER_LOOP):
        checks = []
        for op in ops[:-1]:
            if op[0] == _SEG_MISSING or op[0] == _LOOP_MISSING:
                checks.append(op[1].path)
            else:
                break
        else:
            last = ops[-1]
            fast = (tuple(checks), last[0], last[1] if last[0] == _MATCH_SEG else last[1:])
    return (result, tuple(ops), fast)


def _chain(path: str) -> tuple[tuple[str, str], ...]:
    """``/A/B/C`` -> ``(("/A/B", "/A/B/C"), ("/A", "/A/B"))``: each (parent, child) link."""
    links = []
    child = path
    while (cut := child.rfind("/")) > 0:
        links.append((child[:cut], child))
        child = child[:cut]
    return tuple(links)


def _int(value: str | None) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return None


def _format(elems: list[str], comp: str, out_comp: str, element: str, terminator: str) -> str:
    """pyx12's ``Segment.format`` (for messages): trailing empty elements/components dropped."""
    values = []
    for e in elems[1:]:
        parts = e.split(comp) if comp else [e]
        while len(parts) > 1 and parts[-1] == "":
            parts.pop()
        values.append(out_comp.join(parts))
    while values and values[-1] == "":
        values.pop()
    return f"{elems[0]}{element}{element.join(values)}{terminator}"


def _segment_id_of(refdes: str) -> str:
    head = refdes.split("-")[0]
    return head[:-2] if len(head) > 2 and head[:1].isalpha() and head[-2:].isdigit() else ""


def _position(problem: Problem) -> tuple[int, int]:
    number = problem.segment_number
    return (0 if number is None else 1, number or 0)


def check_compiled(segments: Iterable[Segment], source_file: str) -> list[Problem]:
    """Implementation-guide problems of a stream of segments, from the compiled tables."""
    check = CompiledCheck(source_file)
    for seg in segments:
        check.add(seg)
    return check.problems()


def check_compiled_file(path: str | Path) -> list[Problem]:
    """Implementation-guide problems of one file (our reader; ``X12SyntaxError`` propagates)."""
    from pipeline.x12.reader import read_segments

    return check_compiled(read_segments(path), str(path))
