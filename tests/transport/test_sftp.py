"""SftpTransport against the real asyncssh server: exchange, pinning, key auth, names."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import asyncssh
import pytest
from pydantic import SecretStr

from pipeline.clearinghouse.sftpd import SftpKeys, SftpServer, ensure_keys, known_hosts_line
from pipeline.errors import (
    AuthenticationFailed,
    ConfigError,
    TerminalTransportError,
    UnknownHostKey,
    UnsafeRemoteName,
)
from pipeline.transport.base import Transport, receive
from pipeline.transport.profiles import ClearinghouseProfile
from pipeline.transport.sftp import SftpTransport
from tests.transport.conftest import FAST, TALLY, sha256


def make(profile: ClearinghouseProfile, **kw: Any) -> SftpTransport:
    return SftpTransport(profile, retry_policy=FAST, operation_timeout=10, **kw)


def test_round_trip(transport: SftpTransport, sftp_root: Path, tmp_path: Path) -> None:
    assert isinstance(transport, Transport)
    src = tmp_path / "837P_S1_000000101.x12"
    src.write_bytes(os.urandom(150_000))
    up = transport.upload(src)
    assert not up.skipped and up.sha256 == sha256(src.read_bytes()) and up.size == 150_000
    assert [p.name for p in (sftp_root / "outbound").iterdir()] == [src.name]
    assert (sftp_root / "outbound" / src.name).read_bytes() == src.read_bytes()

    answer = os.urandom(70_000)
    (sftp_root / "inbound" / "R_000000101.835").write_bytes(answer)
    (sftp_root / "inbound" / ".R_000000102.835.part").write_bytes(b"still writing")
    (sftp_root / "inbound" / "subfolder").mkdir()
    listed = transport.list()
    assert [(f.name, f.size) for f in listed] == [("R_000000101.835", 70_000)]
    got = transport.download("R_000000101.835", tmp_path / "dl")
    assert got.path == (tmp_path / "dl" / "R_000000101.835").resolve()
    assert got.path.read_bytes() == answer and got.sha256 == sha256(answer)
    assert (sftp_root / "inbound" / "R_000000101.835").exists(), "download never removes"
    assert [p.name for p in (tmp_path / "dl").iterdir()] == ["R_000000101.835"]
    transport.archive("R_000000101.835")
    assert (sftp_root / "archive" / "R_000000101.835").read_bytes() == answer
    assert not (sftp_root / "inbound" / "R_000000101.835").exists()
    assert transport.connects == 1


def test_upload_same_bytes_twice_is_sent_once(
    transport: SftpTransport, server: SftpServer, sftp_root: Path, tmp_path: Path
) -> None:
    src = tmp_path / "a.x12"
    src.write_bytes(b"ISA~" * 5000)
    assert not transport.upload(src).skipped
    assert transport.upload(src).skipped
    assert transport.upload(src, "a.x12").skipped
    assert server.uploads_completed == [sftp_root / "outbound" / "a.x12"]


def test_upload_never_replaces_a_different_remote_file(
    transport: SftpTransport, sftp_root: Path, tmp_path: Path
) -> None:
    (sftp_root / "outbound" / "a.x12").write_bytes(b"x" * 10)
    src = tmp_path / "a.x12"
    for content in (b"y" * 10, b"y" * 11):  # same size, other bytes; other size
        src.write_bytes(content)
        with pytest.raises(TerminalTransportError, match="different file"):
            transport.upload(src)
    assert (sftp_root / "outbound" / "a.x12").read_bytes() == b"x" * 10


def test_upload_overwrites_a_stale_part_file(
    transport: SftpTransport, sftp_root: Path, tmp_path: Path
) -> None:
    (sftp_root / "outbound" / ".a.x12.part").write_bytes(b"garbage from a crash" * 1000)
    src = tmp_path / "a.x12"
    src.write_bytes(b"good")
    transport.upload(src)
    assert sorted(p.name for p in (sftp_root / "outbound").iterdir()) == ["a.x12"]
    assert (sftp_root / "outbound" / "a.x12").read_bytes() == b"good"


def test_delete_is_idempotent_and_archive_of_missing_is_terminal(
    transport: SftpTransport, sftp_root: Path
) -> None:
    (sftp_root / "inbound" / "r.999").write_bytes(b"x")
    transport.delete("r.999")
    transport.delete("r.999")
    assert list((sftp_root / "inbound").iterdir()) == []
    with pytest.raises(TerminalTransportError, match="not in /inbound"):
        transport.archive("r.999")


def test_receive_with_delete_profile(
    transport: SftpTransport, sftp_root: Path, tmp_path: Path
) -> None:
    for i in range(5):
        (sftp_root / "inbound" / f"r{i}.835").write_bytes(f"payload {i}".encode())
    got, refused = receive(transport, tmp_path / "dl", lambda _r: None, after="delete")
    assert len(got) == 5 and refused == []
    assert list((sftp_root / "inbound").iterdir()) == []
    assert list((sftp_root / "archive").iterdir()) == []


# -- names from the server are not trusted ---------------------------------------------------

HOSTILE = ["../../../../tmp/pwned.835", "/etc/cron.d/evil", "..", "a\\..\\b.835", "x\x1b]0;.835"]


def test_hostile_listing_names_never_become_paths(
    transport: SftpTransport, server: SftpServer, sftp_root: Path, tmp_path: Path
) -> None:
    (sftp_root / "inbound" / "good.835").write_bytes(b"fine")
    server.inject_listing("/inbound", HOSTILE)
    assert [f.name for f in transport.list()] == ["good.835"]
    dest = tmp_path / "dl"
    for name in HOSTILE:
        with pytest.raises(UnsafeRemoteName):
            transport.download(name, dest)
        with pytest.raises(UnsafeRemoteName):
            transport.archive(name)
        with pytest.raises(UnsafeRemoteName):
            transport.delete(name)
    got, refused = receive(transport, dest, lambda _r: None)
    assert [r.name for r in got] == ["good.835"] and refused == []
    assert [p.name for p in dest.iterdir()] == ["good.835"]
    assert not Path("/tmp/pwned.835").exists()
    TALLY.faults["unsafe_remote_name"] += len(HOSTILE)


def test_listing_with_a_non_utf8_name_says_so(transport: SftpTransport, server: SftpServer) -> None:
    server.inject_listing("/inbound", ["bad\udcff.835"])  # the byte 0xFF on the wire
    with pytest.raises(TerminalTransportError, match="not UTF-8"):
        transport.list()


def test_upload_of_a_missing_local_file(transport: SftpTransport, tmp_path: Path) -> None:
    with pytest.raises(TerminalTransportError, match="cannot read"):
        transport.upload(tmp_path / "nope.x12")


@pytest.mark.parametrize("name", ["../x.x12", "/abs.x12", ".hidden.x12", "a\nb.x12", ""])
def test_unsafe_upload_names_refused(
    transport: SftpTransport, server: SftpServer, tmp_path: Path, name: str
) -> None:
    src = tmp_path / "ok.x12"
    src.write_bytes(b"x")
    with pytest.raises(TerminalTransportError):
        transport.upload(src, name)
    assert server.connections_accepted == 0, "refused before any connection"


# -- host key pinning ------------------------------------------------------------------------


def test_unknown_host_key_refused_not_retried(
    profile: ClearinghouseProfile, server: SftpServer, keys: SftpKeys, tmp_path: Path
) -> None:
    other = ensure_keys(tmp_path / "other", port=server.port)  # pins a different host key
    pinned_wrong = profile.model_copy(update={"known_hosts_path": other.known_hosts})
    with pytest.raises(UnknownHostKey, match="CHANGED"):
        make(pinned_wrong).list()
    assert server.connections_accepted == 1

    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    with pytest.raises(UnknownHostKey, match="not pinned") as info:
        make(profile.model_copy(update={"known_hosts_path": empty})).list()
    assert "SHA256:" in str(info.value)
    assert server.connections_accepted == 2
    TALLY.faults["unknown_host_key"] += 2


def test_host_key_pinned_for_another_port_is_refused(
    profile: ClearinghouseProfile, server: SftpServer, keys: SftpKeys, tmp_path: Path
) -> None:
    kh = tmp_path / "kh"
    kh.write_text(known_hosts_line(keys.host_key, "127.0.0.1", server.port + 1))
    with pytest.raises(UnknownHostKey):
        make(profile.model_copy(update={"known_hosts_path": kh})).list()


def test_system_known_hosts_are_never_consulted(
    profile: ClearinghouseProfile,
    server: SftpServer,
    keys: SftpKeys,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "known_hosts").write_text(keys.known_hosts.read_text())
    monkeypatch.setenv("HOME", str(home))
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    with pytest.raises(UnknownHostKey):
        make(profile.model_copy(update={"known_hosts_path": empty})).list()


def test_missing_known_hosts_is_a_config_error(
    profile: ClearinghouseProfile, server: SftpServer, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="known_hosts_path"):
        make(profile.model_copy(update={"known_hosts_path": tmp_path / "nope"})).list()
    assert server.connections_accepted == 0


# -- client key ------------------------------------------------------------------------------


def test_wrong_client_key_refused_not_retried(
    profile: ClearinghouseProfile, server: SftpServer, tmp_path: Path
) -> None:
    stranger = ensure_keys(tmp_path / "stranger")
    with pytest.raises(AuthenticationFailed):
        make(profile.model_copy(update={"key_path": stranger.client_key})).list()
    assert server.connections_accepted == 1
    TALLY.faults["wrong_client_key"] += 1


def test_only_the_configured_user(
    tmp_path: Path, keys: SftpKeys, sftp_root: Path, profile: ClearinghouseProfile
) -> None:
    with SftpServer(sftp_root, keys.host_key, keys.authorized_keys, username="someone") as srv:
        ensure_keys(keys.folder, port=srv.port)
        with pytest.raises(AuthenticationFailed):
            make(profile.model_copy(update={"port": srv.port})).list()
        ok = make(profile.model_copy(update={"port": srv.port, "user": "someone"}))
        assert ok.list() == []
        ok.close()


def test_encrypted_client_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sftp_root: Path
) -> None:
    from pipeline.settings import get_settings
    from pipeline.transport.profiles import load_profile

    secret = "correct horse battery staple"
    keys = ensure_keys(tmp_path / "keys", passphrase=secret, kdf_rounds=50)
    with pytest.raises(asyncssh.KeyImportError):
        asyncssh.read_private_key(keys.client_key)  # really encrypted
    with SftpServer(sftp_root, keys.host_key, keys.authorized_keys) as srv:
        ensure_keys(keys.folder, port=srv.port)
        profile = load_profile("embedded", base_dir=tmp_path, port=srv.port)

        monkeypatch.delenv("CLAIMFLOW_SFTP_KEY_PASSPHRASE", raising=False)
        get_settings.cache_clear()
        with pytest.raises(ConfigError, match="CLAIMFLOW_SFTP_KEY_PASSPHRASE"):
            make(profile).list()
        with pytest.raises(ConfigError, match="cannot load client key") as info:
            make(profile, passphrase=SecretStr("xyzzy-not-it")).list()
        assert "xyzzy" not in str(info.value)

        monkeypatch.setenv("CLAIMFLOW_SFTP_KEY_PASSPHRASE", secret)
        get_settings.cache_clear()
        try:
            t = make(profile)
            assert t.list() == [] and secret not in repr(vars(t))
            t.close()
        finally:
            get_settings.cache_clear()
        assert srv.connections_accepted == 1, "key problems are found before connecting"


def test_port_zero_is_refused(tmp_path: Path) -> None:
    from pipeline.transport.profiles import load_profile

    with pytest.raises(ConfigError, match="port 0"):
        SftpTransport(load_profile("embedded", base_dir=tmp_path))


def test_no_secret_or_payload_in_logs(
    transport: SftpTransport,
    sftp_root: Path,
    tmp_path: Path,
    keys: SftpKeys,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG", logger="pipeline")
    src = tmp_path / "a.x12"
    src.write_bytes(b"NM1*IL*1*DOE*JANE****MI*W123456789~")
    transport.upload(src)
    (sftp_root / "inbound" / "r.271").write_bytes(b"NM1*IL*1*ROE*RICHARD****MI*W987~")
    receive(transport, tmp_path / "dl", lambda _r: None)
    text = caplog.text
    assert "a.x12" in text and "r.271" in text
    private = keys.client_key.read_text().splitlines()[1]
    for leak in ("DOE", "JANE", "W123456789", "ROE", "W987", private):
        assert leak not in text


def test_upload_without_posix_rename_extension(
    transport: SftpTransport, server: SftpServer, sftp_root: Path, tmp_path: Path
) -> None:
    server.posix_rename_supported = False
    src = tmp_path / "a.x12"
    src.write_bytes(b"x" * 1000)
    assert not transport.upload(src).skipped
    assert sorted(p.name for p in (sftp_root / "outbound").iterdir()) == ["a.x12"]


def test_young_inbound_files_wait_for_the_next_run(
    profile: ClearinghouseProfile, sftp_root: Path
) -> None:
    old, young = sftp_root / "inbound" / "old.835", sftp_root / "inbound" / "young.835"
    old.write_bytes(b"o")
    young.write_bytes(b"y")
    os.utime(old, (time.time() - 600, time.time() - 600))
    t = make(profile.model_copy(update={"settle_seconds": 60}))
    assert [f.name for f in t.list()] == ["old.835"]
    t.close()
