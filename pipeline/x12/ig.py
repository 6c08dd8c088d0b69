"""SNIP 2 (implementation-guide) checks through pyx12, its quirks hidden here.

pyx12 4.0.0 is the validator; what it does badly on its own is handled before it
sees the data or after it answers:

* It reads files as ASCII text: a UTF-8 BOM, UTF-16 or one Latin-1 byte crash it,
  and a binary stream silently validates nothing. We never hand it the file: our
  reader (which accepts all of those) re-emits the segments as clean text, one per
  line, so pyx12's "line" is our segment number.
* Segments indented with spaces are "leading space" errors to pyx12; our reader
  drops whitespace between segments, so the copy has none.
* ``x12n_document`` raises ``EngineError`` on the first group without a map (270/271
  until our maps are installed), losing every finding; keeps its error tree private
  (its JSON output drops ISA/GS/ST element errors); and its 999 writer crashes on
  some 835s. So :func:`check_ig` drives the same pyx12 pieces ``x12n_document`` uses
  (``X12Reader``, ``walk_tree``, ``err_handler``, ``apply_segment_errors``) in the same
  order, without the 999/HTML/XML writers, turning a missing map into one warning.
  ``tests/x12/test_ig.py`` checks the verdicts against ``x12n_document`` itself.
* ``x12valid`` exits 1 whatever it finds: we never run it.

pyx12 is imported only inside :func:`check_ig` (it is slow to import).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import logging
import tempfile
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pipeline.x12.problems import Problem
from pipeline.x12.segments import Delimiters, Segment

__all__ = [
    "DUPLICATED_ENVELOPE_CODES",
    "IgCopy",
    "check_ig",
    "check_ig_file",
    "ig_map_path",
]

# pyx12's own envelope checks that envelope.py already reports with named rules.
DUPLICATED_ENVELOPE_CODES = frozenset(
    {("ISA", "001"), ("ISA", "021"), ("GS", "4"), ("GS", "5"), ("ST", "3"), ("ST", "4")}
)
_SUPPORTED_ISA12 = ("00401", "00501")


def ig_map_path() -> Path | None:
    """Folder pyx12 loads maps from: ours (with 270/271) when installed, else pyx12's own."""
    try:
        maps = importlib.import_module("pipeline.x12.maps")
    except ImportError:
        return None
    try:
        path = maps.map_path()
    except Exception:  # a broken maps module must not stop validation of other types
        logging.getLogger(__name__).warning("pipeline.x12.maps.map_path() failed", exc_info=True)
        return None
    return Path(path) if path is not None else None


@dataclass
class IgCopy:
    """Clean text copy of a file for pyx12, written while the file is read once.

    ``add(seg)`` for every segment the reader yields, then ``check_ig(copy)``.
    Interchanges pyx12 cannot read (another ISA12 than 00401/00501, an ISA not 106
    characters wide, delimiters other than those of the first interchange copied) are
    left out, each with one ``ig_skipped`` warning.
    """

    source_file: str
    _fh: IO[str] = field(init=False)
    _delimiters: Delimiters | None = field(init=False, default=None)  # of the copy
    _skip_interchange: bool = field(init=False, default=False)
    # array, not list: one machine int per segment even for multi-million-segment files
    _line_to_number: array[int] = field(init=False, default_factory=lambda: array("q"))
    _gs_seen: bool = field(init=False, default=False)
    skipped: list[Problem] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        # Spooled: small files stay in memory, big ones go to a temporary file.
        self._fh = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - closed by close()
            max_size=8 << 20, mode="w+", encoding="utf-8", newline="\n"
        )

    def add(self, seg: Segment) -> None:
        d = seg.envelope.delimiters
        if seg.id == "ISA":
            self._skip_interchange = self._refuse_interchange(seg)
        if self._skip_interchange:
            return
        text = d.element.join(seg.elements)
        self._fh.write(text + d.segment + ("" if d.segment == "\n" else "\n"))
        self._line_to_number.append(seg.number)
        if seg.id == "GS":
            self._gs_seen = True

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
            self.skipped.append(_warning(self.source_file, seg, f"{problem}: interchange skipped"))
            return True
        self._delimiters = d  # pyx12 takes its delimiters from the first ISA it reads
        return False

    def segment_number(self, pyx12_line: int) -> int | None:
        """Our segment number for pyx12's 1-based line number in the copy."""
        if 1 <= pyx12_line <= len(self._line_to_number):
            return self._line_to_number[pyx12_line - 1]
        return None

    @property
    def has_groups(self) -> bool:
        return self._gs_seen

    def text(self) -> IO[str]:
        self._fh.seek(0)
        return self._fh

    def close(self) -> None:
        self._fh.close()


