"""``SftpTransport``: the clearinghouse exchange over SFTP (paramiko), as a reviewer expects it.

- Key authentication only: the profile's client key (passphrase from
  ``CLAIMFLOW_SFTP_KEY_PASSPHRASE``); no agent, no ``~/.ssh`` keys, no passwords.
- The server's host key is pinned: only the profile's known_hosts file is loaded (never the
  system's) and :class:`paramiko.RejectPolicy` refuses anything not in it.
- Uploads go to ``.<name>.part`` and are renamed (``posix-rename``) to the final name only when
  complete and size-checked; a final name already holding the same bytes is not sent again.
- Downloads keep a window of 32 KiB reads in flight (one at a time waits a round trip
  each), land in a local temporary file, are size-checked and hashed (SHA-256), renamed
  into place, and only then may the caller archive or delete the remote copy.
- Dropped links, timeouts and EOFs are :class:`TransientTransportError`, retried with
  exponential backoff on a fresh connection; a refused key or host key is terminal, never
  retried. Remote names are checked before they become paths, here or there.
- Logs carry file names, sizes and attempts — never key material, passphrases or file contents.
"""

from __future__ import annotations

import hashlib
import logging
import posixpath
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, NoReturn, TypeVar

import paramiko
from pydantic import SecretStr

from pipeline.errors import (
    AuthenticationFailed,
    ConfigError,
    TerminalTransportError,
    TransientTransportError,
    TransportError,
    UnknownHostKey,
)
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
from pipeline.transport.profiles import ClearinghouseProfile
from pipeline.transport.retry import RetryPolicy, retry

__all__ = ["SftpTransport"]

log = logging.getLogger(__name__)

READ_WINDOW = 8 * 1024 * 1024
"""Bytes asked for at once by a download (in 32 KiB requests): one request at a time waits a
round trip per 32 KiB — 2.8 s for a 14.6 MB 271 from the simulator — while a window of them in
flight takes 0.25 s; the window bounds what waits in memory."""


def _pipelined_reads(src: paramiko.SFTPFile, size: int) -> Iterator[bytes]:
    """``size`` bytes of ``src``, a window of requests in flight at a time (``readv``)."""
    request = src.MAX_REQUEST_SIZE  # asked for one by one: paramiko joins bigger ones slowly
    for start in range(0, size, READ_WINDOW):
        end = min(start + READ_WINDOW, size)
        yield from src.readv([(at, min(request, end - at)) for at in range(start, end, request)])


def _quiet_prefetch_threads() -> None:
    """``readv`` sends its requests from a paramiko thread; when the link drops, that thread
    dies with a traceback on stderr. The download itself fails and is retried (one line in the
    log); the thread's end is logged as one line too, not as a traceback."""
    if not getattr(threading.excepthook, "_claimflow_quiet", False):
        threading.excepthook = prefetch_excepthook(threading.excepthook)


def prefetch_excepthook(
    previous: Callable[[threading.ExceptHookArgs], Any],
) -> Callable[[threading.ExceptHookArgs], Any]:
    """``previous``, except for paramiko's read-ahead threads: one log line for those."""

    def hook(args: threading.ExceptHookArgs) -> None:
        name = args.thread.name if args.thread is not None else ""
        if not name.endswith("(_prefetch_thread)"):
            previous(args)
            return
        log.info("sftp read-ahead ended: %s", type(args.exc_value).__name__)

    hook._claimflow_quiet = True  # type: ignore[attr-defined]
    return hook


_quiet_prefetch_threads()

T = TypeVar("T")

# Remote files we are willing to hash when checking an earlier upload (X12 files are small).
MAX_VERIFY_BYTES = 256 * 1024 * 1024


