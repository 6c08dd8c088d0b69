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

* It checks about 3-12 k segments/s. So a big file with several transaction sets is
  cut before an ST (or a GS, an ISA) into up to ``jobs`` pieces that pyx12 checks in
  worker processes (:func:`check_ig` with ``jobs``). Each piece is a run of the copy's
  own lines plus *borrowed* envelope lines making it a complete interchange: the open
  ISA (and GS) before, a GE and IEA counted for the piece after. Findings on borrowed
  lines are dropped (the piece owning the line reports it), so the merged findings
  are those of one pass: :class:`_Structure` allows a cut only where pyx12's state
  equals that of a fresh start on the borrowed lines, and a finding a piece cannot
  place on a segment of its own (pyx12 failing, say) sends the file to one pass.

pyx12 is imported only inside :func:`check_ig` and its workers (it is slow to import).
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import importlib
import itertools
import logging
import multiprocessing
import os
import tempfile
from array import array
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from pipeline.x12.problems import Problem, without_value
from pipeline.x12.segments import Delimiters, Segment

__all__ = [
    "DUPLICATED_ENVELOPE_CODES",
    "PARALLEL_MIN_SEGMENTS",
    "IgCopy",
    "check_ig",
    "check_ig_file",
    "default_jobs",
    "ig_map_path",
]

# pyx12's own envelope checks that envelope.py already reports with named rules.
DUPLICATED_ENVELOPE_CODES = frozenset(
    {("ISA", "001"), ("ISA", "021"), ("GS", "4"), ("GS", "5"), ("ST", "3"), ("ST", "4")}
)
_SUPPORTED_ISA12 = ("00401", "00501")
# Below this many segments one pass beats paying for worker start-up and map loading.
PARALLEL_MIN_SEGMENTS = 20_000
# Segments that change the reader state pyx12 carries from one transaction set to the next.
_STRUCTURAL = frozenset({"ISA", "GS", "ST", "SE", "GE", "IEA", "CLM", "LX"})
_BORROWED = 0  # segment number of a borrowed line in a piece (ours start at 1)
# Where a piece may start: pyx12's open loops there, and the trailer just before.
_CUT_AFTER = {"ISA": ([], "IEA"), "GS": (["ISA"], "GE"), "ST": (["ISA", "GS"], "SE")}


def default_jobs() -> int:
    """Processes for pyx12: the CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


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
    _structure: _Structure = field(init=False, default_factory=lambda: _Structure())
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
        line = d.element.join(seg.elements) + d.segment + ("" if d.segment == "\n" else "\n")
        self._fh.write(line)
        if seg.id in _STRUCTURAL:
            self._structure.feed(seg, line, len(self._line_to_number))
        self._structure.previous_id = seg.id
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

    @property
    def lines(self) -> int:
        return len(self._line_to_number)

    @property
    def structure(self) -> _Structure:
        return self._structure

    def line_numbers(self, start: int, end: int) -> array[int]:
        """Our segment numbers of the copy's lines ``start`` to ``end`` (0-based, end excluded)."""
        return self._line_to_number[start:end]

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
    copy: IgCopy,
    *,
    map_path: Path | None = None,
    envelope_duplicates: bool = False,
    jobs: int = 1,
    parallel_min_segments: int = PARALLEL_MIN_SEGMENTS,
) -> list[Problem]:
    """Run pyx12 over ``copy``; every finding a :class:`Problem` (rule ``ig``), by position.

    Never raises: a crash inside pyx12 becomes one warning (rule ``ig_engine``).
    ``map_path`` defaults to :func:`ig_map_path`. pyx12's own trailer count/control
    findings are dropped (envelope.py reports them) unless ``envelope_duplicates``.
    ``jobs`` > 1: a copy of more than ``parallel_min_segments`` segments holding several
    transaction sets is checked in up to ``jobs`` processes, with the same result.
    """
    problems = list(copy.skipped)
    if not copy.has_groups:
        return problems  # TA1-only or nothing pyx12 can read: no guide applies
    found = ig_map_path() if map_path is None else map_path
    folder = None if found is None else str(found)
    pieces = None
    if jobs > 1 and not envelope_duplicates and copy.lines > parallel_min_segments:
        pieces = _check_in_pieces(copy, folder, jobs)
    problems += _run_pyx12(copy, folder, envelope_duplicates) if pieces is None else pieces
    # Stable: findings on one segment keep pyx12's order, which a piece reproduces.
    return sorted(problems, key=_position)


