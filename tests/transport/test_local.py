"""LocalTransport on a folder tree (what a mounted share looks like)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pipeline.errors import TerminalTransportError, UnsafeRemoteName
from pipeline.transport.base import DownloadResult, Transport, receive
from pipeline.transport.local import LocalTransport
from tests.transport.conftest import sha256


@pytest.fixture
def share(tmp_path: Path) -> Path:
    root = tmp_path / "share"
    for folder in ("outbound", "inbound", "archive"):
        (root / folder).mkdir(parents=True)
    return root


def test_is_a_transport(share: Path) -> None:
    assert isinstance(LocalTransport(share), Transport)


def test_upload_is_atomic_and_idempotent(share: Path, tmp_path: Path) -> None:
    t = LocalTransport(share)
    src = tmp_path / "837P_000000101.x12"
    src.write_bytes(b"ISA*00*...~" * 100)
    first = t.upload(src)
    again = t.upload(src)
    assert not first.skipped and again.skipped and first.sha256 == again.sha256
    assert [p.name for p in (share / "outbound").iterdir()] == [src.name]
    assert (share / "outbound" / src.name).read_bytes() == src.read_bytes()


def test_upload_refuses_to_replace_a_different_file(share: Path, tmp_path: Path) -> None:
    t = LocalTransport(share)
    (share / "outbound" / "a.x12").write_bytes(b"theirs")
    src = tmp_path / "a.x12"
    src.write_bytes(b"mine!!")
    with pytest.raises(TerminalTransportError, match="different file"):
        t.upload(src)
    assert (share / "outbound" / "a.x12").read_bytes() == b"theirs"
    assert [p.name for p in (share / "outbound").iterdir()] == ["a.x12"]


def test_list_skips_temporary_unsafe_and_directories(share: Path) -> None:
    inbound = share / "inbound"
    (inbound / "b.999").write_bytes(b"2")
    (inbound / "a.835").write_bytes(b"1")
    (inbound / ".c.835.part").write_bytes(b"half")
    (inbound / "back\\slash.835").write_bytes(b"x")
    (inbound / "esc\x1b.835").write_bytes(b"x")
    (inbound / "sub").mkdir()
    names = [f.name for f in LocalTransport(share).list()]
    assert sorted(names) == ["a.835", "b.999"]


def test_receive_downloads_registers_then_archives(share: Path, tmp_path: Path) -> None:
    inbound = share / "inbound"
    payloads = {"r1.835": b"one" * 1000, "r2.999": b"two", "r3.277": b"three"}
    for name, data in payloads.items():
        (inbound / name).write_bytes(data)
    seen: list[DownloadResult] = []

    def register(result: DownloadResult) -> None:
        assert (inbound / result.name).exists(), "remote must still exist while registering"
        seen.append(result)

    got, refused = receive(LocalTransport(share), tmp_path / "dl", register)
    assert refused == [] and len(got) == 3 == len(seen)
    for r in got:
        assert r.path.read_bytes() == payloads[r.name] and r.sha256 == sha256(payloads[r.name])
    assert list(inbound.iterdir()) == []
    assert sorted(p.name for p in (share / "archive").iterdir()) == sorted(payloads)


def test_register_failure_keeps_the_remote_copy(share: Path, tmp_path: Path) -> None:
    (share / "inbound" / "r.835").write_bytes(b"x")

    def register(_result: DownloadResult) -> None:
        raise RuntimeError("ledger down")

    with pytest.raises(RuntimeError):
        receive(LocalTransport(share), tmp_path / "dl", register)
    assert (share / "inbound" / "r.835").exists()
    assert list((share / "archive").iterdir()) == []


def test_archive_keeps_both_copies_of_a_name_delivered_twice(share: Path, tmp_path: Path) -> None:
    t = LocalTransport(share)
    for content in (b"first", b"second"):
        (share / "inbound" / "r.835").write_bytes(content)
        t.download("r.835", tmp_path / "dl")
        t.archive("r.835")
    archived = sorted(p.read_bytes() for p in (share / "archive").iterdir())
    assert archived == [b"first", b"second"]
    local = sorted(p.read_bytes() for p in (tmp_path / "dl").iterdir())
    assert local == [b"first", b"second"]


def test_delete_and_unsafe_names(share: Path, tmp_path: Path) -> None:
    t = LocalTransport(share)
    (share / "inbound" / "r.835").write_bytes(b"x")
    t.delete("r.835")
    t.delete("r.835")  # already gone: fine
    assert list((share / "inbound").iterdir()) == []
    for bad in ("../outbound/x", "/etc/passwd", "..", "a\nb"):
        with pytest.raises(UnsafeRemoteName):
            t.download(bad, tmp_path / "dl")
        with pytest.raises(UnsafeRemoteName):
            t.archive(bad)
        with pytest.raises(UnsafeRemoteName):
            t.delete(bad)
    with pytest.raises(TerminalTransportError, match="outside"):
        LocalTransport(share, inbound="../../etc")


def test_young_files_wait(share: Path) -> None:
    old, young = share / "inbound" / "old.835", share / "inbound" / "young.835"
    old.write_bytes(b"o")
    young.write_bytes(b"y")
    os.utime(old, (time.time() - 600, time.time() - 600))
    assert [f.name for f in LocalTransport(share, settle_seconds=60).list()] == ["old.835"]
    assert len(LocalTransport(share).list()) == 2
