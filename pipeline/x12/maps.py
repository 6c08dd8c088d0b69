"""The pyx12 map folder claimflow validates with: pyx12's shipped maps plus our 270/271/276/277.

pyx12 reads everything from one folder (``map_path``): ``maps.xml`` (which map serves an
ISA12/GS01/GS08), the map files, ``codes.xml`` and ``dataele.xml``. The repository holds only
what we author (``mappings/pyx12``: the X279A1 and X212 maps, our ``maps.xml`` entries and the data
elements we add); :func:`map_path` assembles the folder pyx12 needs in a cache directory:
links to pyx12's own files, our maps, and ``maps.xml`` / ``dataele.xml`` merged (ours first /
ours last, so ours win); an authored map with the name of a shipped one (``277.5010.X212.xml``,
which pyx12 ships unregistered and unusable) replaces it. The folder name carries a digest of
every input, so an edited map or a new pyx12 gets a fresh folder and a stale one is never reused.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from functools import cache
from importlib import metadata
from importlib.resources import files
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError

__all__ = ["AUTHORED_MAPS", "MAPPINGS_DIR", "check_map", "map_path", "pyx12_map_dir"]

MAPPINGS_DIR = Path(__file__).resolve().parents[2] / "mappings" / "pyx12"
AUTHORED_MAPS = (
    "270.5010.X279.A1.xml",
    "271.5010.X279.A1.xml",
    "276.5010.X212.xml",
    "277.5010.X212.xml",
)
_MERGED = ("maps.xml", "dataele.xml")
_CACHE_ENV = "CLAIMFLOW_PYX12_MAP_CACHE"


def pyx12_map_dir() -> Path:
    """The folder of maps pyx12 ships (``site-packages/pyx12/map``)."""
    return Path(str(files("pyx12").joinpath("map")))


def _cache_roots() -> list[Path]:
    """Where the folder may live: ``$CLAIMFLOW_PYX12_MAP_CACHE`` alone when set, else the user
    cache and, when that is not writable, the temporary directory."""
    configured = os.environ.get(_CACHE_ENV)
    if configured:
        return [Path(configured)]
    xdg = os.environ.get("XDG_CACHE_HOME")
    user = (Path(xdg) if xdg else Path.home() / ".cache") / "claimflow" / "pyx12-maps"
    return [user, Path(tempfile.gettempdir()) / f"claimflow-pyx12-maps-{os.getuid()}"]


def _ours() -> list[Path]:
    return [MAPPINGS_DIR / name for name in (*AUTHORED_MAPS, *_MERGED)]


def _digest() -> str:
    sha = hashlib.sha256(metadata.version("pyx12").encode())
    # The folder links to this installation's maps: another virtualenv (a removed worktree)
    # with the same pyx12 must get its own folder, never links that dangle once it is gone.
    sha.update(str(pyx12_map_dir().resolve()).encode())
    for path in sorted(pyx12_map_dir().iterdir()):
        sha.update(path.name.encode())
    for path in _ours():
        try:
            sha.update(path.read_bytes())
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read pyx12 map input: {exc}") from exc
    return sha.hexdigest()[:16]


def _merged_maps_xml() -> bytes:
    from lxml import etree

    theirs = etree.parse(str(pyx12_map_dir() / "maps.xml"))
    ours = etree.parse(str(MAPPINGS_DIR / "maps.xml"))
    for version in ours.getroot().iter("version"):
        icvn = version.get("icvn")
        target = theirs.getroot().find(f"version[@icvn='{icvn}']")
        if target is None:
            target = etree.SubElement(theirs.getroot(), "version", icvn=icvn or "")
        # pyx12 takes the first matching entry: ours go in front.
        for i, entry in enumerate(list(version.iterfind("map"))):
            target.insert(i, entry)
    out: bytes = etree.tostring(theirs, encoding="UTF-8", xml_declaration=True)
    return out


def _merged_dataele_xml() -> bytes:
    from lxml import etree

    theirs = etree.parse(str(pyx12_map_dir() / "dataele.xml"))
    ours = etree.parse(str(MAPPINGS_DIR / "dataele.xml"))
    # pyx12 keeps the last definition of an element number: ours go at the end.
    for entry in list(ours.getroot().iter("data_ele")):
        theirs.getroot().append(entry)
    out: bytes = etree.tostring(theirs, encoding="UTF-8", xml_declaration=True)
    return out


def _populate(folder: Path) -> None:
    for source in pyx12_map_dir().iterdir():
        if source.suffix != ".xml" or source.name in _MERGED or source.name in AUTHORED_MAPS:
            continue  # merged below, or replaced by ours (never written through a link)
        try:
            (folder / source.name).symlink_to(source)
        except OSError:  # no symlinks here (some Windows setups): copy instead
            shutil.copy2(source, folder / source.name)
    for name in AUTHORED_MAPS:
        shutil.copy2(MAPPINGS_DIR / name, folder / name)
    (folder / "maps.xml").write_bytes(_merged_maps_xml())
    (folder / "dataele.xml").write_bytes(_merged_dataele_xml())


def _assemble(root: Path, digest: str) -> Path:
    final = root / digest
    if (final / "maps.xml").is_file():
        return final
    root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".build-", dir=root))
    try:
        _populate(scratch)
        scratch.rename(final)  # atomic: a reader sees no folder or a complete one
    except OSError:
        shutil.rmtree(scratch, ignore_errors=True)
        if not (final / "maps.xml").is_file():  # not a lost race: a real failure
            raise
    return final


@cache
def map_path() -> Path:
    """A folder usable as pyx12's ``map_path``: all of pyx12's maps plus ours (X279A1, X212).

    Built once per input digest under ``$CLAIMFLOW_PYX12_MAP_CACHE`` (default
    ``~/.cache/claimflow/pyx12-maps``, else the temporary directory). Concurrent builders race
    safely: each builds in a private scratch folder and renames it into place; the loser
    discards its copy. Raises :class:`ConfigError` when no folder can be written.
    """
    digest = _digest()
    failures = []
    for root in _cache_roots():
        try:
            return _assemble(root, digest)
        except OSError as exc:
            failures.append(f"{root}: {exc}")
    raise ConfigError("cannot assemble the pyx12 map folder: " + "; ".join(failures))


@cache
def _schema(name: str) -> Any:
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(pyx12_map_dir() / name)))


def check_map(path: Path | str, schema: str = "map.xsd") -> list[str]:
    """Problems validating the XML file ``path`` against pyx12's ``schema`` (empty = valid).

    One line per problem: ``<file>:<line>: <message>``.
    """
    from lxml import etree

    try:
        doc = etree.parse(str(path))
    except (OSError, etree.XMLSyntaxError) as exc:
        return [f"{path}: not readable XML: {exc}"]
    validator = _schema(schema)
    if validator.validate(doc):
        return []
    return [f"{path}:{e.line}: {e.message}" for e in validator.error_log]