def check_ig_file(segments: Iterable[Segment], source_file: str) -> list[Problem]:
    """Implementation-guide problems of a stream of segments.

    pyx12 problems never raise; what the iterator raises (``X12SyntaxError``) does.
    """
    copy = IgCopy(source_file)
    try:
        for seg in segments:
            copy.add(seg)
        return check_ig(copy)
    finally:
        copy.close()


def check_ig(
    copy: IgCopy, *, map_path: Path | None = None, envelope_duplicates: bool = False
) -> list[Problem]:
    """Run pyx12 over ``copy``; every finding a :class:`Problem` (rule ``ig``).

    Never raises: a crash inside pyx12 becomes one warning (rule ``ig_engine``).
    ``map_path`` defaults to :func:`ig_map_path`. pyx12's own trailer count/control
    findings are dropped (envelope.py reports them) unless ``envelope_duplicates``.
    """
    problems = list(copy.skipped)
    if not copy.has_groups:
        return problems  # TA1-only or nothing pyx12 can read: no guide applies
    folder = map_path if map_path is not None else ig_map_path()
    pyx12_log = logging.getLogger("pyx12")
    previous = pyx12_log.level
    pyx12_log.setLevel(logging.CRITICAL)  # its log repeats what the error tree holds
    try:
        run = _Run(copy, None if folder is None else str(folder), envelope_duplicates)
        problems += run.problems()
    except Exception as exc:  # pyx12 bug: report, keep validating the rest
        message = f"pyx12 failed inside ({type(exc).__name__}: {exc}); IG not checked"
        problems.append(_problem(copy.source_file, "", "transaction", "ig_engine", message))
    finally:
        pyx12_log.setLevel(previous)
    return problems


