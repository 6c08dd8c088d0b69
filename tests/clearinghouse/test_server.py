"""The simulator over real SFTP on loopback (paramiko client, pinned host key)."""

from __future__ import annotations

import io
import shutil
import threading
import time
from pathlib import Path

import paramiko
import pytest

from pipeline.clearinghouse.commands import serve_command
from pipeline.clearinghouse.responder import Faults
from pipeline.clearinghouse.server import Clearinghouse
from pipeline.x12.control import FileControlNumbers
from tests.clearinghouse.x12_inputs import variety, write_837p


def _connect(ch: Clearinghouse) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.load_host_keys(str(ch.known_hosts_path))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        "127.0.0.1", port=ch.port, username="claimflow", key_filename=str(ch.client_key_path),
        look_for_keys=False, allow_agent=False, timeout=10,
    )  # fmt: skip
    return client


def test_upload_over_sftp_is_answered_before_the_upload_returns(tmp_path: Path) -> None:
    source = write_837p(
        tmp_path / "in.x12", variety()[:6], control_numbers=FileControlNumbers(tmp_path / "cn.json")
    )
    with Clearinghouse(tmp_path / "sim", seed=3) as ch:
        client = _connect(ch)
        try:
            sftp = client.open_sftp()
            assert sorted(sftp.listdir("/")) == ["archive", "inbound", "outbound"]
            sftp.put(str(source), "/outbound/.claims.x12.part")
            sftp.rename("/outbound/.claims.x12.part", "/outbound/claims.x12")
            names = sftp.listdir("/inbound")  # no waiting: answered on upload
            assert {n.split("_")[0] for n in names} == {"TA1", "999", "277CA", "835"}
            assert ch.wait_idle(5)
            with sftp.open("/inbound/" + sorted(names)[0]) as fh:
                assert fh.read(3) == b"ISA"
            with pytest.raises(OSError):
                sftp.listdir("/../ground_truth")
        finally:
            client.close()
    assert ch.ground_truth_path.exists()
    assert ch.ground_truth_path.parent.name == "ground_truth"
    assert not (tmp_path / "sim" / "sftp" / "ground_truth").exists()


def test_drop_after_bytes_cuts_a_download(tmp_path: Path) -> None:
    source = write_837p(
        tmp_path / "in.x12", variety()[:6], control_numbers=FileControlNumbers(tmp_path / "cn.json")
    )
    with Clearinghouse(tmp_path / "sim", seed=3, drop_after_bytes=200) as ch:
        ch.respond(Path(shutil.copy(source, ch.layout.uploads / "claims.x12")))
        name = next(p.name for p in ch.layout.responses.iterdir() if p.name.startswith("835"))
        client = _connect(ch)
        try:
            with pytest.raises((OSError, EOFError, paramiko.SSHException)):
                client.open_sftp().get("/inbound/" + name, str(tmp_path / "got.x12"))
        finally:
            client.close()
        assert ch.server.faults_fired["drop_download"] == 1
        client = _connect(ch)  # a second try goes through
        try:
            client.open_sftp().get("/inbound/" + name, str(tmp_path / "got.x12"))
        finally:
            client.close()
    assert (tmp_path / "got.x12").read_bytes() == (ch.layout.responses / name).read_bytes()


def test_serve_command_prints_what_a_client_needs(tmp_path: Path) -> None:
    out = io.StringIO()
    done: list[int] = []
    thread = threading.Thread(
        target=lambda: done.append(
            serve_command(tmp_path / "sim", port=0, seed=7, stdout=out, run_for=0.5)
        )
    )
    thread.start()
    thread.join(20)
    assert done == [0]
    text = out.getvalue()
    assert "listening on 127.0.0.1:" in text and "SHA256:" in text
    assert str(tmp_path / "sim" / "keys" / "client_ed25519") in text
    assert str(tmp_path / "sim" / "keys" / "known_hosts") in text


def test_late_responses_are_released_after_a_while(tmp_path: Path) -> None:
    source = write_837p(
        tmp_path / "in.x12", variety()[:6], control_numbers=FileControlNumbers(tmp_path / "cn.json")
    )
    faults = Faults(late=frozenset({"835", "277CA"}))
    with Clearinghouse(tmp_path / "sim", seed=3, faults=faults, late_seconds=0.3) as ch:
        ch.respond(Path(shutil.copy(source, ch.layout.uploads / "claims.x12")))
        now = {p.name.split("_")[0] for p in ch.layout.responses.iterdir()}
        assert now == {"TA1", "999"}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(ch.layout.held.iterdir()):
            time.sleep(0.05)
        later = {p.name.split("_")[0] for p in ch.layout.responses.iterdir()}
        assert later == {"TA1", "999", "277CA", "835"}


def test_the_project_transport_exchanges_files_with_it(tmp_path: Path) -> None:
    pytest.importorskip("pipeline.transport.sftp")
    from pipeline.transport.profiles import load_profile
    from pipeline.transport.sftp import SftpTransport

    source = write_837p(
        tmp_path / "in.x12", variety()[:6], control_numbers=FileControlNumbers(tmp_path / "cn.json")
    )
    root = tmp_path / "sim"
    with Clearinghouse(root, seed=5) as ch:
        profile = load_profile("embedded", base_dir=root, port=ch.port)
        with SftpTransport(profile) as transport:
            transport.upload(source, "837P_SUBMITTER1_000000001.x12")
            assert ch.wait_idle(5)
            names = [f.name for f in transport.list()]
            for name in names:
                transport.download(name, tmp_path / "got")
                transport.archive(name)
    assert {n.split("_")[0] for n in names} == {"TA1", "999", "277CA", "835"}
    assert sorted(p.name for p in (tmp_path / "got").iterdir()) == sorted(names)
    assert sorted(p.name for p in (root / "sftp" / "archive").iterdir()) == sorted(names)
