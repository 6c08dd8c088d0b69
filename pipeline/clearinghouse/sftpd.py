"""A real SFTP server on loopback (asyncssh) for the embedded clearinghouse and the tests.

:class:`SftpServer` runs asyncssh on its own event loop in a background thread, so synchronous
code (the simulator, pytest) can ``start()`` / ``stop()`` it. Key authentication only, against an
authorized_keys file; every session is chrooted to ``root`` and paths that try to leave it
(``..`` above the root, symlinks pointing out) are refused, not clamped. Links cannot be made.

Hooks and fault switches for the simulator and the fault tests:

- ``on_upload_complete(path)``: called (on the server thread, before the client gets its answer)
  when an uploaded file becomes complete — a temporary dot name renamed to a plain name, or a
  plain name closed after writing;
- ``on_list(folder)``: called (on the server thread) before a folder is listed — a client's poll;
- :meth:`SftpServer.drop_after`: abort the connection after N bytes of an upload or download;
- :meth:`SftpServer.drop_after_op`: do a rename / remove, then abort before answering (the
  client cannot know it happened);
- :meth:`SftpServer.stall_reads`: hold read answers for a while (a hung server);
- :meth:`SftpServer.refuse_connections`: close the next connections right after accepting;
- :meth:`SftpServer.close_sessions`: close the next SFTP sessions as they open;
- :meth:`SftpServer.disconnect_all`: drop every open connection now;
- :meth:`SftpServer.inject_listing`: extra (hostile) names in a folder's listing.

``faults_fired`` counts the faults that actually happened, by kind.
:func:`ensure_keys` writes the host key, a client key, known_hosts and authorized_keys.
"""

from __future__ import annotations

import asyncio
import logging
import os
import posixpath
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import asyncssh
from asyncssh.constants import FILEXFER_TYPE_REGULAR, FXF_APPEND, FXF_CREAT, FXF_WRITE

__all__ = ["SftpKeys", "SftpServer", "ensure_keys", "known_hosts_line"]

log = logging.getLogger(__name__)

Direction = Literal["upload", "download"]
UploadHook = Callable[[Path], None]
ListHook = Callable[[Path], None]


# -- keys ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SftpKeys:
    """Where :func:`ensure_keys` put everything (private keys are mode 0600)."""

    folder: Path
    host_key: Path
    client_key: Path
    client_public_key: Path
    known_hosts: Path
    authorized_keys: Path


def ensure_keys(
    folder: Path,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    passphrase: str | None = None,
    kdf_rounds: int = 128,
) -> SftpKeys:
    """Create (once) an ed25519 host key and client key under ``folder``; (re)write the rest.

    ``authorized_keys`` holds the client's public key; ``known_hosts`` pins the host key for
    ``host`` (as ``[host]:port`` when ``port`` is given and not 22 — call again with the
    server's port after a ``port=0`` start). ``passphrase`` encrypts a newly made client key
    (bcrypt KDF, ``kdf_rounds``). Existing keys are kept, so a restarted simulator keeps its
    identity.
    """
    folder.mkdir(parents=True, exist_ok=True)
    keys = SftpKeys(
        folder=folder,
        host_key=folder / "host_ed25519",
        client_key=folder / "client_ed25519",
        client_public_key=folder / "client_ed25519.pub",
        known_hosts=folder / "known_hosts",
        authorized_keys=folder / "authorized_keys",
    )
    _make_key(keys.host_key, None, kdf_rounds)
    if not keys.client_key.exists() or not keys.client_public_key.exists():
        client = _make_key(keys.client_key, passphrase, kdf_rounds)
        _write(keys.client_public_key, client.export_public_key("openssh"), 0o644)
    _write(keys.authorized_keys, keys.client_public_key.read_bytes(), 0o600)
    _write(keys.known_hosts, known_hosts_line(keys.host_key, host, port).encode(), 0o644)
    return keys


def known_hosts_line(host_key: Path, host: str = "127.0.0.1", port: int | None = None) -> str:
    """The known_hosts line that pins ``host_key`` for ``host`` (and ``port``)."""
    public = asyncssh.read_private_key(host_key).export_public_key("openssh").decode().split()
    pattern = f"[{host}]:{port}" if port and port != 22 else host
    return f"{pattern} {public[0]} {public[1]}\n"


def _make_key(path: Path, passphrase: str | None, rounds: int) -> asyncssh.SSHKey:
    if path.exists():
        return asyncssh.read_private_key(path, passphrase)
    key = asyncssh.generate_private_key("ssh-ed25519", comment="claimflow-simulator")
    _write(path, key.export_private_key("openssh", passphrase, rounds=rounds), 0o600)
    return key


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


