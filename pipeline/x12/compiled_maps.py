"""Implementation-guide maps compiled into plain tables for :mod:`pipeline.x12.compiled`.

The maps are pyx12's own XML maps plus ours (the folder :func:`pipeline.x12.maps.map_path`
assembles: ``maps.xml``, the map files, ``dataele.xml``, ``codes.xml``), read with lxml. Each
map becomes a tree of slotted records: loops (usage, repeat, children grouped by position),
segments (usage, max use, the element pyx12 matches a segment by, syntax rules) and elements
(usage, data type, min/max length, code list, external code set, regular expression), with
everything pyx12 works out per segment at run time (paths, loop ids, node equality keys)
worked out once here.

A compiled map is pickled under a cache folder keyed by a digest of its inputs and of this
module's :data:`TABLE_VERSION`, so it is built once per map change; a missing or unreadable
cache entry is rebuilt, never trusted.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import re
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

__all__ = [
    "MAXINT",
    "TABLE_VERSION",
    "CompiledMap",
    "CompositeRule",
    "ElementRule",
    "LoopRule",
    "MapIndex",
    "SegmentRule",
    "load_compiled_map",
    "map_index",
]

MAXINT = 2147483647  # pyx12's "unbounded"
TABLE_VERSION = "4"  # bump when the table layout or its derivation changes
_CACHE_ENV = "CLAIMFLOW_COMPILED_MAP_CACHE"


def _attr(elem: Any, name: str) -> str | None:
    """pyx12 reads a property from an attribute or, failing that, a child element."""
    value = elem.get(name)
    if value:
        return str(value)
    text = elem.findtext(name)
    return None if text is None else str(text)


class ElementRule:
    """A simple element (or a component of a composite)."""

    __slots__ = (
        "codes",
        "data_ele",
        "data_type",
        "ele_pos",
        "external",
        "in_composite",
        "max_len",
        "min_len",
        "name",
        "parent_usage",
        "refdes",
        "regex",
        "regex_src",
        "seq",
        "subele_pos",
        "undefined",
        "usage",
        "valid_codes",
    )

    def __init__(self) -> None:
        self.name = ""
        self.refdes = ""
        self.usage: str | None = None
        self.seq = 0
        self.data_ele: str | None = None
        self.data_type: str | None = None
        self.min_len = 0
        self.max_len = 0
        self.undefined = False  # data element missing from dataele.xml (pyx12 fails on use)
        self.valid_codes: list[str | None] = []
        self.codes: frozenset[str | None] = frozenset()
        self.external: str | None = None  # name of an external code set
        self.regex: re.Pattern[str] | None = None
        self.regex_src: str | None = None
        self.in_composite = False
        self.parent_usage: str | None = None
        self.ele_pos = 0  # X12 position in the segment (the composite's for a component)
        self.subele_pos: int | None = None


class CompositeRule:
    """A composite element: its components in map order."""

    __slots__ = ("children", "name", "refdes", "seq", "usage")

    def __init__(self) -> None:
        self.name = ""
        self.refdes = ""
        self.usage: str | None = None
        self.seq = 0
        self.children: list[ElementRule] = []


class SegmentRule:
    """A segment node of a map."""

    __slots__ = (
        "by_index",
        "eq_key",
        "has_1250",
        "id",
        "is_loop",
        "is_root",
        "key",
        "loop_id",
        "max_repeat",
        "name",
        "parent",
        "path",
        "pos",
        "syntax",
        "usage",
    )

    def __init__(self) -> None:
        self.is_loop = False
        self.is_root = False
        self.id = ""
        self.name = ""
        self.usage: str | None = None
        self.pos = 0
        self.max_repeat = MAXINT
        self.path = ""
        self.eq_key: tuple[str | None, str | None] = (None, None)
        self.parent: LoopRule | None = None
        self.loop_id = ""
        # children by X12 position (index 0 = element 01); None where pyx12 cannot resolve one
        self.by_index: list[ElementRule | CompositeRule | None] = []
        self.syntax: list[tuple[str, tuple[int, ...]]] = []
        # what pyx12 matches the segment by: (element, component or None, codes)
        self.key: tuple[int, int | None, frozenset[str | None]] | None = None
        self.has_1250 = False


class LoopRule:
    """A loop node of a map, or the map root (``is_root``)."""

    __slots__ = (
        "eq_key",
        "first_node",
        "first_seg",
        "groups",
        "id",
        "is_loop",
        "is_root",
        "loop_id",
        "max_repeat",
        "name",
        "parent",
        "path",
        "pos",
        "usage",
    )

    def __init__(self) -> None:
        self.is_loop = True
        self.is_root = False
        self.id = ""
        self.name = ""
        self.usage: str | None = None
        self.pos = 0
        self.max_repeat = MAXINT
        self.path = ""
        self.eq_key: tuple[str | None, str | None] = (None, None)
        self.parent: LoopRule | None = None
        self.loop_id = ""
        # children grouped by position, positions ascending; within a position in map order
        # (loops before segments, as pyx12 builds its position map)
        self.groups: list[tuple[int, list[LoopRule | SegmentRule]]] = []
        self.first_node: LoopRule | SegmentRule | None = None
        self.first_seg: SegmentRule | None = None


@dataclass
class CompiledMap:
    """One map: its root, the interchange version it declares and a few lookups."""

    id: str
    file: str
    root: LoopRule
    icvn: str  # the map's ISA12 (pyx12 validates AN/ID characters by it); "00401" if none
    key_paths: dict[str, tuple[tuple[int, int | None], ...]]  # seg id -> what matching reads
    key_codes: dict[tuple[str, int, int | None], frozenset[str | None]]
    # seg id -> (element, component or None, codes) when one path decides; else (0, -1, {})
    key_spec: dict[str, tuple[int, int | None, frozenset[str | None]]]
    walks: dict[Any, Any] = field(default_factory=dict)  # filled at run time, never pickled
    patterns: dict[Any, Any] = field(default_factory=dict)  # clean-segment patterns, ditto

    def node(self, path: str) -> SegmentRule:
        """``/ISA_LOOP/GS_LOOP/GS`` -> that segment (pyx12's ``getnodebypath``)."""
        parts = path.split("/")[1:]
        current: LoopRule = self.root
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            found: LoopRule | SegmentRule | None = None
            for _pos, children in current.groups:
                for child in children:
                    is_loop = isinstance(child, LoopRule) and child.id.lower() == part.lower()
                    if is_loop or (last and isinstance(child, SegmentRule) and child.id == part):
                        found = child
                    if found is not None:
                        break
                if found is not None:
                    break
            if found is None:
                raise KeyError(path)
            if last:
                if not isinstance(found, SegmentRule):
                    raise KeyError(path)
                return found
            assert isinstance(found, LoopRule)
            current = found
        raise KeyError(path)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["walks"] = {}
        state["patterns"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.walks, self.patterns = {}, {}


class _Sources:
    """The shared inputs of every map in a folder: data elements and external code sets."""

    def __init__(self, folder: Path) -> None:
        from lxml import etree

        self.folder = folder
        self.dataele: dict[str, tuple[str | None, int, int]] = {}
        for e in etree.parse(str(folder / "dataele.xml")).getroot().iter("data_ele"):
            # pyx12 keeps the last definition of a number
            self.dataele[str(e.get("ele_num"))] = (
                e.get("data_type"), int(str(e.get("min_len"))), int(str(e.get("max_len"))),
            )  # fmt: skip
        self.codes: dict[str, frozenset[str | None]] = {}
        for c in etree.parse(str(folder / "codes.xml")).getroot().iter("codeset"):
            codes = frozenset(x.text for x in c.iterfind("version/code"))
            self.codes[str(c.findtext("id"))] = codes


class _Builder:
    def __init__(self, sources: _Sources) -> None:
        self.sources = sources

    def element(self, elem: Any, parent_usage: str | None, composite: bool) -> ElementRule:
        rule = ElementRule()
        rule.name = _attr(elem, "name") or ""
        rule.refdes = elem.get("xid") or ""
        rule.usage = _attr(elem, "usage")
        rule.seq = int(_attr(elem, "seq") or 0)
        rule.data_ele = _attr(elem, "data_ele")
        found = self.sources.dataele.get(rule.data_ele or "")
        if found is None:
            rule.undefined = True
        else:
            rule.data_type, rule.min_len, rule.max_len = found
        src = elem.findtext("regex")
        if src:
            rule.regex_src = src
            rule.regex = re.compile(src, re.S)
        codes = elem.find("valid_codes")
        if codes is not None:
            rule.external = codes.get("external")
            rule.valid_codes = [c.text for c in codes.findall("code")]
        rule.codes = frozenset(rule.valid_codes)
        rule.in_composite = composite
        rule.parent_usage = parent_usage
        return rule

    def composite(self, elem: Any) -> CompositeRule:
        rule = CompositeRule()
        rule.name = _attr(elem, "name") or ""
        rule.refdes = elem.findtext("refdes") or elem.get("xid") or ""
        rule.usage = _attr(elem, "usage")
        rule.seq = int(_attr(elem, "seq") or 0)
        for e in elem.findall("element"):
            child = self.element(e, rule.usage, True)
            child.ele_pos, child.subele_pos = rule.seq, child.seq
            rule.children.append(child)
        return rule

    def segment(self, elem: Any, parent: LoopRule) -> SegmentRule:
        rule = SegmentRule()
        rule.id = elem.get("xid") or ""
        rule.name = _attr(elem, "name") or ""
        rule.usage = _attr(elem, "usage")
        rule.pos = int(_attr(elem, "pos") or 0)
        max_use = _attr(elem, "max_use")
        rule.max_repeat = MAXINT if max_use is None or max_use == ">1" else int(max_use)
        rule.path = rule.id
        rule.parent = parent
        for s in elem.findall("syntax"):
            text = s.text
            if text is None or text[0] not in "PRCLE":
                continue
            rule.syntax.append(
                (
                    text[0],
                    tuple(int(text[i * 2 + 1 : i * 2 + 3]) for i in range(len(text[1:]) // 2)),
                )
            )
        by_seq: dict[int, Any] = {}
        for e in elem.findall("element"):
            by_seq[int(_attr(e, "seq") or 0)] = e
        for e in elem.findall("composite"):
            by_seq[int(_attr(e, "seq") or 0)] = e
        children: list[ElementRule | CompositeRule] = []
        for seq in sorted(by_seq):
            e = by_seq[seq]
            if e.tag == "element":
                child = self.element(e, rule.usage, False)
                child.ele_pos = child.seq
                children.append(child)
            else:
                children.append(self.composite(e))
        # pyx12 finds the child for position i by seq == i + 1 and fails when none or several
        rule.by_index = []
        for i in range(len(children)):
            same = [c for c in children if c.seq == i + 1]
            rule.by_index.append(same[0] if len(same) == 1 else None)
        rule.key = _unique_key(rule.id, children)
        rule.has_1250 = any(
            isinstance(c, ElementRule) and c.data_ele == "1250" for c in rule.by_index
        )
        return rule

    def loop(self, elem: Any, parent: LoopRule, rule: LoopRule | None = None) -> LoopRule:
        if rule is None:
            rule = LoopRule()
            rule.id = elem.get("xid") or ""
            rule.name = _attr(elem, "name") or ""
            rule.usage = _attr(elem, "usage")
            rule.pos = int(_attr(elem, "pos") or 0)
            repeat = _attr(elem, "repeat")
            rule.max_repeat = MAXINT if repeat is None or repeat in ("&gt;1", ">1") else int(repeat)
            rule.path = rule.id
            rule.parent = parent
        by_pos: dict[int, list[LoopRule | SegmentRule]] = {}
        for e in elem.findall("loop"):
            child = self.loop(e, rule)
            by_pos.setdefault(child.pos, []).append(child)
        for e in elem.findall("segment"):
            seg = self.segment(e, rule)
            by_pos.setdefault(seg.pos, []).append(seg)
        rule.groups = [(pos, by_pos[pos]) for pos in sorted(by_pos)]
        for _pos, nodes in rule.groups:
            if len(nodes) > 1:  # pyx12 tells same-position segments apart in their paths
                for node in nodes:
                    if isinstance(node, SegmentRule):
                        code = _guess_key_code(node)
                        if code is not None:
                            node.path = f"{node.path}[{code}]"
        if rule.groups:
            rule.first_node = rule.groups[0][1][0]
            if isinstance(rule.first_node, SegmentRule):
                rule.first_seg = rule.first_node
        return rule


def _unique_key(
    seg_id: str, children: list[ElementRule | CompositeRule]
) -> tuple[int, int | None, frozenset[str | None]] | None:
    """pyx12's ``_resolve_unique_key_field(with_qual=False)``: what a segment is matched by."""
    c0 = children[0] if children else None
    c1 = children[1] if len(children) > 1 else None
    c2 = children[2] if len(children) > 2 else None
    if isinstance(c0, ElementRule) and c0.data_type == "ID" and c0.usage == "R" and c0.valid_codes:
        return (1, None, c0.codes)
    if seg_id == "ENT" and isinstance(c1, ElementRule) and c1.data_type == "ID" and c1.valid_codes:
        return (2, None, c1.codes)
    if isinstance(c0, CompositeRule):
        first = c0.children[0]
        if seg_id == "CTX" and first.data_type == "AN" and first.valid_codes:
            return (1, 1, first.codes)
        if first.data_type == "ID" and first.valid_codes:
            return (1, 1, first.codes)
    if seg_id == "HL" and isinstance(c2, ElementRule) and c2.valid_codes:
        return (3, None, c2.codes)
    return None


def _guess_key_code(seg: SegmentRule) -> str | None:
    """pyx12's ``guess_unique_key_id_element``: the first code of the distinguishing element."""
    kids = [c for c in seg.by_index]
    c0 = kids[0] if kids else None
    c1 = kids[1] if len(kids) > 1 else None
    c2 = kids[2] if len(kids) > 2 else None
    found: ElementRule | None = None
    if isinstance(c0, ElementRule) and c0.data_type == "ID" and c0.valid_codes:
        found = c0
    elif (
        seg.id == "ENT" and isinstance(c1, ElementRule) and c1.data_type == "ID" and c1.valid_codes
    ):
        found = c1
    elif (
        isinstance(c0, CompositeRule)
        and c0.children[0].data_type == "ID"
        and c0.children[0].valid_codes
    ):
        found = c0.children[0]
    elif seg.id == "HL" and isinstance(c2, ElementRule) and c2.valid_codes:
        found = c2
    return None if found is None else (found.valid_codes[0] or "")


def _finish(node: LoopRule | SegmentRule, parent_path: str) -> None:
    """Full paths, equality keys and loop ids, as pyx12 computes them on demand."""
    if node.is_root:
        node.path = "/"
    else:
        assert node.parent is not None
        node.path = ("/" if parent_path == "/" else parent_path + "/") + node.path
        node.eq_key = (node.id, node.parent.id)
        up: LoopRule | None = node.parent
        while up is not None and not up.is_loop:
            up = up.parent
        node.loop_id = up.id if up is not None else ""
    if isinstance(node, LoopRule):
        for _pos, children in node.groups:
            for child in children:
                _finish(child, node.path)


def _compile(folder: Path, map_file: str, sources: _Sources) -> CompiledMap:
    from lxml import etree

    eroot = etree.parse(str(folder / map_file)).getroot()
    root = LoopRule()
    root.is_root, root.is_loop = True, False
    root.id = eroot.get("xid") or ""
    root.name = _attr(eroot, "name") or ""
    root.eq_key = (root.id, None)
    _Builder(sources).loop(eroot, root, root)
    _finish(root, "")
    key_paths: dict[str, set[tuple[int, int | None]]] = {}
    key_codes: dict[tuple[str, int, int | None], set[str | None]] = {}
    stack: list[LoopRule | SegmentRule] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, LoopRule):
            stack += [c for _p, cs in node.groups for c in cs]
        elif node.key is not None:
            ele, sub, codes = node.key
            key_paths.setdefault(node.id, set()).add((ele, sub))
            key_codes.setdefault((node.id, ele, sub), set()).update(codes)
    compiled = CompiledMap(
        id=root.id,
        file=map_file,
        root=root,
        icvn="00401",
        key_paths={
            k: tuple(sorted(v, key=lambda p: (p[0], p[1] or 0))) for k, v in key_paths.items()
        },
        key_codes={k: frozenset(v) for k, v in key_codes.items()},
        key_spec={},
    )
    for seg_id, paths in compiled.key_paths.items():
        if len(paths) == 1 and seg_id != "ISA":
            compiled.key_spec[seg_id] = (*paths[0], compiled.key_codes[(seg_id, *paths[0])])
        else:
            compiled.key_spec[seg_id] = (0, -1, frozenset())
    try:  # pyx12: the map's own ISA12 code, else 00401
        isa = compiled.node("/ISA_LOOP/ISA")
        isa12 = isa.by_index[11]
        if isinstance(isa12, ElementRule) and isa12.valid_codes and isa12.valid_codes[0]:
            compiled.icvn = isa12.valid_codes[0]
    except (KeyError, IndexError):
        pass
    return compiled


@dataclass(frozen=True)
class MapIndex:
    """``maps.xml``: which map file serves an ISA12/GS08/GS01 (the first entry wins)."""

    entries: tuple[tuple[str | None, str | None, str | None, str | None], ...]
    folder: Path
    codes: dict[str, frozenset[str | None]]

    def filename(self, icvn: str | None, vriic: str | None, fic: str | None) -> str | None:
        for e_icvn, e_vriic, e_fic, e_file in self.entries:
            if e_icvn == icvn and e_vriic == vriic and e_fic == fic:
                return e_file
        return None


@cache
def _sources(folder: Path) -> _Sources:
    return _Sources(folder)


@cache
def map_index(folder: Path) -> MapIndex:
    from lxml import etree

    entries = []
    for version in etree.parse(str(folder / "maps.xml")).getroot().iter("version"):
        for m in version.iterfind("map"):
            entries.append((version.get("icvn"), m.get("vriic"), m.get("fic"), m.text))
    return MapIndex(tuple(entries), folder, _sources(folder).codes)


def _cache_dirs() -> list[Path]:
    configured = os.environ.get(_CACHE_ENV)
    if configured:
        return [Path(configured)]
    xdg = os.environ.get("XDG_CACHE_HOME")
    user = (Path(xdg) if xdg else Path.home() / ".cache") / "claimflow" / "compiled-maps"
    return [user, Path(tempfile.gettempdir()) / f"claimflow-compiled-maps-{os.getuid()}"]


def _digest(folder: Path, map_file: str) -> str:
    sha = hashlib.sha256(TABLE_VERSION.encode())
    for name in (map_file, "dataele.xml", "codes.xml"):
        sha.update(name.encode())
        sha.update((folder / name).read_bytes())
    return sha.hexdigest()[:20]


_LOADED: dict[tuple[Path, str], CompiledMap] = {}


def load_compiled_map(folder: Path, map_file: str) -> CompiledMap:
    """The compiled table of ``map_file`` in ``folder``: from memory, the disk cache, or built."""
    loaded = _LOADED.get((folder, map_file))
    if loaded is not None:
        return loaded
    digest = _digest(folder, map_file)
    name = f"{map_file}.{digest}.pickle"
    compiled: CompiledMap | None = None
    for root in _cache_dirs():
        try:
            with (root / name).open("rb") as fh:
                candidate = pickle.load(fh)
            if isinstance(candidate, CompiledMap):
                compiled = candidate
                break
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            continue
    if compiled is None:
        compiled = _compile(folder, map_file, _sources(folder))
        _store(compiled, name)
    _LOADED[(folder, map_file)] = compiled
    return compiled


def _store(compiled: CompiledMap, name: str) -> None:
    for root in _cache_dirs():
        try:
            root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".build-", dir=root)
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(compiled, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, root / name)  # atomic: readers see no file or a whole one
            return
        except OSError:
            continue
    logging.getLogger(__name__).debug("compiled map %s not cached (no writable folder)", name)