def _position(problem: Problem) -> tuple[int, int]:
    number = problem.segment_number
    return (0 if number is None else 1, number or 0)


class _Pyx12Input(Protocol):
    """What pyx12 runs over: a whole copy or one piece of it."""

    @property
    def source_file(self) -> str: ...

    def text(self) -> IO[str]: ...

    def segment_number(self, pyx12_line: int) -> int | None: ...


def _run_pyx12(lines: _Pyx12Input, folder: str | None, envelope_duplicates: bool) -> list[Problem]:
    pyx12_log = logging.getLogger("pyx12")
    previous = pyx12_log.level
    pyx12_log.setLevel(logging.CRITICAL)  # its log repeats what the error tree holds
    try:
        return _Run(lines, folder, envelope_duplicates).problems()
    except Exception as exc:  # pyx12 bug: report, keep validating the rest
        message = f"pyx12 failed inside ({type(exc).__name__}: {exc}); IG not checked"
        return [_problem(lines.source_file, "", "transaction", "ig_engine", message)]
    finally:
        pyx12_log.setLevel(previous)


@dataclass(frozen=True, slots=True)
class _Cut:
    """An ISA, GS or ST where a piece may start, with the envelope it borrows."""

    line: int  # 0-based line in the copy
    kind: str  # ISA | GS | ST
    isa: str  # the open ISA and GS lines, as copied (an ISA cut borrows neither)
    gs: str
    isa13: str
    gs06: str
    interchange: int  # serial of the open ISA in the copy
    group: int  # serial of the open GS in the copy
    groups_before: int  # groups opened in the open interchange before this line
    sets_before: int  # sets opened in the open group before this line

    def head(self) -> list[str]:
        """Borrowed lines opening a piece that starts here."""
        return {"ISA": [], "GS": [self.isa], "ST": [self.isa, self.gs]}[self.kind]

    def trailers(self, head: _Cut | None) -> list[str]:
        """GE and IEA closing a piece that starts at ``head`` and ends here, counted for it."""
        if self.kind == "ISA":
            return []
        e, end = self.isa[3], self.isa[105:]  # the element separator; terminator + newline
        groups = self.groups_before
        if head is not None and head.interchange == self.interchange:
            groups -= head.groups_before - (head.kind == "ST")  # an ST's group is borrowed
        iea = f"IEA{e}{groups}{e}{self.isa13}{end}"
        if self.kind == "GS":
            return [iea]
        sets = self.sets_before
        if head is not None and head.kind == "ST" and head.group == self.group:
            sets -= head.sets_before
        return [f"GE{e}{sets}{e}{self.gs06}{end}", iea]