class SftpTransport:
    """A :class:`~pipeline.transport.base.Transport` to one clearinghouse over SFTP.

    Connects lazily, keeps one connection for a batch of operations, reconnects after a
    transient failure. Use as a context manager or call :meth:`close`.
    """

    def __init__(
        self,
        profile: ClearinghouseProfile,
        *,
        passphrase: SecretStr | None = None,
        retry_policy: RetryPolicy | None = None,
        connect_timeout: float | None = None,
        operation_timeout: float | None = None,
    ) -> None:
        if profile.protocol != "sftp":
            raise ConfigError(f"clearinghouse {profile.name}: protocol is {profile.protocol}")
        if not profile.port:
            raise ConfigError(f"clearinghouse {profile.name}: port 0 (pass the server's port)")
        self.profile = profile
        self._passphrase = passphrase if passphrase is not None else _settings_passphrase()
        self.retry_policy = retry_policy or profile.retry.policy()
        self.connect_timeout = connect_timeout or profile.connect_timeout_seconds
        self.operation_timeout = operation_timeout or profile.operation_timeout_seconds
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._pkey: paramiko.PKey | None = None
        self.connects = 0
        """Connections opened so far (tests and the flow's summary count reconnects)."""

    # -- Transport -------------------------------------------------------------------------

    def list(self) -> list[RemoteFile]:
        folder = self.profile.folders.inbound

        def listing(sftp: paramiko.SFTPClient) -> list[paramiko.SFTPAttributes]:
            try:
                return sftp.listdir_attr(folder)
            except UnicodeDecodeError as exc:  # paramiko decodes names strictly
                raise TerminalTransportError(
                    f"list {folder}: a file name there is not UTF-8; rename or remove it on "
                    "the server"
                ) from exc

        entries = self._run(f"list {folder}", listing)
        settled_before = time.time() - self.profile.settle_seconds
        files: list[RemoteFile] = []
        for entry in entries:
            if is_temporary_name(entry.filename) or not stat.S_ISREG(entry.st_mode or 0):
                continue
            if self.profile.settle_seconds and (entry.st_mtime or 0) > settled_before:
                continue  # may still be being written: the next run takes it
            try:
                safe_remote_name(entry.filename)
            except TransportError as exc:  # a hostile or broken server: never becomes a path
                log.warning("skipping inbound file: %s", exc)
                continue
            mtime = datetime.fromtimestamp(entry.st_mtime or 0, UTC)
            files.append(RemoteFile(entry.filename, entry.st_size or 0, mtime))
        return sorted(files, key=lambda f: (f.mtime, f.name))

    def upload(self, local_path: Path, remote_name: str | None = None) -> UploadResult:
        name = safe_remote_name(local_path.name if remote_name is None else remote_name)
        if is_temporary_name(name):
            raise TerminalTransportError(f"{name}: upload names must not start with '.'")
        size, sha = _local_file(local_path)
        folder = self.profile.folders.outbound
        final = posixpath.join(folder, name)
        part = posixpath.join(folder, fitted_name(name, prefix=".", suffix=".part"))

        def attempt(sftp: paramiko.SFTPClient) -> UploadResult:
            if self._exists(sftp, final):
                return self._already_there(sftp, final, name, size, sha)
            with local_path.open("rb") as src:
                # putfo truncates any .part left by an earlier attempt, and confirm=True
                # stats it afterwards: a short write raises before the rename.
                sftp.putfo(src, part, file_size=size, confirm=True)
            _rename_into_place(sftp, part, final)
            return UploadResult(name, size, sha)

        result = self._run(f"upload {name}", attempt)
        if not result.skipped:
            log.info("uploaded %s (%d bytes) to %s", name, size, folder)
        return result

    def download(self, remote_name: str, dest_dir: Path) -> DownloadResult:
        target = local_target(dest_dir, remote_name)
        remote = posixpath.join(self.profile.folders.inbound, remote_name)

        def attempt(sftp: paramiko.SFTPClient) -> tuple[Path, int, str]:
            size = sftp.stat(remote).st_size or 0
            with sftp.open(remote, "rb") as src:

                def fill(out: BinaryIO) -> None:
                    for block in _pipelined_reads(src, size):
                        out.write(block)
                    src.seek(size)  # anything past the size it had when listed, as it comes
                    for block in iter(lambda: src.read(CHUNK), b""):
                        out.write(block)

                return write_atomically(target, fill, size)

        path, size, sha = self._run(f"download {remote_name}", attempt)
        log.info("downloaded %s (%d bytes)", remote_name, size)
        return DownloadResult(remote_name, path, size, sha)

    def archive(self, remote_name: str) -> None:
        folders = self.profile.folders
        if folders.archive is None:
            raise ConfigError(f"clearinghouse {self.profile.name}: no archive folder; delete")
        name = safe_remote_name(remote_name)
        source = posixpath.join(folders.inbound, name)
        archive = folders.archive

        def attempt(sftp: paramiko.SFTPClient) -> None:
            if not self._exists(sftp, source):
                # An earlier attempt's rename may have gone through with its answer lost.
                if self._exists(sftp, posixpath.join(archive, name)):
                    return
                raise TerminalTransportError(f"archive {name}: not in {folders.inbound}")
            target = posixpath.join(archive, name)
            if self._exists(sftp, target):  # the same name delivered again: keep both
                stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
                target = posixpath.join(archive, f"{name}.{stamp}")
            sftp.rename(source, target)  # plain rename: never replaces an archived file

        self._run(f"archive {name}", attempt)

    def delete(self, remote_name: str) -> None:
        name = safe_remote_name(remote_name)
        path = posixpath.join(self.profile.folders.inbound, name)

        def attempt(sftp: paramiko.SFTPClient) -> None:
            try:
                sftp.remove(path)
            except FileNotFoundError:
                log.info("delete %s: already gone", name)  # an earlier attempt removed it

        self._run(f"delete {name}", attempt)

    def close(self) -> None:
        sftp, client = self._sftp, self._client
        self._sftp = self._client = None
        for thing in (sftp, client):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # closing a dead link must not mask the real error
                    log.debug("error while closing the SFTP connection", exc_info=True)

    def __enter__(self) -> SftpTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- connection ------------------------------------------------------------------------

    def _run(self, what: str, action: Callable[[paramiko.SFTPClient], T]) -> T:
        """``action`` on a live connection, translated and retried on transient errors."""

        def once() -> T:
            sftp = self._connection()
            try:
                return action(sftp)
            except TransportError:
                raise
            except Exception as exc:
                raise self._translate(exc, what) from exc

        return retry(once, self.retry_policy, what, on_retry=lambda _exc: self.close())

    def _connection(self) -> paramiko.SFTPClient:
        if self._sftp is not None and self._link_alive():
            return self._sftp
        self.close()
        profile = self.profile
        where = f"{profile.user}@{profile.host}:{profile.port}"
        client = paramiko.SSHClient()
        known_hosts = _require_file(profile.known_hosts_path, "known_hosts_path", profile.name)
        try:
            client.load_host_keys(str(known_hosts))  # ours only: never load_system_host_keys()
        except (OSError, paramiko.SSHException) as exc:
            raise ConfigError(f"{known_hosts}: unreadable known_hosts ({exc})") from exc
        policy = _PinnedHostKeysOnly()
        client.set_missing_host_key_policy(policy)
        pkey = self._client_key()
        try:
            client.connect(
                profile.host,
                port=profile.port,
                username=profile.user,
                pkey=pkey,
                allow_agent=False,
                look_for_keys=False,
                timeout=self.connect_timeout,
                banner_timeout=self.connect_timeout,
                auth_timeout=self.connect_timeout,
                channel_timeout=self.connect_timeout,
            )
            sftp = client.open_sftp()
            channel = sftp.get_channel()
            if channel is not None:
                channel.settimeout(self.operation_timeout)
        except Exception as exc:
            client.close()
            if policy.refused is not None:
                raise UnknownHostKey(
                    f"{where}: host key {_fingerprint(policy.refused)} is not pinned in "
                    f"{known_hosts}; refusing to connect (verify the fingerprint with the "
                    "clearinghouse out of band, then add it)"
                ) from exc
            raise self._translate_connect(exc, where, known_hosts) from exc
        self._client, self._sftp = client, sftp
        self.connects += 1
        log.info("connected to %s", where)
        return sftp

    def _client_key(self) -> paramiko.PKey:
        if self._pkey is not None:
            return self._pkey
        path = _require_file(self.profile.key_path, "key_path", self.profile.name)
        secret = self._passphrase.get_secret_value().encode() if self._passphrase else None
        try:
            # paramiko 5 hands the passphrase to cryptography, which wants bytes (stub: str).
            self._pkey = paramiko.PKey.from_path(path, secret)  # type: ignore[arg-type]
        except (paramiko.SSHException, OSError, ValueError, TypeError) as exc:
            # paramiko says PasswordRequiredException, or cryptography a TypeError, when an
            # encrypted key gets no passphrase. The parser's text is never echoed.
            encrypted = isinstance(exc, (paramiko.PasswordRequiredException, TypeError))
            if secret is None and encrypted:
                raise ConfigError(
                    f"{path}: key is encrypted; set CLAIMFLOW_SFTP_KEY_PASSPHRASE"
                ) from exc
            raise ConfigError(
                f"{path}: cannot load client key (wrong passphrase or not a private key: "
                f"{type(exc).__name__})"
            ) from exc
        return self._pkey

    def _link_alive(self) -> bool:
        transport = self._client.get_transport() if self._client else None
        return bool(transport and transport.is_active())

    # -- helpers -----------------------------------------------------------------------------

    @staticmethod
    def _exists(sftp: paramiko.SFTPClient, path: str) -> bool:
        try:
            sftp.stat(path)
        except FileNotFoundError:
            return False
        return True

    @staticmethod
    def _already_there(
        sftp: paramiko.SFTPClient, final: str, name: str, size: int, sha: str
    ) -> UploadResult:
        remote_size = sftp.stat(final).st_size
        if remote_size == size:
            remote_sha = _remote_sha256(sftp, final, size)
            if remote_sha is None or remote_sha == sha:
                log.info("%s is already outbound with the same bytes; not sending again", name)
                return UploadResult(name, size, sha, skipped=True)
        raise TerminalTransportError(
            f"upload {name}: a different file with this name is already outbound "
            f"({remote_size} bytes there, {size} here)"
        )

    # -- error translation -------------------------------------------------------------------

    def _translate_connect(self, exc: Exception, where: str, known_hosts: Path) -> TransportError:
        if isinstance(exc, paramiko.BadHostKeyException):
            return UnknownHostKey(
                f"{where}: host key CHANGED ({_fingerprint(exc.key)}), "
                f"does not match {known_hosts}; refusing to connect"
            )
        if isinstance(exc, paramiko.AuthenticationException):
            return AuthenticationFailed(
                f"{where}: server refused our key {self.profile.key_path} ({_one_line(exc)})"
            )
        return self._translate(exc, f"connect {where}")

    def _translate(self, exc: Exception, what: str) -> TransportError:
        """One paramiko / socket / SFTP error -> transient or terminal claimflow error."""
        message = f"{what}: {_one_line(exc) or type(exc).__name__}"
        if isinstance(exc, (socket.timeout, TimeoutError, EOFError, ConnectionError)):
            return TransientTransportError(message)
        if isinstance(exc, paramiko.SSHException) or not self._link_alive():
            return TransientTransportError(message)  # the link dropped under us
        # The link is up, so the server answered: no such file, permission denied, failure.
        return TerminalTransportError(message)


