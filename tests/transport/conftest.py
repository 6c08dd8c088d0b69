"""Fixtures for the transport tests: keys, a real asyncssh SFTP server, profiles, a fault tally.

The tally counts every fault a test injected and every file lost or doubled; the numbers are
printed at the end of the run (``transport fault tally``) and must show zero lost, zero doubled.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pipeline.clearinghouse.sftpd import SftpKeys, SftpServer, ensure_keys
from pipeline.transport.profiles import ClearinghouseProfile, load_profile
from pipeline.transport.retry import RetryPolicy

FAST = RetryPolicy(attempts=5, initial_delay=0.01, max_delay=0.05, jitter=0)
FOLDERS = ("outbound", "inbound", "archive")


@dataclass
class Tally:
    faults: Counter[str] = field(default_factory=Counter)
    files_checked: int = 0
    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)

    def record_server(self, server: SftpServer) -> None:
        self.faults.update(server.faults_fired)


TALLY = Tally()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not TALLY.faults and not TALLY.files_checked:
        return
    kinds = ", ".join(f"{k}={v}" for k, v in sorted(TALLY.faults.items()))
    terminalreporter.write_sep("-", "transport fault tally")
    terminalreporter.write_line(f"faults injected: {sum(TALLY.faults.values())} ({kinds})")
    terminalreporter.write_line(
        f"files checked: {TALLY.files_checked}; lost: {len(TALLY.lost)}; "
        f"doubled: {len(TALLY.doubled)}"
    )
    for name in TALLY.lost:
        terminalreporter.write_line(f"LOST: {name}")
    for name in TALLY.doubled:
        terminalreporter.write_line(f"DOUBLED: {name}")


@pytest.fixture(autouse=True)
def _quiet_libraries() -> None:
    # paramiko logs a traceback for every refused banner; the tests provoke those on purpose.
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    logging.getLogger("asyncssh").setLevel(logging.WARNING)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def keys(tmp_path: Path) -> SftpKeys:
    return ensure_keys(tmp_path / "keys")


@pytest.fixture
def sftp_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    for folder in FOLDERS:
        (root / folder).mkdir(parents=True)
    return root


@pytest.fixture
def server(tmp_path: Path, keys: SftpKeys, sftp_root: Path) -> Iterator[SftpServer]:
    srv = SftpServer(sftp_root, keys.host_key, keys.authorized_keys).start()
    ensure_keys(keys.folder, port=srv.port)  # pin the host key for the port it got
    try:
        yield srv
    finally:
        srv.stop()
        TALLY.record_server(srv)


@pytest.fixture
def profile(tmp_path: Path, server: SftpServer) -> ClearinghouseProfile:
    return load_profile("embedded", base_dir=tmp_path, port=server.port)


@pytest.fixture
def transport(profile: ClearinghouseProfile) -> Iterator[Any]:
    from pipeline.transport.sftp import SftpTransport

    with SftpTransport(profile, retry_policy=FAST, operation_timeout=10) as t:
        yield t
