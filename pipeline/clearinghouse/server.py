"""The embedded clearinghouse: the SFTP server (:mod:`.sftpd`) wired to the :class:`Responder`.

    with Clearinghouse(root, seed=7, practice="sample_edi/practice") as ch:
        ch.port, ch.client_key_path, ch.known_hosts_path     # what the client needs
        ...upload 837P/270/276 into /outbound, download responses from /inbound...
        ch.wait_idle()

With ``realtime=Credentials(user, password)`` it also serves the CORE real-time endpoint
(:mod:`.realtime`, HTTPS on loopback): ``ch.realtime_url``, ``ch.realtime_certificate`` (pin it).

Under ``root``: ``keys/`` (host key, client key, known_hosts, authorized_keys), ``sftp/`` (the
SFTP root: upload and response folders per ``mappings/clearinghouses/embedded.yaml``),
``state/``, ``held/`` (late deliveries) and ``ground_truth/`` (never reachable over SFTP).
Responses are written on the server thread before the upload is acknowledged, so when a
client's upload returns, the answers are already there (unless held by the ``late`` fault).

Durable: what is answered comes from what landed in the upload folder. ``state/answered.json``
records each upload answered (name and SHA-256); at start-up and on every poll (a listing of
the response folder) any file in the upload folder not yet answered is answered then — an
upload that landed while the simulator was stopped or killed before answering gets its
responses when the client comes back, exactly once. (A kill in the instant between writing the
responses and recording them answers that upload again: at least once, never lost.)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.clearinghouse.responder import Faults, Responder

if TYPE_CHECKING:
    from pipeline.clearinghouse.realtime import RealtimeFaults, RealtimeServer
    from pipeline.transport import ClearinghouseProfile
    from pipeline.transport.core import Credentials

__all__ = ["Clearinghouse"]

log = logging.getLogger(__name__)


class Clearinghouse:
    """A payer world on loopback: ``start()``, ``stop()``, ``.port``, key paths, ``wait_idle()``.

    Fault switches: ``faults`` (:class:`Faults`: duplicate, late, malformed deliveries),
    ``drop_after_bytes`` (drop the connection once, N bytes into a download),
    ``late_seconds`` (held responses are released that long after the upload, besides at the
    next upload or :meth:`release_held`); ``server`` has the finer SFTP switches.
    """

    def __init__(
        self,
        root: Path,
        seed: int = 7,
        *,
        practice: Path | Any | None = None,
        port: int = 0,
        mappings_dir: Path | None = None,
        faults: Faults | None = None,
        drop_after_bytes: int | None = None,
        late_seconds: float | None = None,
        username: str | None = None,
        realtime: Credentials | None = None,
        realtime_faults: RealtimeFaults | None = None,
    ) -> None:
        from pipeline.clearinghouse.sftpd import SftpServer, ensure_keys

        self.root = Path(root)
        self.responder = Responder(
            self.root, seed, practice=practice, mappings_dir=mappings_dir, faults=faults
        )
        self.layout = self.responder.layout
        self.keys = ensure_keys(self.root / "keys")
        self.drop_after_bytes = drop_after_bytes
        self.late_seconds = late_seconds
        self._timers: list[threading.Timer] = []
        self.server = SftpServer(
            self.root / "sftp",
            self.keys.host_key,
            self.keys.authorized_keys,
            port,
            username=username,
            on_upload_complete=self._on_upload,
            on_list=self._on_list,
        )
        self.responses: list[Path] = []
        self._busy = 0
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._respond_lock = threading.RLock()
        self._answered = _Answered.load(self.layout.state / "answered.json", self.layout)
        self.realtime_credentials = realtime
        self.realtime_faults = realtime_faults
        self.realtime: RealtimeServer | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> Clearinghouse:
        from pipeline.clearinghouse.sftpd import ensure_keys

        self.answer_pending()  # uploads that landed while it was down, before anyone polls
        self.server.start()
        ensure_keys(self.root / "keys", port=self.server.port)  # pin [127.0.0.1]:port
        if self.drop_after_bytes:
            self.server.drop_after(self.drop_after_bytes, direction="download")
        if self.realtime_credentials is not None:
            self._start_realtime(self.realtime_credentials)
        log.info("clearinghouse on 127.0.0.1:%d (root %s)", self.port, self.root)
        return self

    def _start_realtime(self, credentials: Credentials) -> None:
        from pipeline.clearinghouse.realtime import RealtimeServer, core_app
        from pipeline.clearinghouse.tls import ensure_certificate

        tls = ensure_certificate(self.root / "keys")
        app = core_app(self.respond_realtime, credentials, self.realtime_faults)
        self.realtime = RealtimeServer(app, tls.certificate, tls.key).start()
        log.info("real-time (CORE) endpoint on %s", self.realtime.url)

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        if self.realtime is not None:
            self.realtime.stop()
        self.server.stop()

    def __enter__(self) -> Clearinghouse:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- what a client needs ------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self.server.port

    @property
    def client_key_path(self) -> Path:
        return self.keys.client_key

    @property
    def known_hosts_path(self) -> Path:
        return self.keys.known_hosts

    @property
    def realtime_url(self) -> str:
        if self.realtime is None:
            raise RuntimeError(
                "the real-time endpoint is not running (Clearinghouse(realtime=...))"
            )
        return self.realtime.url

    @property
    def realtime_certificate(self) -> Path:
        from pipeline.clearinghouse.tls import CERT_NAME

        return self.root / "keys" / CERT_NAME

    def profile(self) -> ClearinghouseProfile:
        """The ``embedded`` profile reaching this running simulator (SFTP, and real time)."""
        from pipeline.transport import load_profile
        from pipeline.transport.profiles import RealtimeEndpoint

        profile = load_profile("embedded", base_dir=self.root, port=self.port)
        if self.realtime is None:
            return profile
        endpoint = RealtimeEndpoint(url=self.realtime_url, certificate=self.realtime_certificate)
        return profile.model_copy(update={"realtime": endpoint})

    @property
    def ground_truth_path(self) -> Path:
        return self.responder.truth.path

    @property
    def host_key_fingerprint(self) -> str:
        import asyncssh

        key = asyncssh.read_private_key(self.keys.host_key)
        return str(key.get_fingerprint("sha256"))

    # -- responding ---------------------------------------------------------------------------
    def _on_upload(self, path: Path) -> None:
        if path.resolve().parent != self.layout.uploads.resolve():
            return  # only files dropped into the upload folder are for the payers
        with self._lock:
            self._busy += 1
        try:
            with self._respond_lock:  # one inbound file at a time: state and counters
                self.responses.extend(self.responder.respond(path))
                self._answered.add(path)
            if self.late_seconds is not None and self.responder.faults.late:
                timer = threading.Timer(self.late_seconds, self.release_held)
                timer.daemon = True
                timer.start()
                self._timers.append(timer)
        except Exception:
            log.exception("no response for %s", path.name)
            raise
        finally:
            with self._lock:
                self._busy -= 1
                self._idle.notify_all()

    def _on_list(self, folder: Path) -> None:
        if folder.resolve() == self.layout.responses.resolve():
            self.answer_pending()  # a client's poll

    def answer_pending(self) -> list[Path]:
        """Answer every file in the upload folder not answered yet; returns the responses."""
        before = len(self.responses)
        with self._respond_lock:
            for path in self._answered.pending():
                log.info("answering %s (landed without an answer)", path.name)
                self._on_upload(path)
        return self.responses[before:]

    def respond_realtime(self, payload: bytes, payload_id: str) -> tuple[str, str]:
        """A real-time 270/276 answered now (one at a time with the SFTP uploads)."""
        with self._respond_lock:
            return self.responder.respond_realtime(payload, payload_id)

    def respond(self, path: Path) -> list[Path]:
        """Answer a file placed in the upload folder without SFTP (same as an upload)."""
        before = len(self.responses)
        self._on_upload(Path(path))
        return self.responses[before:]

    def release_held(self) -> list[Path]:
        """Deliver responses held back by the ``late`` fault now."""
        with self._respond_lock:
            released = self.responder.release_held()
        self.responses.extend(released)
        return released

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until no upload is being answered; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)


class _Answered:
    """Uploads answered so far (``state/answered.json``: name -> size, mtime, SHA-256).

    A file whose size and mtime match its record is not read again, so a poll costs a
    folder listing, not a hash of every upload.
    """

    def __init__(self, path: Path, uploads: Path, seen: dict[str, list[Any]]) -> None:
        self.path = path
        self.uploads = uploads
        self.seen = seen

    @classmethod
    def load(cls, path: Path, layout: Any) -> _Answered:
        if path.exists():
            return cls(path, layout.uploads, json.loads(path.read_text(encoding="utf-8")))
        answered = cls(path, layout.uploads, {})
        if (layout.state / "seen.json").exists():
            # A root from before this record: what is in its upload folder was answered.
            for upload in answered._landed():
                answered.seen[upload.name] = _record(upload)
            answered._save()
        return answered

    def _landed(self) -> list[Path]:
        """Complete uploads, oldest first (dot names are uploads still in flight)."""
        if not self.uploads.is_dir():
            return []
        files = [p for p in self.uploads.iterdir() if p.is_file() and not p.name.startswith(".")]
        return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))

    def pending(self) -> list[Path]:
        out = []
        for upload in self._landed():
            known = self.seen.get(upload.name)
            stat = upload.stat()
            if known is not None and known[:2] == [stat.st_size, stat.st_mtime_ns]:
                continue
            if known is not None and known[2] == _record(upload)[2]:
                continue  # touched, not changed
            out.append(upload)
        return out

    def add(self, upload: Path) -> None:
        self.seen[upload.name] = _record(upload)
        self._save()

    def _save(self) -> None:
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text(json.dumps(self.seen, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)


def _record(path: Path) -> list[Any]:
    stat = path.stat()
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return [stat.st_size, stat.st_mtime_ns, digest.hexdigest()]
