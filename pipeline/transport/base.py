"""The ``Transport`` protocol and what every implementation shares.

A transport moves whole files between the practice and its clearinghouse: ``upload`` to the
outbound folder, ``list``/``download`` from the inbound folder, then ``archive`` or ``delete``
the remote copy — only after the caller has registered the downloaded bytes (:func:`receive`
does that in the right order). Remote names are never trusted: :func:`safe_remote_name` refuses
anything that could become a path (``..``, ``/``, ``\\``, control characters) before a name
touches the local disk or a remote folder.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Literal, Protocol, runtime_checkable

from pipeline.errors import TransientTransportError, TransportError, UnsafeRemoteName

__all__ = [
    "CHUNK",
    "DownloadResult",
    "RemoteFile",
    "Transport",
    "UploadResult",
    "fitted_name",
    "is_temporary_name",
    "local_target",
    "receive",
    "safe_remote_name",
    "sha256_file",
    "write_atomically",
]

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
MAX_NAME = 255


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """One file waiting in a remote folder (``mtime`` in UTC)."""

    name: str
    size: int
    mtime: datetime


@dataclass(frozen=True, slots=True)
class UploadResult:
    """An upload that is complete under its final remote name.

    ``skipped`` is true when the same bytes were already there (an earlier attempt whose rename
    succeeded but whose answer was lost): nothing was sent twice.
    """

    name: str
    size: int
    sha256: str
    skipped: bool = False


@dataclass(frozen=True, slots=True)
class DownloadResult:
    """A downloaded file, verified and renamed into place; register ``sha256`` before archiving."""

    name: str
    path: Path
    size: int
    sha256: str


@runtime_checkable
class Transport(Protocol):
    """File exchange with one clearinghouse (outbound, inbound and archive folders)."""

    def list(self) -> list[RemoteFile]:
        """Regular files in the inbound folder, oldest first; temporary (dot) names left out."""
        ...

    def upload(self, local_path: Path, remote_name: str | None = None) -> UploadResult:
        """Send ``local_path`` to the outbound folder under a temporary name, then rename."""
        ...

    def download(self, remote_name: str, dest_dir: Path) -> DownloadResult:
        """Fetch one inbound file into ``dest_dir``; the remote copy is left untouched."""
        ...

    def archive(self, remote_name: str) -> None:
        """Move an inbound file to the archive folder (after it was downloaded and registered)."""
        ...

    def delete(self, remote_name: str) -> None:
        """Remove an inbound file (after it was downloaded and registered)."""
        ...

    def close(self) -> None:
        """Release connections; the transport reconnects on next use."""
        ...


def safe_remote_name(name: str) -> str:
    """``name`` if it is a plain file name, else :class:`UnsafeRemoteName` (never a path)."""
    problem = _name_problem(name)
    if problem:
        shown = ascii(name[:80])  # ascii(): control characters never reach a log or terminal raw
        raise UnsafeRemoteName(f"remote name {shown}: {problem}")
    return name


def _name_problem(name: str) -> str | None:
    if not name or not name.strip():
        return "empty name"
    if name in (".", ".."):
        return "refers to a directory"
    if "/" in name or "\\" in name:
        return "contains a path separator"
    if ".." in name:
        return "contains '..'"
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        return "contains control characters"
    if len(name.encode("utf-8")) > MAX_NAME:
        return f"longer than {MAX_NAME} bytes"
    if name != name.strip():
        return "leading or trailing whitespace"
    return None


def fitted_name(name: str, *, prefix: str = "", suffix: str = "", room: int = 0) -> str:
    """``prefix + name + suffix`` in at most ``MAX_NAME - room`` bytes (file systems refuse
    longer names): a legal 255-byte remote name gets its temporary or sibling names by cutting
    ``name`` and adding a digest of it, so two long names never share one."""
    whole = f"{prefix}{name}{suffix}"
    limit = MAX_NAME - room
    if len(whole.encode("utf-8")) <= limit:
        return whole
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:12]
    keep = limit - len(prefix.encode("utf-8")) - len(suffix.encode("utf-8")) - len(digest) - 1
    cut = name.encode("utf-8")[: max(keep, 0)].decode("utf-8", "ignore")
    return f"{prefix}{cut}~{digest}{suffix}"


def is_temporary_name(name: str) -> bool:
    """Dot names are uploads still in progress (ours ``.<name>.part``, and most servers')."""
    return name.startswith(".")


def local_target(dest_dir: Path, remote_name: str) -> Path:
    """The local path for a remote name: checked, and provably inside ``dest_dir``."""
    name = safe_remote_name(remote_name)
    if is_temporary_name(name):
        raise UnsafeRemoteName(f"remote name {name!a}: hidden or temporary name")
    base = dest_dir.resolve()
    target = (base / name).resolve()
    if target.parent != base:  # a symlink in dest_dir or anything else surprising
        raise UnsafeRemoteName(f"remote name {name!a}: resolves outside {base}")
    return target


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomically(
    target: Path, fill: Callable[[BinaryIO], None], expected_size: int
) -> tuple[Path, int, str]:
    """Write ``target`` through a temporary file in its folder; verify size, fsync, rename.

    ``fill`` writes the bytes; the file only appears when exactly ``expected_size`` bytes
    arrived. A different file already at ``target`` is never overwritten: the new one is kept
    as ``<stem>.<sha256[:12]><suffix>`` beside it. Returns (path, size, SHA-256). On any failure
    the temporary file is removed and nothing appears.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp puts 8 random characters between prefix and suffix.
    prefix = fitted_name(target.name, prefix=".", suffix=".", room=8 + len(".part"))
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=prefix, suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as raw:
            hashing = _HashingWriter(raw)
            fill(hashing)  # type: ignore[arg-type]
            raw.flush()
            os.fsync(raw.fileno())
        if hashing.size != expected_size:  # cut short or still growing: try again later
            raise TransientTransportError(
                f"{target.name}: received {hashing.size} bytes, expected {expected_size}"
            )
        sha = hashing.digest.hexdigest()
        if target.exists() and sha256_file(target) != sha:
            suffix = target.suffix if len(target.suffix) <= 16 else ""
            stem = target.name[: len(target.name) - len(suffix)]
            target = target.with_name(fitted_name(stem, suffix=f".{sha[:12]}{suffix}"))
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target, hashing.size, sha


class _HashingWriter:
    """A write-only file object that hashes and counts what passes through."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.raw.write(data)


def receive(
    transport: Transport,
    dest_dir: Path,
    register: Callable[[DownloadResult], None],
    *,
    after: Literal["archive", "delete", "keep"] = "archive",
    files: Iterable[RemoteFile] | None = None,
) -> tuple[list[DownloadResult], list[tuple[str, TransportError]]]:
    """Download every inbound file, ``register`` it, and only then archive/delete the remote.

    ``register`` is the ledger's hook (store the SHA-256; duplicates are the ledger's call).
    If it raises, the remote copy stays where it is and the next run picks it up again.
    A file the transport refuses (unsafe name, vanished) is reported, not fatal for the rest;
    transient errors that outlive the retries propagate.
    Returns (received, refused).
    """
    if after not in ("archive", "delete", "keep"):
        raise ValueError(f"after must be archive, delete or keep, not {after!r}")
    received: list[DownloadResult] = []
    refused: list[tuple[str, TransportError]] = []
    for remote in transport.list() if files is None else files:
        try:
            result = transport.download(remote.name, dest_dir)
        except TransportError as exc:
            if exc.transient:
                raise
            log.warning("inbound file refused: %s", exc)
            refused.append((remote.name, exc))
            continue
        register(result)
        if after == "archive":
            transport.archive(remote.name)
        elif after == "delete":
            transport.delete(remote.name)
        received.append(result)
    return received, refused
