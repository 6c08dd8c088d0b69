"""Interop with OpenSSH ``sshd`` (internal-sftp): the same transport against a real-world server.

Runs ``/usr/sbin/sshd -D`` on a free loopback port with its own host key, config and
authorized_keys; skips cleanly when sshd is not installed (``.ci/run`` installs it).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.clearinghouse.sftpd import SftpKeys, ensure_keys, known_hosts_line
from pipeline.errors import AuthenticationFailed, UnknownHostKey
from pipeline.transport.base import receive
from pipeline.transport.profiles import ClearinghouseProfile, load_profile
from pipeline.transport.sftp import SftpTransport
from tests.transport.conftest import FAST, TALLY, sha256

pytestmark = pytest.mark.sshd

SSHD = Path("/usr/sbin/sshd")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Sshd:
    config: Path
    port: int
    log: Path
    keys: SftpKeys
    root: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(self.config), "-p", str(self.port)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("ab"),
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"sshd exited: {self.log.read_text()[-500:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        pytest.fail("sshd did not start listening")

    def stop(self) -> None:
        """Stop the listener and every session it forked (sshd alone leaves sessions up)."""
        if self.process is not None and self.process.poll() is None:
            for pid in [*children(self.process.pid), self.process.pid]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            self.process.wait(10)
        self.process = None


def children(pid: int) -> list[int]:
    """Descendants of ``pid`` (from /proc), deepest first."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            found = [*children(int(entry.name)), int(entry.name), *found]
    return found


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[Sshd]:
    if not SSHD.exists():
        pytest.skip("OpenSSH sshd is not installed (/usr/sbin/sshd)")
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation directory
    keys = ensure_keys(tmp_path / "keys")
    root = tmp_path / "sshd_root"
    for folder in ("outbound", "inbound", "archive"):
        (root / folder).mkdir(parents=True)
    port = free_port()
    user = getpass.getuser()
    config = tmp_path / "sshd_config"
    config.write_text(
        f"""\
ListenAddress 127.0.0.1
HostKey {keys.host_key}
PidFile none
AuthorizedKeysFile {keys.authorized_keys}
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
AllowUsers {user}
AllowTcpForwarding no
X11Forwarding no
Subsystem sftp internal-sftp
LogLevel ERROR
"""
    )
    keys.known_hosts.write_text(known_hosts_line(keys.host_key, "127.0.0.1", port))
    server = Sshd(config, port, tmp_path / "sshd.log", keys, root)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sshd_profile(sshd: Sshd, tmp_path: Path) -> ClearinghouseProfile:
    folders = {name: str(sshd.root / name) for name in ("outbound", "inbound", "archive")}
    return load_profile(
        "embedded", base_dir=tmp_path, port=sshd.port, user=getpass.getuser(), folders=folders
    )


def test_exchange_with_openssh(
    sshd: Sshd, sshd_profile: ClearinghouseProfile, tmp_path: Path
) -> None:
    src = tmp_path / "837P_S1_000000201.x12"
    src.write_bytes(os.urandom(250_000))
    with SftpTransport(sshd_profile, retry_policy=FAST) as t:
        assert not t.upload(src).skipped
        assert t.upload(src).skipped  # posix-rename@openssh.com and the idempotence check
        assert sorted(p.name for p in (sshd.root / "outbound").iterdir()) == [src.name]
        assert (sshd.root / "outbound" / src.name).read_bytes() == src.read_bytes()

        answers = {f"R_{i}.835": os.urandom(40_000 + i) for i in range(3)}
        for name, data in answers.items():
            (sshd.root / "inbound" / name).write_bytes(data)
        got, refused = receive(t, tmp_path / "dl", lambda _r: None)
    assert refused == [] and sorted(r.name for r in got) == sorted(answers)
    for r in got:
        assert r.sha256 == sha256(answers[r.name]) and r.path.read_bytes() == answers[r.name]
    assert list((sshd.root / "inbound").iterdir()) == []
    assert sorted(p.name for p in (sshd.root / "archive").iterdir()) == sorted(answers)
    TALLY.files_checked += 4


def test_openssh_restarted_between_operations(
    sshd: Sshd, sshd_profile: ClearinghouseProfile, tmp_path: Path
) -> None:
    files = {f"a{i}.x12": os.urandom(30_000) for i in range(2)}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    with SftpTransport(sshd_profile, retry_policy=FAST) as t:
        t.upload(tmp_path / "a0.x12")
        sshd.stop()  # drops our connection too
        sshd.start()
        t.upload(tmp_path / "a1.x12")
        assert t.connects == 2
    for name, data in files.items():
        assert (sshd.root / "outbound" / name).read_bytes() == data
    assert sorted(p.name for p in (sshd.root / "outbound").iterdir()) == sorted(files)
    TALLY.faults["sshd_restart"] += 1
    TALLY.files_checked += 2


def test_openssh_unknown_host_key_and_wrong_client_key(
    sshd: Sshd, sshd_profile: ClearinghouseProfile, tmp_path: Path
) -> None:
    other = ensure_keys(tmp_path / "other", port=sshd.port)
    with pytest.raises(UnknownHostKey):
        SftpTransport(
            sshd_profile.model_copy(update={"known_hosts_path": other.known_hosts}),
            retry_policy=FAST,
        ).list()
    with pytest.raises(AuthenticationFailed):
        SftpTransport(
            sshd_profile.model_copy(update={"key_path": other.client_key}), retry_policy=FAST
        ).list()
    TALLY.faults.update({"sshd_unknown_host_key": 1, "sshd_wrong_client_key": 1})