# -- faults ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Drop:
    direction: Direction
    after_bytes: int
    times: int


@dataclass(slots=True)
class _Handle:
    path: Path
    writing: bool
    transferred: int = 0


@dataclass
class _Faults:
    lock: threading.Lock = field(default_factory=threading.Lock)
    drops: list[_Drop] = field(default_factory=list)
    refuse_connections: int = 0
    close_sessions: int = 0
    after_rename: int = 0
    after_remove: int = 0
    stalls: list[float] = field(default_factory=list)
    listings: dict[str, list[str]] = field(default_factory=dict)

    def cut(self, direction: Direction, done: int, size: int) -> int | None:
        """Bytes still allowed before an armed drop fires on this transfer, else None."""
        with self.lock:
            for drop in self.drops:
                if drop.direction == direction and done + size > drop.after_bytes:
                    drop.times -= 1
                    if drop.times <= 0:
                        self.drops.remove(drop)
                    return max(0, drop.after_bytes - done)
        return None

    def take_stall(self) -> float:
        with self.lock:
            return self.stalls.pop(0) if self.stalls else 0.0

    def take(
        self, kind: Literal["refuse_connections", "close_sessions", "after_rename", "after_remove"]
    ) -> bool:
        with self.lock:
            left: int = getattr(self, kind)
            if left <= 0:
                return False
            setattr(self, kind, left - 1)
            return True


# -- the server ------------------------------------------------------------------------------