class _Structure:
    """Where a copy may be cut into pieces that pyx12 checks alone with one pass's findings.

    pyx12 carries state from one transaction set to the next (``X12Reader._parse_segment``
    and the map it loaded for the first ISA's version); a piece may start at an ISA, GS
    or ST where that state equals the state of a fresh reader that read the borrowed
    ISA (and GS):

    * its loop stack is exactly what the borrowed lines open, and the line before is the
      trailer that closed the last loop (mirrored here);
    * the open ISA has the ISA12 of the file's first one (pyx12's control map);
    * its 837 LX counter, reset only by CLM, is not read before the next CLM;
    * it reports duplicate ISA13 (file), GS06 (interchange) and ST02 (group), which a
      piece would not see: any duplicate forbids every cut.
    """

    def __init__(self) -> None:
        self.cuts: list[_Cut] = []
        self.splittable = True
        self.previous_id = ""
        self._loops: list[str] = []
        self._pending = 0  # cuts[_pending:] wait for the next CLM or LX of an 837
        self._lx_counted = False  # pyx12 counts LX in 837 groups only
        self._first_isa12: str | None = None
        self._isa_as_first = True
        self._isa = self._gs = self._isa13 = self._gs06 = ""
        self._interchanges = self._groups = self._groups_in_interchange = self._sets = 0
        self._isa13s: set[str] = set()
        self._gs06s: set[str] = set()
        self._st02s: set[str] = set()

    def feed(self, seg: Segment, line: str, index: int) -> None:
        if seg.id in _CUT_AFTER:
            self._may_cut(seg, index)
        if seg.id == "ISA":
            self._open_interchange(seg, line)
        elif seg.id == "GS":
            self._open_group(seg, line)
        elif seg.id == "ST":
            self._unique(self._st02s, seg[2])
            self._loops.append("ST")
            self._sets += 1
        elif seg.id in ("SE", "GE", "IEA"):
            self._close(seg.id)
        elif seg.id == "CLM" and self._lx_counted:
            self._pending = len(self.cuts)  # the counter restarts before it is read
        elif seg.id == "LX" and self._lx_counted:
            del self.cuts[self._pending :]  # read before any CLM: carried from earlier sets

    def _may_cut(self, seg: Segment, index: int) -> None:
        loops, trailer = _CUT_AFTER[seg.id]
        if self.previous_id != trailer or self._loops != loops:
            return
        # pyx12 picks its control map by the first ISA it reads: the borrowed or own one.
        as_first = seg[12] == self._first_isa12 if seg.id == "ISA" else self._isa_as_first
        if not as_first:
            return
        self.cuts.append(
            _Cut(
                index, seg.id, self._isa, self._gs, self._isa13, self._gs06, self._interchanges,
                self._groups, self._groups_in_interchange, self._sets,
            )
        )  # fmt: skip

    def _unique(self, seen: set[str], value: str) -> None:
        value = value.strip()
        if value in seen:
            self.splittable = False
        seen.add(value)

    def _open_interchange(self, seg: Segment, line: str) -> None:
        if self._first_isa12 is None:
            self._first_isa12 = seg[12]
        self._isa_as_first = seg[12] == self._first_isa12
        self._unique(self._isa13s, seg[13])
        self._gs06s = set()
        self._loops.append("ISA")
        self._isa, self._isa13 = line, seg[13]
        self._gs = self._gs06 = ""
        self._interchanges += 1
        self._groups_in_interchange = 0

    def _open_group(self, seg: Segment, line: str) -> None:
        self._unique(self._gs06s, seg[6])
        self._st02s = set()
        self._loops.append("GS")
        self._gs, self._gs06 = line, seg[6]
        self._groups += 1
        self._groups_in_interchange += 1
        self._sets = 0
        self._lx_counted = seg[1] == "HC"

    def _close(self, seg_id: str) -> None:
        header = {"GE": "GS", "IEA": "ISA"}.get(seg_id)
        if header and self._loops and self._loops[-1] != header:
            self._loops.pop()  # pyx12 closes the unterminated loop too
        if not self._loops:
            self.splittable = False  # pyx12 fails on this trailer: one pass reports how
            return
        self._loops.pop()

    def choose(self, lines: int, pieces: int) -> list[_Cut]:
        """Up to ``pieces - 1`` cuts, each the allowed one nearest an equal share of lines."""
        if not self.splittable:
            return []
        starts = [cut.line for cut in self.cuts]
        chosen: list[_Cut] = []
        for k in range(1, pieces):
            target = lines * k // pieces
            i = bisect.bisect_left(starts, target)
            near = [j for j in (i - 1, i) if 0 <= j < len(starts)]
            if not near:
                break
            cut = self.cuts[min(near, key=lambda j: abs(starts[j] - target))]
            if not chosen or cut.line > chosen[-1].line:
                chosen.append(cut)
        return chosen


