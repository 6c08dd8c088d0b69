"""The loopback SFTP server itself: keys, chroot, no links, hooks, restart."""

from __future__ import annotations

import stat
import time
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from pipeline.clearinghouse.sftpd import SftpKeys, SftpServer, ensure_keys
from pipeline.transport.profiles import ClearinghouseProfile
from pipeline.transport.sftp import SftpTransport
from tests.transport.conftest import FAST


@pytest.fixture
def raw(server: SftpServer, keys: SftpKeys) -> Iterator[paramiko.SFTPClient]:
    """A plain paramiko client (what a hostile or careless client could send)."""
    client = paramiko.SSHClient()
    client.load_host_keys(str(keys.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        "127.0.0.1",
        server.port,
        "claimflow",
        key_filename=str(keys.client_key),
        allow_agent=False,
        look_for_keys=False,
    )
    sftp = client.open_sftp()
    yield sftp
    client.close()


def test_ensure_keys_is_idempotent_and_private(tmp_path: Path) -> None:
    first = ensure_keys(tmp_path / "k")
    host, client = first.host_key.read_bytes(), first.client_key.read_bytes()
    again = ensure_keys(tmp_path / "k", port=2222)
    assert again.host_key.read_bytes() == host and again.client_key.read_bytes() == client
    for key in (first.host_key, first.client_key, first.authorized_keys):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    line = again.known_hosts.read_text()
    assert line.startswith("[127.0.0.1]:2222 ssh-ed25519 ") and line.count("\n") == 1
    assert ensure_keys(tmp_path / "k").known_hosts.read_text().startswith("127.0.0.1 ssh-ed25519")
    assert first.client_public_key.read_text() in first.authorized_keys.read_text()


@pytest.mark.parametrize(
    "path",
    ["../secret.txt", "/../secret.txt", "inbound/../../secret.txt", "../root/inbound/x"],
)
def test_escaping_the_root_is_refused(raw: paramiko.SFTPClient, sftp_root: Path, path: str) -> None:
    (sftp_root.parent / "secret.txt").write_text("outside")
    with pytest.raises(PermissionError):
        raw.open(path, "rb")
    with pytest.raises(PermissionError):
        raw.open(path, "wb")
    assert (sftp_root.parent / "secret.txt").read_text() == "outside"


def test_inside_paths_still_work(raw: paramiko.SFTPClient, sftp_root: Path) -> None:
    with raw.open("inbound/../outbound/./a.x12", "wb") as fh:
        fh.write(b"ok")
    assert (sftp_root / "outbound" / "a.x12").read_bytes() == b"ok"
    assert raw.normalize(".") == "/"
    assert sorted(raw.listdir("/")) == ["archive", "inbound", "outbound"]


def test_symlinks_out_are_not_followed_and_links_not_made(
    raw: paramiko.SFTPClient, sftp_root: Path
) -> None:
    outside = sftp_root.parent / "outside.txt"
    outside.write_text("secret")
    (sftp_root / "inbound" / "trap.835").symlink_to(outside)
    with pytest.raises(PermissionError):
        raw.open("/inbound/trap.835", "rb")
    with pytest.raises(PermissionError):
        raw.symlink("/etc/passwd", "/inbound/link")
    assert not (sftp_root / "inbound" / "link").exists()


def test_password_auth_is_not_offered(server: SftpServer) -> None:
    transport = paramiko.Transport(("127.0.0.1", server.port))
    try:
        transport.start_client(timeout=10)
        with pytest.raises(paramiko.BadAuthenticationType) as info:
            transport.auth_password("claimflow", "guess")
        assert info.value.allowed_types == ["publickey"]
    finally:
        transport.close()


def test_upload_hook_fires_once_per_complete_upload(
    tmp_path: Path, keys: SftpKeys, sftp_root: Path, profile: ClearinghouseProfile
) -> None:
    seen: list[tuple[str, bytes]] = []

    def hook(path: Path) -> None:
        seen.append((path.name, path.read_bytes()))  # complete when the hook runs

    srv = SftpServer(sftp_root, keys.host_key, keys.authorized_keys, on_upload_complete=hook)
    with srv:
        ensure_keys(keys.folder, port=srv.port)
        t = SftpTransport(profile.model_copy(update={"port": srv.port}), retry_policy=FAST)
        src = tmp_path / "a.x12"
        src.write_bytes(b"A" * 100_000)
        t.upload(src)
        t.upload(src)  # skipped: no second event
        (sftp_root / "inbound" / "r.835").write_bytes(b"r")
        t.archive("r.835")  # a plain rename is not an upload
        t.close()
    assert seen == [("a.x12", b"A" * 100_000)]


def test_hook_errors_do_not_fail_the_upload(
    tmp_path: Path, keys: SftpKeys, sftp_root: Path, profile: ClearinghouseProfile
) -> None:
    def hook(_path: Path) -> None:
        raise RuntimeError("simulator bug")

    with SftpServer(sftp_root, keys.host_key, keys.authorized_keys, on_upload_complete=hook) as srv:
        ensure_keys(keys.folder, port=srv.port)
        t = SftpTransport(profile.model_copy(update={"port": srv.port}), retry_policy=FAST)
        src = tmp_path / "a.x12"
        src.write_bytes(b"x")
        assert not t.upload(src).skipped
        t.close()
        assert srv.uploads_completed == [sftp_root / "outbound" / "a.x12"]


def test_restart_keeps_port_and_identity(server: SftpServer, transport: SftpTransport) -> None:
    port = server.port
    assert transport.list() == []
    server.restart()
    assert server.port == port and server.running
    assert transport.list() == []  # reconnects, host key still pinned
    server.stop()
    assert not server.running
    server.stop()  # twice is fine


def test_partial_direct_write_is_not_an_upload(
    server: SftpServer, keys: SftpKeys, sftp_root: Path
) -> None:
    """A client writing straight to the final name, then vanishing: no completion event."""
    client = paramiko.SSHClient()
    client.load_host_keys(str(keys.known_hosts))
    client.connect(
        "127.0.0.1",
        server.port,
        "claimflow",
        key_filename=str(keys.client_key),
        allow_agent=False,
        look_for_keys=False,
    )
    sftp = client.open_sftp()
    fh = sftp.open("/outbound/direct.x12", "wb")
    fh.write(b"half a file")
    fh.flush()
    client.close()  # gone without closing the handle
    deadline = time.monotonic() + 5
    while server.open_connections and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.uploads_completed == []

    with paramiko.SSHClient() as again:
        again.load_host_keys(str(keys.known_hosts))
        again.connect(
            "127.0.0.1",
            server.port,
            "claimflow",
            key_filename=str(keys.client_key),
            allow_agent=False,
            look_for_keys=False,
        )
        with again.open_sftp().open("/outbound/whole.x12", "wb") as whole:
            whole.write(b"all of it")
    assert server.uploads_completed == [sftp_root / "outbound" / "whole.x12"]