class SftpServer:
    """An SFTP server on ``host`` (loopback) chrooted to ``root``; key authentication only.

    ``port=0`` picks a free port at the first start; later restarts reuse it. ``username``
    restricts logins to one user name (default: any name with an authorized key).
    """

    def __init__(
        self,
        root: Path,
        host_key_path: Path,
        authorized_keys_path: Path,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        username: str | None = None,
        on_upload_complete: UploadHook | None = None,
        on_list: ListHook | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        self.host_key_path = Path(host_key_path)
        self.authorized_keys_path = Path(authorized_keys_path)
        self.host = host
        self.username = username
        self.on_upload_complete = on_upload_complete
        self.on_list = on_list
        self.faults_fired: Counter[str] = Counter()
        self.connections_accepted = 0
        self.posix_rename_supported = True
        """False: answer posix-rename like a server without the OpenSSH extension."""
        self.uploads_completed: list[Path] = []
        self._port = port
        self._faults = _Faults()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._connections: set[asyncssh.SSHServerConnection] = set()

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def running(self) -> bool:
        return self._acceptor is not None

    @property
    def open_connections(self) -> int:
        return len(self._connections)

    def start(self) -> SftpServer:
        if self.running:
            return self
        self.root.mkdir(parents=True, exist_ok=True)
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="claimflow-sftpd", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            self._acceptor = self._call(self._listen())
        except BaseException:
            self._stop_loop()
            raise
        self._port = self._acceptor.get_port()
        log.info("SFTP server on %s:%d, root %s", self.host, self._port, self.root)
        return self

    def stop(self) -> None:
        """Stop listening and drop every connection (a restart keeps the port)."""
        if self._loop is None:
            return
        if self._acceptor is not None:
            self._call(self._shutdown())
            self._acceptor = None
        self._stop_loop()

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> SftpServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _call(self, coro: Any, timeout: float = 30) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _listen(self) -> asyncssh.SSHAcceptor:
        return await asyncssh.listen(
            self.host,
            self._port,
            server_host_keys=[str(self.host_key_path)],
            server_factory=lambda: _Server(self),
            sftp_factory=lambda chan: _ChrootSftp(chan, self),
            allow_scp=False,
            reuse_address=True,
        )

    async def _shutdown(self) -> None:
        assert self._acceptor is not None
        self._acceptor.close()
        for conn in list(self._connections):
            conn.abort()
        await self._acceptor.wait_closed()
        deadline = time.monotonic() + 5
        while self._connections and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    def _stop_loop(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None or thread is None:
            return

        async def cancel_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel_rest(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()

    # -- fault switches ----------------------------------------------------------------------

    def drop_after(self, nbytes: int, *, direction: Direction, times: int = 1) -> None:
        """Abort the connection once ``nbytes`` of a file transfer have passed, ``times`` times.

        Counts per open file handle; a transfer smaller than ``nbytes`` leaves it armed.
        """
        with self._faults.lock:
            self._faults.drops.append(_Drop(direction, nbytes, times))

    def drop_after_op(self, op: Literal["rename", "remove"], *, times: int = 1) -> None:
        """Carry out the next ``times`` renames (or removes), then abort before answering."""
        with self._faults.lock:
            if op == "rename":
                self._faults.after_rename += times
            else:
                self._faults.after_remove += times

    def stall_reads(self, seconds: float, *, times: int = 1) -> None:
        """Hold the answer to the next ``times`` file reads for ``seconds`` (a hung server)."""
        with self._faults.lock:
            self._faults.stalls.extend([seconds] * times)

    def refuse_connections(self, times: int = 1) -> None:
        """Close the next ``times`` connections as soon as they are accepted."""
        with self._faults.lock:
            self._faults.refuse_connections += times

    def close_sessions(self, times: int = 1) -> None:
        """Close the next ``times`` SFTP sessions as they open (the connection stays up)."""
        with self._faults.lock:
            self._faults.close_sessions += times

    def inject_listing(self, folder: str, names: list[str]) -> None:
        """Add ``names`` (as small regular files) to listings of ``folder`` — a hostile server."""
        with self._faults.lock:
            self._faults.listings[posixpath.normpath(posixpath.join("/", folder))] = list(names)

    def clear_faults(self) -> None:
        with self._faults.lock:
            self._faults.drops.clear()
            self._faults.refuse_connections = self._faults.close_sessions = 0
            self._faults.after_rename = self._faults.after_remove = 0
            self._faults.stalls.clear()
            self._faults.listings.clear()

    def disconnect_all(self) -> int:
        """Abort every open connection now; returns how many there were."""

        async def abort_all() -> int:
            conns = list(self._connections)
            for conn in conns:
                conn.abort()
            return len(conns)

        count: int = self._call(abort_all()) if self._loop else 0
        self.faults_fired["disconnect_all"] += count
        return count

    # -- called from the server thread -------------------------------------------------------

    def _fired(self, kind: str) -> None:
        self.faults_fired[kind] += 1
        log.info("fault injected: %s", kind)

    def _listing(self, folder: Path) -> None:
        if self.on_list is None:
            return
        try:
            self.on_list(folder)
        except Exception:  # the listing itself still answers; the simulator's bug is logged
            log.exception("on_list failed for %s", folder.name)

    def _upload_complete(self, path: Path) -> None:
        self.uploads_completed.append(path)
        if self.on_upload_complete is None:
            return
        try:
            self.on_upload_complete(path)
        except Exception:  # the upload itself succeeded; the simulator's bug is logged
            log.exception("on_upload_complete failed for %s", path.name)


class _Server(asyncssh.SSHServer):
    """Per-connection: refusal fault, connection tracking, per-login authorized keys."""

    def __init__(self, owner: SftpServer) -> None:
        self._owner = owner
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._owner.connections_accepted += 1
        if self._owner._faults.take("refuse_connections"):
            self._owner._fired("refuse_connection")
            conn.abort()
            return
        self._owner._connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._owner._connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        assert self._conn is not None
        if self._owner.username is None or username == self._owner.username:
            # Read per login so the simulator can rotate keys without a restart.
            self._conn.set_authorized_keys(str(self._owner.authorized_keys_path))
        return True  # no keys loaded for another user name: public key auth fails

    def public_key_auth_supported(self) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False


class _ChrootSftp(asyncssh.SFTPServer):
    """SFTP chrooted to the owner's root, refusing escapes, with the owner's faults and hooks."""

    def __init__(self, chan: asyncssh.SSHServerChannel[bytes], owner: SftpServer) -> None:
        super().__init__(chan, chroot=os.fsencode(owner.root))
        self._owner = owner
        self._root = os.fsencode(owner.root)
        self._handles: dict[int, _Handle] = {}
        self._dropped = False  # requests already queued behind a drop must not fire again
        if owner._faults.take("close_sessions"):
            owner._fired("close_session")
            chan.close()

    # paths

    def map_path(self, path: bytes) -> bytes:
        depth = 0
        for part in path.split(b"/"):
            if part == b"..":
                depth -= 1
                if depth < 0:
                    raise asyncssh.SFTPPermissionDenied("path leaves the root")
            elif part not in (b"", b"."):
                depth += 1
        local = super().map_path(path)
        real = os.path.realpath(local)
        if real != self._root and not real.startswith(self._root + b"/"):
            raise asyncssh.SFTPPermissionDenied("path leaves the root")
        return local

    def symlink(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPPermissionDenied("links are not allowed")

    def link(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPPermissionDenied("links are not allowed")

    async def scandir(self, path: bytes) -> AsyncIterator[asyncssh.SFTPName]:
        # The default lists '..' through lstat(path + '/..'), which map_path refuses at the
        # root; both dot entries get the folder's own attributes instead.
        local = self.map_path(path)
        self._owner._listing(Path(os.fsdecode(local)))
        own = asyncssh.SFTPAttrs.from_local(os.lstat(local))
        for dot in (b".", b".."):
            yield asyncssh.SFTPName(dot, attrs=own)
        with os.scandir(local) as entries:
            for entry in entries:
                attrs = asyncssh.SFTPAttrs.from_local(entry.stat(follow_symlinks=False))
                yield asyncssh.SFTPName(os.fsencode(entry.name), attrs=attrs)
        folder = posixpath.normpath(posixpath.join("/", os.fsdecode(path)))
        with self._owner._faults.lock:
            extra = list(self._owner._faults.listings.get(folder, ()))
        for fake in extra:
            attrs = asyncssh.SFTPAttrs(
                type=FILEXFER_TYPE_REGULAR, size=10, permissions=0o100644, mtime=int(time.time())
            )
            yield asyncssh.SFTPName(fake.encode("utf-8", "surrogateescape"), attrs=attrs)

    # files

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        local = Path(os.fsdecode(self.map_path(path)))
        file_obj = super().open(path, pflags, attrs)
        writing = bool(pflags & (FXF_WRITE | FXF_APPEND | FXF_CREAT))
        self._handles[id(file_obj)] = _Handle(local, writing)
        return file_obj

    def write(self, file_obj: object, offset: int, data: bytes) -> int:
        if self._dropped:
            raise asyncssh.SFTPConnectionLost("connection dropped")
        handle = self._handles.get(id(file_obj))
        if handle is not None:
            allowed = self._owner._faults.cut("upload", handle.transferred, len(data))
            if allowed is not None:
                if allowed:
                    super().write(file_obj, offset, data[:allowed])
                self._drop("drop_upload")
            handle.transferred += len(data)
        written: int = super().write(file_obj, offset, data)  # type: ignore[assignment]
        return written

    def read(self, file_obj: object, offset: int, size: int) -> bytes | Awaitable[bytes]:
        stall = self._owner._faults.take_stall()
        if stall:
            self._owner._fired("stall")

            async def later() -> bytes:
                await asyncio.sleep(stall)  # a hung server: the client's timeout must fire
                return self._read_now(file_obj, offset, size)

            return later()
        return self._read_now(file_obj, offset, size)

    def _read_now(self, file_obj: object, offset: int, size: int) -> bytes:
        if self._dropped:
            raise asyncssh.SFTPConnectionLost("connection dropped")
        data: bytes = super().read(file_obj, offset, size)  # type: ignore[assignment]
        handle = self._handles.get(id(file_obj))
        if handle is not None and data:
            if self._owner._faults.cut("download", handle.transferred, len(data)) is not None:
                self._drop("drop_download")
            handle.transferred += len(data)
        return data

    def close(self, file_obj: object) -> None:
        handle = self._handles.pop(id(file_obj), None)
        super().close(file_obj)
        # asyncssh also closes the handles a vanished client left open: that file is partial,
        # not an upload. Only a close the client asked for on a live session counts.
        cleanup = self._dropped or self.channel.is_closing()
        if handle and handle.writing and not cleanup and not handle.path.name.startswith("."):
            self._owner._upload_complete(handle.path)

    def rename(self, oldpath: bytes, newpath: bytes) -> None:
        super().rename(oldpath, newpath)
        self._renamed(oldpath, newpath)

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        if not self._owner.posix_rename_supported:
            raise asyncssh.SFTPOpUnsupported("posix-rename is not supported here")
        super().posix_rename(oldpath, newpath)
        self._renamed(oldpath, newpath)

    def remove(self, path: bytes) -> None:
        super().remove(path)
        if self._owner._faults.take("after_remove"):
            self._drop("drop_after_remove")

    def _renamed(self, oldpath: bytes, newpath: bytes) -> None:
        # Only a temporary (dot) name becoming a plain one is a finished upload; a plain
        # rename (archiving) is not.
        old, new = posixpath.basename(oldpath), posixpath.basename(newpath)
        if old.startswith(b".") and not new.startswith(b"."):
            self._owner._upload_complete(Path(os.fsdecode(self.map_path(newpath))))
        if self._owner._faults.take("after_rename"):
            self._drop("drop_after_rename")

    def _drop(self, kind: str) -> None:
        self._dropped = True
        self._owner._fired(kind)
        self.connection.abort()
        raise asyncssh.SFTPConnectionLost("connection dropped (fault injected)")