def _write_pieces(copy: IgCopy, cuts: list[_Cut], folder: Path) -> list[tuple[str, array[int]]]:
    """Each piece a file, with the segment number of each of its lines (0 = borrowed)."""
    src = copy.text()
    bounds = [0, *(cut.line for cut in cuts), copy.lines]
    pieces = []
    for k, (start, end) in enumerate(itertools.pairwise(bounds)):
        head = cuts[k - 1] if k > 0 else None
        tail = cuts[k] if k < len(cuts) else None
        borrowed_head = [] if head is None else head.head()
        borrowed_tail = [] if tail is None else tail.trailers(head)
        numbers: array[int] = array("q", [_BORROWED] * len(borrowed_head))
        path = folder / f"piece{k}.x12"
        with path.open("w", encoding="utf-8", newline="\n") as out:
            out.writelines(borrowed_head)
            out.writelines(itertools.islice(src, end - start))
            out.writelines(borrowed_tail)
        numbers.extend(copy.line_numbers(start, end))
        numbers.extend([_BORROWED] * len(borrowed_tail))
        pieces.append((str(path), numbers))
    return pieces


def _check_in_pieces(copy: IgCopy, folder: str | None, jobs: int) -> list[Problem] | None:
    """pyx12 over pieces of ``copy`` in processes; None when one pass must decide."""
    cuts = copy.structure.choose(copy.lines, jobs)
    if not cuts:
        return None
    with tempfile.TemporaryDirectory(prefix="claimflow-ig-") as tmp:
        pieces = _write_pieces(copy, cuts, Path(tmp))
        try:
            with ProcessPoolExecutor(
                max_workers=len(pieces), mp_context=_context(), initializer=_start_worker
            ) as pool:
                futures = [
                    pool.submit(_check_piece, copy.source_file, path, numbers, folder)
                    for path, numbers in pieces
                ]
                results = [future.result() for future in futures]
        except Exception as exc:  # no processes here (limits, sandbox): one pass is the reference
            logging.getLogger(__name__).warning(
                "pyx12 in %d processes failed (%s); checking in one pass",
                len(pieces), type(exc).__name__,
            )  # fmt: skip
            return None
    merged: list[Problem] = []
    for result in results:
        if result is None:
            return None
        merged += result
    return merged


def _context() -> multiprocessing.context.BaseContext:
    # Not fork: the parent may hold threads (Prefect) and a big copy; workers start clean.
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method)


def _start_worker() -> None:
    """Import pyx12 once per worker process."""
    for module in ("pyx12.map_if", "pyx12.map_index", "pyx12.map_walker", "pyx12.x12file"):
        importlib.import_module(module)
    _err_handler_class()


@dataclass
class _Piece:
    """One piece in a worker: its file and the segment number of each of its lines."""

    source_file: str
    fh: IO[str]
    numbers: array[int]

    def text(self) -> IO[str]:
        self.fh.seek(0)
        return self.fh

    def segment_number(self, pyx12_line: int) -> int | None:
        if 1 <= pyx12_line <= len(self.numbers):
            return self.numbers[pyx12_line - 1]
        return None


def _check_piece(
    source_file: str, path: str, numbers: array[int], folder: str | None
) -> list[Problem] | None:
    """Worker: pyx12 over one piece, without findings on borrowed lines.

    None when a finding has no segment (pyx12 failed, or spoke of the piece as a whole).
    """
    with open(path, encoding="utf-8", newline="\n") as fh:
        found = _run_pyx12(_Piece(source_file, fh, numbers), folder, envelope_duplicates=False)
    kept = []
    for problem in found:
        if problem.segment_number is None:
            return None
        if problem.segment_number != _BORROWED:
            kept.append(problem)
    return kept


class _Run:
    """One pass of pyx12 over the copy, mirroring ``pyx12.x12n_document.x12n_document``."""

    def __init__(self, copy: _Pyx12Input, map_path: str | None, envelope_duplicates: bool) -> None:
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

    def __init__(self, copy: _Pyx12Input, envelope_duplicates: bool) -> None:
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
        message = without_value(text, value)
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
