"""Fault injection against the real asyncssh server: nothing lost, nothing doubled.

Every test arms faults on the server (dropped connections mid-transfer, after a rename the
client never hears about, restarts, refused connections and sessions, duplicate deliveries),
runs the transport as the nightly flow would, then checks file by file what arrived. The
counts go to the session tally printed at the end of the run.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from pathlib import Path

import pytest

from pipeline.clearinghouse.sftpd import SftpServer
from pipeline.errors import TransientTransportError
from pipeline.transport.base import DownloadResult, receive
from pipeline.transport.profiles import ClearinghouseProfile
from pipeline.transport.sftp import SftpTransport
from tests.transport.conftest import FAST, TALLY, sha256

SIZE = 300_000  # several SFTP packets, so a drop really happens mid-transfer


def payload(seed: int, size: int = SIZE) -> bytes:
    return random.Random(seed).randbytes(size)


def check_outbound(server: SftpServer, root: Path, expected: dict[str, bytes]) -> None:
    """Each expected upload is there once, complete; no stray or temporary files."""
    outbound = root / "outbound"
    completions = Counter(p.name for p in server.uploads_completed)
    for name, data in expected.items():
        TALLY.files_checked += 1
        path = outbound / name
        if not path.exists() or path.read_bytes() != data:
            TALLY.lost.append(f"upload {name}")
        if completions[name] > 1:
            TALLY.doubled.append(f"upload {name} completed {completions[name]} times")
    present = sorted(p.name for p in outbound.iterdir())
    assert present == sorted(expected), f"stray or temporary files outbound: {present}"
    assert not [n for n in TALLY.lost if n.startswith("upload")], TALLY.lost
    assert not TALLY.doubled, TALLY.doubled


def check_received(
    root: Path, dest: Path, got: list[DownloadResult], expected: dict[str, bytes]
) -> None:
    """Each expected inbound file was downloaded once, verified, and archived once."""
    by_name = Counter(r.name for r in got)
    for name, data in expected.items():
        TALLY.files_checked += 1
        mine = [r for r in got if r.name == name]
        if not mine or mine[0].path.read_bytes() != data or mine[0].sha256 != sha256(data):
            TALLY.lost.append(f"download {name}")
        if by_name[name] > 1:
            TALLY.doubled.append(f"download {name} reported {by_name[name]} times")
        archived = root / "archive" / name
        if not archived.exists() or archived.read_bytes() != data:
            TALLY.lost.append(f"archive {name}")
    assert sorted(p.name for p in dest.iterdir()) == sorted(expected), "temporary files left"
    assert list((root / "inbound").iterdir()) == []
    assert sorted(p.name for p in (root / "archive").iterdir()) == sorted(expected)
    assert not TALLY.lost, TALLY.lost
    assert not TALLY.doubled, TALLY.doubled


def make_files(tmp_path: Path, count: int, start: int = 0) -> dict[str, bytes]:
    files = {}
    for i in range(start, start + count):
        name = f"837P_S1_{i:09d}.x12"
        files[name] = payload(i, SIZE + i)
        (tmp_path / name).write_bytes(files[name])
    return files


@pytest.mark.parametrize("after", [0, 1, 32_768, 150_000, SIZE - 1])
def test_drop_mid_upload(
    transport: SftpTransport, server: SftpServer, sftp_root: Path, tmp_path: Path, after: int
) -> None:
    files = make_files(tmp_path, 1)
    server.drop_after(after, direction="upload")
    [(name, _data)] = files.items()
    result = transport.upload(tmp_path / name)
    assert not result.skipped and server.faults_fired["drop_upload"] == 1
    assert transport.connects == 2
    check_outbound(server, sftp_root, files)


def test_upload_dropped_repeatedly_then_through(
    transport: SftpTransport, server: SftpServer, sftp_root: Path, tmp_path: Path
) -> None:
    files = make_files(tmp_path, 1)
    server.drop_after(100_000, direction="upload", times=3)
    transport.upload(tmp_path / next(iter(files)))
    assert server.faults_fired["drop_upload"] == 3 and transport.connects == 4
    check_outbound(server, sftp_root, files)


def test_rename_done_but_answer_lost(
    transport: SftpTransport, server: SftpServer, sftp_root: Path, tmp_path: Path
) -> None:
    """The server renamed the upload, then the link died: the retry must not send again."""
    files = make_files(tmp_path, 1)
    server.drop_after_op("rename")
    result = transport.upload(tmp_path / next(iter(files)))
    assert result.skipped, "second attempt found the same bytes under the final name"
    assert server.faults_fired["drop_after_rename"] == 1
    check_outbound(server, sftp_root, files)


@pytest.mark.parametrize("after", [0, 40_000, SIZE - 1])
def test_drop_mid_download(
    transport: SftpTransport, server: SftpServer, sftp_root: Path, tmp_path: Path, after: int
) -> None:
    expected = {"R_000000001.835": payload(99)}
    (sftp_root / "inbound" / "R_000000001.835").write_bytes(expected["R_000000001.835"])
    server.drop_after(after, direction="download")
    dest = tmp_path / "dl"
    got, refused = receive(transport, dest, lambda _r: None)
    assert refused == [] and server.faults_fired["drop_download"] == 1
    check_received(sftp_root, dest, got, expected)


def test_archive_done_but_answer_lost(
    transport: SftpTransport, server: SftpServer, sftp_root: Path, tmp_path: Path
) -> None:
    expected = {f"R_{i}.835": payload(i, 5000) for i in range(3)}
    for name, data in expected.items():
        (sftp_root / "inbound" / name).write_bytes(data)
    server.drop_after_op("rename", times=2)
    dest = tmp_path / "dl"
    got, _ = receive(transport, dest, lambda _r: None)
    assert server.faults_fired["drop_after_rename"] == 2
    check_received(sftp_root, dest, got, expected)


def test_delete_done_but_answer_lost(
    transport: SftpTransport, server: SftpServer, sftp_root: Path, tmp_path: Path
) -> None:
    (sftp_root / "inbound" / "r.999").write_bytes(b"ack")
    server.drop_after_op("remove")
    got, _ = receive(transport, tmp_path / "dl", lambda _r: None, after="delete")
    assert [r.name for r in got] == ["r.999"] and server.faults_fired["drop_after_remove"] == 1
    assert list((sftp_root / "inbound").iterdir()) == []
    TALLY.files_checked += 1


def test_server_restarted_between_operations(
    transport: SftpTransport, server: SftpServer, sftp_root: Path, tmp_path: Path
) -> None:
    files = make_files(tmp_path, 2)
    names = list(files)
    transport.upload(tmp_path / names[0])
    server.restart()
    expected = {"R_1.835": payload(1, 7000)}
    (sftp_root / "inbound" / "R_1.835").write_bytes(expected["R_1.835"])
    listed = transport.list()
    server.restart()
    dest = tmp_path / "dl"
    got = [transport.download(listed[0].name, dest)]
    server.restart()
    transport.archive(listed[0].name)
    server.restart()
    transport.upload(tmp_path / names[1])
    TALLY.faults["server_restart"] += 4
    check_outbound(server, sftp_root, files)
    check_received(sftp_root, dest, got, expected)


def test_refused_connections_and_closed_sessions(
    transport: SftpTransport, server: SftpServer, sftp_root: Path, tmp_path: Path
) -> None:
    files = make_files(tmp_path, 2)
    names = list(files)
    server.refuse_connections(2)
    transport.upload(tmp_path / names[0])
    server.disconnect_all()
    server.close_sessions(2)
    transport.upload(tmp_path / names[1])
    assert server.faults_fired["refuse_connection"] == 2
    assert server.faults_fired["close_session"] == 2
    check_outbound(server, sftp_root, files)


def test_outage_longer_than_the_retries(
    transport: SftpTransport, server: SftpServer, sftp_root: Path, tmp_path: Path
) -> None:
    files = make_files(tmp_path, 1)
    server.stop()
    with pytest.raises(TransientTransportError, match="connect"):
        transport.upload(tmp_path / next(iter(files)))
    TALLY.faults["outage"] += 1
    assert list((sftp_root / "outbound").iterdir()) == []
    server.start()
    transport.upload(tmp_path / next(iter(files)))  # the next run sends it, once
    check_outbound(server, sftp_root, files)


def test_same_file_delivered_twice(
    transport: SftpTransport, server: SftpServer, sftp_root: Path, tmp_path: Path
) -> None:
    """The clearinghouse repeats itself; the transport reports every delivery with its hash."""
    inbound, dest = sftp_root / "inbound", tmp_path / "dl"
    era = payload(835, 20_000)
    (inbound / "ERA_A.835").write_bytes(era)
    (inbound / "ERA_B.835").write_bytes(era)  # same bytes, another name
    first, _ = receive(transport, dest, lambda _r: None)
    (inbound / "ERA_A.835").write_bytes(era)  # same name again, after we archived it
    second, _ = receive(transport, dest, lambda _r: None)
    corrected = payload(836, 20_000)
    (inbound / "ERA_A.835").write_bytes(corrected)  # same name, other bytes
    third, _ = receive(transport, dest, lambda _r: None)

    deliveries = first + second + third
    assert len(deliveries) == 4, "every delivery is reported"
    hashes = Counter(r.sha256 for r in deliveries)
    assert hashes[sha256(era)] == 3 and hashes[sha256(corrected)] == 1  # the ledger's cue
    assert third[0].path != first[0].path, "a different file never overwrites a kept one"
    assert sorted(p.read_bytes() for p in dest.iterdir()) == sorted([era, era, corrected])
    assert sorted(p.read_bytes() for p in (sftp_root / "archive").iterdir()) == sorted(
        [era, era, era, corrected]
    )
    TALLY.faults["duplicate_delivery"] += 3
    TALLY.files_checked += 4


def test_nightly_batch_under_random_faults(
    transport: SftpTransport, server: SftpServer, sftp_root: Path, tmp_path: Path
) -> None:
    """A night's worth of uploads and downloads with a fault armed before most operations."""
    rng = random.Random(20261127)
    files = make_files(tmp_path, 12)
    expected_in = {f"R_{i:04d}.835": payload(1000 + i, rng.randrange(1, SIZE)) for i in range(12)}

    def arm() -> None:
        kind = rng.choice(["upload", "download", "rename", "refuse", "session", "cut", "none"])
        if kind in ("upload", "download"):
            server.drop_after(rng.randrange(0, SIZE), direction=kind)  # type: ignore[arg-type]
        elif kind == "rename":
            server.drop_after_op("rename")
        elif kind == "refuse":
            server.disconnect_all()
            server.refuse_connections(rng.randint(1, 3))
        elif kind == "session":
            server.disconnect_all()
            server.close_sessions(1)
        elif kind == "cut":
            server.disconnect_all()

    for name in files:
        arm()
        transport.upload(tmp_path / name)
    server.clear_faults()
    for name, data in expected_in.items():
        (sftp_root / "inbound" / name).write_bytes(data)
    dest = tmp_path / "dl"
    got: list[DownloadResult] = []
    for remote in transport.list():
        arm()
        got += receive(transport, dest, lambda _r: None, files=[remote])[0]
    server.clear_faults()
    assert sum(server.faults_fired.values()) >= 12
    check_outbound(server, sftp_root, files)
    check_received(sftp_root, dest, got, expected_in)