class _Run:
    """One pass of pyx12 over the copy, mirroring ``pyx12.x12n_document.x12n_document``."""

    def __init__(self, copy: IgCopy, map_path: str | None, envelope_duplicates: bool) -> None:
        self.copy = copy
        self.map_path = map_path
        self.envelope_duplicates = envelope_duplicates
        self.warnings: list[Problem] = []

    def problems(self) -> list[Problem]:
        import pyx12.errors
        import pyx12.map_if
        import pyx12.map_index
        import pyx12.params
        import pyx12.x12file
        from pyx12.map_if._segment import apply_segment_errors
        from pyx12.map_walker import apply_walk_errors, walk_tree

        param = pyx12.params.params()
        errh = _err_handler_class()()
        try:
            src = pyx12.x12file.X12Reader(self.copy.text())
        except pyx12.errors.X12Error as exc:
            return [
                _problem(self.copy.source_file, "", "interchange", "ig_skipped", f"pyx12: {exc}")
            ]
        map_file = "x12.control.00501.xml" if src.icvn == "00501" else "x12.control.00401.xml"
        control_map = pyx12.map_if.load_map_file(map_file, param, self.map_path)
        index = pyx12.map_index.map_index(self.map_path)
        node: Any = control_map.getnodebypath("/ISA_LOOP/ISA")
        walker = walk_tree()
        icvn: str | None = None
        cur_map: Any = None
        skipping = False  # inside a group whose guide has no map
        for seg in src:
            seg_id = seg.get_seg_id()
            if seg_id == "ISA":
                skipping = False
                node = control_map.getnodebypath("/ISA_LOOP/ISA")
                walker.forceWalkCounterToLoopStart("/ISA_LOOP", "/ISA_LOOP/ISA")
            elif seg_id == "GS":
                fic, vriic = seg.get_value("GS01"), seg.get_value("GS08")
                found = index.get_filename(icvn, vriic, fic)
                if found is None:
                    skipping = True
                    self._no_map(src.get_cur_line(), fic, vriic, icvn)
                    src.pop_errors()
                    continue
                skipping = False
                if found != map_file:
                    map_file = found
                    cur_map = pyx12.map_if.load_map_file(map_file, param, self.map_path)
                    src.check_837_lx = cur_map.id == "837"
                node = cur_map.getnodebypath("/ISA_LOOP/GS_LOOP/GS")
                walker.forceWalkCounterToLoopStart("/ISA_LOOP/GS_LOOP", "/ISA_LOOP/GS_LOOP/GS")
            elif skipping:
                if seg_id != "IEA":
                    src.pop_errors()
                    continue
                # The IEA after a skipped group: back on the control map.
                skipping = False
                node = control_map.getnodebypath("/ISA_LOOP/IEA")
            else:
                orig = node
                node, _pop, _push, walk_errors = walker.walk_errors(
                    node, seg, src.get_seg_count(), src.get_cur_line(), src.get_ls_id()
                )
                apply_walk_errors(errh, walk_errors)
                if node is None:
                    node = orig
                    continue
            if seg_id == "ISA":
                errh.add_isa_loop(seg, src)
                icvn = seg.get_value("ISA12")
                errh.handle_errors(src.pop_errors())
            elif seg_id == "IEA":
                errh.handle_errors(src.pop_errors())
                errh.close_isa_loop(node, seg, src)
            elif seg_id == "GS":
                errh.add_gs_loop(seg, src)
                errh.handle_errors(src.pop_errors())
            elif seg_id == "GE":
                errh.handle_errors(src.pop_errors())
                errh.close_gs_loop(node, seg, src)
            elif seg_id == "ST":
                errh.add_st_loop(seg, src)
                errh.handle_errors(src.pop_errors())
            elif seg_id == "SE":
                errh.handle_errors(src.pop_errors())
                errh.close_st_loop(node, seg, src)
            else:
                errh.add_seg(node, seg, src.get_seg_count(), src.get_cur_line(), src.get_ls_id())
                errh.handle_errors(src.pop_errors())
            apply_segment_errors(node, seg, errh)
        src.cleanup()
        errh.handle_errors(src.pop_errors())
        collector = _Collector(self.copy, self.envelope_duplicates)
        errh.accept(collector)
        return self.warnings + collector.problems

    def _no_map(self, line: int, fic: str, vriic: str, icvn: str | None) -> None:
        number = self.copy.segment_number(line)
        message = f"no implementation guide map for GS08 {vriic} (GS01 {fic}, ISA12 {icvn})"
        self.warnings.append(
            Problem(
                self.copy.source_file, "", "group", vriic, "ig_no_map", "", "", message,
                segment_number=number, segment_id="GS", severity="warning",
            )
        )  # fmt: skip


@functools.cache
def _err_handler_class() -> type[Any]:
    """pyx12's error tree, remembering the loop of each segment node (it forgets it)."""
    import pyx12.error_handler

    class LoopRecordingErrHandler(pyx12.error_handler.err_handler):  # type: ignore[misc]
        """Also keeps each node's loop, each element's segment line and each envelope
        error's line (pyx12 only logs the latter two, and forgets the loop)."""

        def add_seg(
            self, map_node: Any, seg_data: Any, seg_count: int, cur_line: int, ls_id: Any
        ) -> None:
            super().add_seg(map_node, seg_data, seg_count, cur_line, ls_id)
            self.cur_seg_node.loop_id = _loop_id(map_node)

        def add_ele(self, map_node: Any) -> None:
            super().add_ele(map_node)
            self.cur_ele_node.line = self.cur_seg_node.get_cur_line()
            self.cur_ele_node.refdes = getattr(map_node, "refdes", "") or ""

        def isa_error(self, err_cde: str, err_str: str) -> None:
            super().isa_error(err_cde, err_str)
            _remember_line(self.cur_isa_node)

        def gs_error(self, err_cde: str, err_str: str) -> None:
            super().gs_error(err_cde, err_str)
            _remember_line(self.cur_gs_node)

        def st_error(self, err_cde: str, err_str: str) -> None:
            super().st_error(err_cde, err_str)
            _remember_line(self.cur_st_node)

    return LoopRecordingErrHandler


def _remember_line(node: Any) -> None:
    lines = node.__dict__.setdefault("error_lines", [])
    lines.append(node.get_cur_line())


def _loop_id(map_node: Any) -> str:
    parent = getattr(map_node, "parent", None)
    while parent is not None and not parent.is_loop():
        parent = parent.parent
    return str(getattr(parent, "id", "") or "") if parent is not None else ""