def _rename_into_place(sftp: paramiko.SFTPClient, part: str, final: str) -> None:
    """``posix-rename@openssh.com``; plain SFTP rename where the server lacks the extension.

    The caller checked that ``final`` does not exist, so the plain rename (which refuses an
    existing target) is equivalent — and never replaces a file the other side already has.
    """
    try:
        sftp.posix_rename(part, final)
    except OSError as exc:
        if exc.errno is not None:  # ENOENT / EACCES: a real answer, not "unsupported"
            raise
        sftp.rename(part, final)


def _local_file(path: Path) -> tuple[int, str]:
    """Size and SHA-256 of a file to upload (one line if it cannot be read)."""
    try:
        return path.stat().st_size, sha256_file(path)
    except OSError as exc:
        raise TerminalTransportError(f"{path}: cannot read ({exc.strerror})") from exc


def _remote_sha256(sftp: paramiko.SFTPClient, path: str, size: int) -> str | None:
    """SHA-256 of a remote file, or None when it cannot be read (write-only outbox) or is huge."""
    if size > MAX_VERIFY_BYTES:
        return None
    digest = hashlib.sha256()
    try:
        with sftp.open(path, "rb") as fh:
            for block in iter(lambda: fh.read(CHUNK), b""):
                digest.update(block)
    except PermissionError:
        return None
    return digest.hexdigest()


class _PinnedHostKeysOnly(paramiko.RejectPolicy):
    """:class:`paramiko.RejectPolicy` that also remembers the key it refused.

    Rejection is RejectPolicy's own; remembering lets the refusal be reported as
    :class:`UnknownHostKey` with the offered fingerprint, not mistaken for a dropped link.
    """

    def __init__(self) -> None:
        self.refused: paramiko.PKey | None = None

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> NoReturn:
        self.refused = key
        super().missing_host_key(client, hostname, key)


def _fingerprint(key: Any) -> str:
    import base64

    digest = hashlib.sha256(key.asbytes()).digest()
    return f"{key.get_name()} SHA256:{base64.b64encode(digest).decode().rstrip('=')}"


def _require_file(path: Path | None, field: str, profile: str) -> Path:
    if path is None or not path.is_file():
        raise ConfigError(f"clearinghouse {profile}: {field} {path} does not exist")
    return path


def _settings_passphrase() -> SecretStr | None:
    from pipeline.settings import get_settings

    return get_settings().sftp_key_passphrase


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