def test_no_temporary_files_survive_a_failed_download(
    transport: SftpTransport, server: SftpServer, sftp_root: Path, tmp_path: Path
) -> None:
    (sftp_root / "inbound" / "r.835").write_bytes(payload(5))
    server.drop_after(10_000, direction="download", times=FAST.attempts)
    dest = tmp_path / "dl"
    with pytest.raises(TransientTransportError):
        transport.download("r.835", dest)
    assert os.listdir(dest) == []
    assert (sftp_root / "inbound" / "r.835").exists(), "the remote copy stays until verified"


def test_hung_server_times_out_and_is_retried(
    profile: ClearinghouseProfile, server: SftpServer, sftp_root: Path, tmp_path: Path
) -> None:
    data = payload(7, 50_000)
    (sftp_root / "inbound" / "r.835").write_bytes(data)
    server.stall_reads(5.0)
    t = SftpTransport(profile, retry_policy=FAST, operation_timeout=0.5)
    started = time.monotonic()
    got = t.download("r.835", tmp_path / "dl")
    t.close()
    assert time.monotonic() - started < 4, "the timeout fired; we did not wait for the stall"
    assert got.sha256 == sha256(data) and t.connects == 2
    assert server.faults_fired["stall"] == 1
    TALLY.files_checked += 1


def test_a_read_ahead_thread_that_dies_with_the_link_is_one_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Downloads keep a window of reads in flight from paramiko's ``_prefetch_thread``; when the
    link drops it dies: one line in the log, no traceback (the download itself is retried)."""
    import threading

    from pipeline.transport.sftp import prefetch_excepthook

    passed_on: list[str] = []
    hook = prefetch_excepthook(lambda args: passed_on.append(args.thread.name))

    def run(name: str) -> None:
        thread = threading.Thread(target=lambda: None, name=name)
        error = EOFError("link gone")
        hook(threading.ExceptHookArgs([EOFError, error, None, thread]))  # type: ignore[call-arg]

    with caplog.at_level("INFO", logger="pipeline.transport.sftp"):
        run("Thread-7 (_prefetch_thread)")
        run("Thread-8 (worker)")
    assert [r.getMessage() for r in caplog.records] == ["sftp read-ahead ended: EOFError"]
    assert passed_on == ["Thread-8 (worker)"]  # any other thread: the previous hook, as before