class _Collector:
    """Visitor over pyx12's error tree (the visitor protocol of ``pyx12.error_visitor``)."""

    def __init__(self, copy: IgCopy, envelope_duplicates: bool) -> None:
        self.copy = copy
        self.envelope_duplicates = envelope_duplicates
        self.problems: list[Problem] = []
        self.st_control = ""

    def visit_root_pre(self, errh: Any) -> None: ...

    def visit_root_post(self, errh: Any) -> None: ...

    def visit_isa_pre(self, node: Any) -> None:
        self._envelope(node, "ISA", "interchange", node.isa_trn_set_id or "")
        self._elements(node, "ISA", "", node.cur_line_isa)

    def visit_isa_post(self, node: Any) -> None: ...

    def visit_gs_pre(self, node: Any) -> None:
        self._envelope(node, "GS", "group", node.gs_control_num or "")
        self._elements(node, "GS", "", node.cur_line_gs)

    def visit_gs_post(self, node: Any) -> None: ...

    def visit_st_pre(self, node: Any) -> None:
        self.st_control = node.trn_set_control_num or ""
        self._envelope(node, "ST", "transaction", self.st_control)
        self._elements(node, "ST", "", node.cur_line_st)

    def visit_st_post(self, node: Any) -> None:
        self.st_control = ""

    def visit_seg(self, node: Any) -> None:
        number = self.copy.segment_number(node.cur_line)
        loop = getattr(node, "loop_id", "")
        for code, text, value in node.errors:
            self.problems.append(
                self._ig(code, text, value, number, node.seg_id or "", loop, "", node.name)
            )
        self._elements(node, node.seg_id or "", loop, node.cur_line)

    def visit_ele(self, node: Any) -> None: ...  # walked from visit_seg / _elements

    def _envelope(self, node: Any, seg_id: str, level: str, key: str) -> None:
        lines = getattr(node, "error_lines", [])
        for index, (code, text) in enumerate(node.errors):
            if (seg_id, code) in DUPLICATED_ENVELOPE_CODES and not self.envelope_duplicates:
                continue  # envelope.py reports these with its own rule names
            line = lines[index] if index < len(lines) else node.get_cur_line()
            number = self.copy.segment_number(line)
            problem = self._ig(code, text, None, number, seg_id, "", "", "")
            self.problems.append(_replace(problem, level=level, key=key))

    def _elements(self, node: Any, seg_id: str, loop: str, line: int) -> None:
        for ele in getattr(node, "elements", []):
            # Trailer (SE/GE/IEA) element errors land on the header's node: the
            # element's own reference and line say which segment it was.
            own_id = _segment_id_of(getattr(ele, "refdes", "")) or seg_id
            number = self.copy.segment_number(getattr(ele, "line", line))
            ref = f"{own_id}{ele.ele_pos:02d}"
            if ele.subele_pos:
                ref += f"-{ele.subele_pos}"
            for code, text, value in ele.errors:
                self.problems.append(self._ig(code, text, value, number, own_id, loop, ref, ref))

    def _ig(
        self,
        code: str,
        text: str,
        value: str | None,
        number: int | None,
        seg_id: str,
        loop: str,
        element: str,
        name: str,
    ) -> Problem:
        message = text if not value or value in text else f"{text} ({value})"
        return Problem(
            source_file=self.copy.source_file,
            transaction_control_number=self.st_control,
            level="transaction",
            key=name or seg_id,
            rule="ig",
            expected="",
            actual=value or "",
            message=f"[{code}] {message}",
            segment_number=number,
            segment_id=seg_id,
            loop=loop,
            element=element,
        )


def _segment_id_of(refdes: str) -> str:
    """``"SE01"`` -> ``"SE"``, ``"HI01-02"`` -> ``"HI"``."""
    head = refdes.split("-")[0]
    return head[:-2] if len(head) > 2 and head[:1].isalpha() and head[-2:].isdigit() else ""


def _replace(problem: Problem, *, level: str, key: str) -> Problem:
    return dataclasses.replace(problem, level=level, key=key)


def _problem(
    source_file: str, key: str, level: str, rule: str, message: str, severity: str = "warning"
) -> Problem:
    return Problem(source_file, "", level, key, rule, "", "", message, severity=severity)


def _warning(source_file: str, seg: Segment, message: str) -> Problem:
    return Problem(
        source_file, "", "interchange", seg.envelope.interchange_control_number, "ig_skipped",
        "", "", message, segment_number=seg.number, segment_id=seg.id, severity="warning",
    )  # fmt: skip
