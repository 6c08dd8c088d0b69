"""``claimflow clearinghouse serve --root DIR [--port P] [--seed S]``.

Besides SFTP it serves the CORE real-time endpoint (HTTPS on loopback) with the credentials in
``CLAIMFLOW_REALTIME_USERNAME`` / ``CLAIMFLOW_REALTIME_PASSWORD`` — or, when they are not set,
user ``claimflow`` and a random password written owner-only to ``<root>/keys/realtime_password``
— and writes ``<root>/profile.yaml``, a profile reaching both (``CLAIMFLOW_CLEARINGHOUSE``).
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from pipeline.clearinghouse.server import Clearinghouse
    from pipeline.settings import Settings
    from pipeline.transport.core import Credentials

__all__ = ["serve_command"]


def serve_command(
    root: Path,
    *,
    port: int,
    seed: int,
    write_profile: Path | None = None,
    stdout: TextIO | None = None,
    run_for: float | None = None,
) -> int:
    """Run the simulator on loopback until Ctrl-C / SIGTERM (or ``run_for`` seconds, for tests).

    ``write_profile``: also write the profile reaching it there (``--clearinghouse FILE``).
    SIGINT and SIGTERM stop it cleanly: connections closed, one line, exit 0.
    """
    from pipeline.clearinghouse.server import Clearinghouse
    from pipeline.settings import get_settings

    out = stdout or sys.stdout
    stop = threading.Event()
    caught: list[str] = []
    previous = _on_stop_signals(stop, caught)
    root = Path(root).resolve()  # the profile's key paths must work from any folder
    settings = get_settings()
    practice = settings.practice_dir if settings.practice_dir.is_dir() else None
    credentials = _realtime_credentials(settings, Path(root) / "keys")
    clearinghouse = Clearinghouse(
        Path(root), seed, practice=practice, port=port, realtime=credentials
    )
    clearinghouse.start()
    profile_path = _write_profile(clearinghouse, write_profile)
    layout = clearinghouse.layout
    sftp_root = layout.root / "sftp"
    print(f"clearinghouse listening on 127.0.0.1:{clearinghouse.port} (seed {seed})", file=out)
    print(f"host key fingerprint: {clearinghouse.host_key_fingerprint}", file=out)
    print(f"client key: {clearinghouse.client_key_path}", file=out)
    print(f"known_hosts: {clearinghouse.known_hosts_path}", file=out)
    print(f"upload to: /{layout.uploads.relative_to(sftp_root)}", file=out)
    print(f"responses in: /{layout.responses.relative_to(sftp_root)}", file=out)
    print(f"ground truth: {clearinghouse.ground_truth_path}", file=out)
    print(f"real time (CORE SOAP 1.2): {clearinghouse.realtime_url}", file=out)
    print(f"pin this certificate: {clearinghouse.realtime_certificate}", file=out)
    print(f"real-time user: {credentials.username}", file=out)
    print(f"profile: {profile_path} (CLAIMFLOW_CLEARINGHOUSE={profile_path})", file=out)
    print("press Ctrl-C (or send SIGTERM) to stop", file=out, flush=True)
    try:
        stop.wait(run_for)
    finally:
        clearinghouse.stop()
        _restore(previous)
    reason = f" ({caught[0]})" if caught else ""
    print(f"clearinghouse stopped{reason}", file=out, flush=True)
    return 0


def _on_stop_signals(stop: threading.Event, caught: list[str]) -> dict[int, Any]:
    """SIGINT/SIGTERM set ``stop`` (main thread only: tests run the command in threads)."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handler(signum: int, _frame: Any) -> None:
        caught.append(signal.Signals(signum).name)
        stop.set()

    return {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}


def _restore(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def _realtime_credentials(settings: Settings, keys: Path) -> Credentials:
    """The configured real-time credentials, else ``claimflow`` and a stored random password."""
    import os
    import secrets

    from pipeline.transport.core import Credentials

    if settings.realtime_username and settings.realtime_password is not None:
        return Credentials(
            settings.realtime_username, settings.realtime_password.get_secret_value()
        )
    stored = keys / "realtime_password"
    if not stored.exists():
        keys.mkdir(parents=True, exist_ok=True)
        fd = os.open(stored, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_urlsafe(24) + "\n")
    return Credentials("claimflow", stored.read_text(encoding="ascii").strip())


def _write_profile(clearinghouse: Clearinghouse, also: Path | None) -> Path:
    """``<root>/profile.yaml`` (and ``also``): host, port, user, key and pinned host key."""
    from pipeline.transport.profiles import write_profile

    profile = clearinghouse.profile()
    path = write_profile(profile, clearinghouse.root / "profile.yaml")
    return write_profile(profile, also) if also is not None else path
