"""``LocalTransport``: the clearinghouse's folders on a mounted share (SMB/NFS) or local disk.

Same guarantees as the SFTP transport: uploads appear under their final name only when complete
(temporary dot name, then rename), an identical earlier upload is not sent again, downloads are
verified and hashed before the caller archives or deletes the remote copy, and names read from
the share are checked before they become paths.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from pipeline.errors import TerminalTransportError, TransientTransportError
from pipeline.transport.base import (
    CHUNK,
    DownloadResult,
    RemoteFile,
    UploadResult,
    fitted_name,
    is_temporary_name,
    local_target,
    safe_remote_name,
    sha256_file,
    write_atomically,
)

__all__ = ["LocalTransport"]

log = logging.getLogger(__name__)

# A share that went away answers with these; anything else is a real refusal.
_TRANSIENT_ERRNOS = {errno.EIO, errno.ESTALE, errno.ETIMEDOUT, errno.EAGAIN, errno.EHOSTDOWN}


class LocalTransport:
    """A :class:`~pipeline.transport.base.Transport` over folders under ``root``."""

    def __init__(
        self,
        root: Path,
        *,
        outbound: str = "outbound",
        inbound: str = "inbound",
        archive: str | None = "archive",
        settle_seconds: float = 0,
    ) -> None:
        self.root = Path(root)
        self.settle_seconds = settle_seconds
        self.outbound = self._folder(outbound)
        self.inbound = self._folder(inbound)
        self.archive_dir = self._folder(archive) if archive else None

    def _folder(self, relative: str) -> Path:
        folder = (self.root / relative.strip("/")).resolve()
        if not folder.is_relative_to(self.root.resolve()):
            raise TerminalTransportError(f"{relative}: folder outside {self.root}")
        return folder

    def list(self) -> list[RemoteFile]:
        files: list[RemoteFile] = []
        try:
            entries = list(os.scandir(self.inbound))
        except OSError as exc:
            raise _translate(exc, f"list {self.inbound}") from exc
        for entry in entries:
            if is_temporary_name(entry.name) or not entry.is_file(follow_symlinks=False):
                continue
            try:
                safe_remote_name(entry.name)
            except TerminalTransportError as exc:
                log.warning("skipping inbound file: %s", exc)
                continue
            st = entry.stat(follow_symlinks=False)
            if self.settle_seconds and st.st_mtime > time.time() - self.settle_seconds:
                continue  # may still be being written: the next run takes it
            mtime = datetime.fromtimestamp(st.st_mtime, UTC)
            files.append(RemoteFile(entry.name, st.st_size, mtime))
        return sorted(files, key=lambda f: (f.mtime, f.name))

    def upload(self, local_path: Path, remote_name: str | None = None) -> UploadResult:
        name = safe_remote_name(local_path.name if remote_name is None else remote_name)
        try:
            size, sha = local_path.stat().st_size, sha256_file(local_path)
        except OSError as exc:
            raise TerminalTransportError(f"{local_path}: cannot read ({exc.strerror})") from exc
        final = self.outbound / name
        if final.exists():
            return _already_there(final, name, size, sha)
        part = self.outbound / fitted_name(name, prefix=".", suffix=".part")
        try:
            self.outbound.mkdir(parents=True, exist_ok=True)
            with local_path.open("rb") as src, part.open("wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK)
                dst.flush()
                os.fsync(dst.fileno())
            if part.stat().st_size != size:
                raise TransientTransportError(f"{name}: short write on {self.outbound}")
            # link() refuses an existing target, like SFTP rename: never replace a file the
            # clearinghouse may already be reading.
            os.link(part, final)
        except FileExistsError:
            return _already_there(final, name, size, sha)
        except OSError as exc:
            raise _translate(exc, f"upload {name}") from exc
        finally:
            part.unlink(missing_ok=True)
        log.info("uploaded %s (%d bytes) to %s", name, size, self.outbound)
        return UploadResult(name, size, sha)

    def download(self, remote_name: str, dest_dir: Path) -> DownloadResult:
        target = local_target(dest_dir, remote_name)
        source = self.inbound / remote_name
        try:
            size = source.stat().st_size
            with source.open("rb") as src:

                def fill(out: BinaryIO) -> None:
                    shutil.copyfileobj(src, out, CHUNK)

                path, size, sha = write_atomically(target, fill, size)
        except OSError as exc:
            raise _translate(exc, f"download {remote_name}") from exc
        log.info("downloaded %s (%d bytes)", remote_name, size)
        return DownloadResult(remote_name, path, size, sha)

    def archive(self, remote_name: str) -> None:
        if self.archive_dir is None:
            raise TerminalTransportError("this share has no archive folder; use delete")
        name = safe_remote_name(remote_name)
        source = self.inbound / name
        try:
            self.archive_dir.mkdir(parents=True, exist_ok=True)
            target = self.archive_dir / name
            if target.exists():  # the same name delivered again: keep both archived copies
                stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
                target = self.archive_dir / fitted_name(name, suffix=f".{stamp}")
            os.rename(source, target)
        except OSError as exc:
            raise _translate(exc, f"archive {name}") from exc

    def delete(self, remote_name: str) -> None:
        name = safe_remote_name(remote_name)
        try:
            (self.inbound / name).unlink(missing_ok=True)
        except OSError as exc:
            raise _translate(exc, f"delete {name}") from exc

    def close(self) -> None:
        """Nothing to release."""


def _already_there(final: Path, name: str, size: int, sha: str) -> UploadResult:
    if final.stat().st_size == size and sha256_file(final) == sha:
        log.info("%s already uploaded with the same bytes; not sending again", name)
        return UploadResult(name, size, sha, skipped=True)
    raise TerminalTransportError(f"{name}: a different file with this name is already outbound")


def _translate(exc: OSError, what: str) -> TerminalTransportError | TransientTransportError:
    message = f"{what}: {exc.strerror or exc}"
    if exc.errno in _TRANSIENT_ERRNOS:
        return TransientTransportError(message)
    return TerminalTransportError(message)
