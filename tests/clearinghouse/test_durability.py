"""The simulator answers what landed in its upload folder: an upload it never answered (stopped or
killed first) is answered at the next start or poll, exactly once; a restart answers nothing
twice. Real SFTP on loopback, the project's own SFTP client."""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from pathlib import Path

from pipeline.clearinghouse.server import Clearinghouse
from pipeline.clearinghouse.sftpd import SftpServer, ensure_keys
from pipeline.transport import Transport, load_profile, open_transport
from pipeline.x12.control import FileControlNumbers
from tests.clearinghouse.x12_inputs import variety, write_837p


def _claims(tmp_path: Path, name: str = "in.x12", count: int = 6) -> Path:
    numbers = FileControlNumbers(tmp_path / "cn.json")
    return write_837p(tmp_path / name, variety()[:count], control_numbers=numbers)


def _client(root: Path, port: int) -> Transport:
    return open_transport(load_profile("embedded", base_dir=root, port=port))


def _kinds(names: list[str]) -> Counter[str]:
    return Counter(n.split("_")[0] for n in names)


def _collect(root: Path, port: int, dest: Path) -> list[str]:
    """What a client coming back finds in the response folder (downloaded)."""
    transport = _client(root, port)
    try:
        names = [f.name for f in transport.list()]
        for name in names:
            transport.download(name, dest)
    finally:
        transport.close()
    return names


def test_an_upload_never_answered_is_answered_once_after_a_restart(tmp_path: Path) -> None:
    root = tmp_path / "sim"
    source = _claims(tmp_path)
    with Clearinghouse(root, seed=3) as ch:  # make the world (keys, folders), then stop
        port = ch.port
    # The simulator is down (killed before answering): only its SFTP layer takes the upload.
    keys = ensure_keys(root / "keys", port=port)
    with SftpServer(root / "sftp", keys.host_key, keys.authorized_keys, port):
        client = _client(root, port)
        uploaded = client.upload(source, "837P_claims.x12")
        client.close()  # the client is killed right after its upload returned
    assert uploaded.name == "837P_claims.x12" and not uploaded.skipped
    assert list((root / "sftp" / "inbound").iterdir()) == []  # nobody answered

    with Clearinghouse(root, seed=3, port=port) as ch:  # back on the same root
        first = _collect(root, port, tmp_path / "got1")
    kinds = _kinds(first)
    assert set(kinds) >= {"999", "277CA", "835"}, first
    assert kinds["999"] == 1 and kinds["277CA"] == 1
    assert not any(_is_duplicate_reject(tmp_path / "got1" / n) for n in first)

    with Clearinghouse(root, seed=3, port=port) as ch:  # another restart answers nothing again
        assert ch.responses == []
        again = _collect(root, port, tmp_path / "got2")
    assert sorted(again) == sorted(first)
    answered = json.loads((root / "state" / "answered.json").read_text())
    assert list(answered) == ["837P_claims.x12"]


def test_a_file_landed_while_running_is_answered_at_the_next_poll(tmp_path: Path) -> None:
    root = tmp_path / "sim"
    with Clearinghouse(root, seed=3) as ch:
        assert _collect(root, ch.port, tmp_path / "none") == []
        # Landed without an upload event (another process, a hook that never ran).
        tmp = ch.layout.uploads / ".late.x12"
        shutil.copy(_claims(tmp_path), tmp)
        os.replace(tmp, ch.layout.uploads / "late.x12")
        polled = _collect(root, ch.port, tmp_path / "got")
        assert set(_kinds(polled)) >= {"999", "277CA", "835"}
        assert _collect(root, ch.port, tmp_path / "got") == polled  # answered once
        assert ch.wait_idle(5)


def test_uploads_answered_before_are_not_answered_at_start(tmp_path: Path) -> None:
    root = tmp_path / "sim"
    with Clearinghouse(root, seed=3) as ch:
        client = _client(root, ch.port)
        client.upload(_claims(tmp_path), "837P_a.x12")
        client.close()
        answered = sorted(p.name for p in ch.layout.responses.iterdir())
        port = ch.port
    assert answered
    # A root from before answered.json: its uploads count as answered (no TA1 025 storm).
    (root / "state" / "answered.json").unlink()
    with Clearinghouse(root, seed=3, port=port) as ch:
        assert ch.responses == []
    assert sorted(p.name for p in (root / "sftp" / "inbound").iterdir()) == answered


def _is_duplicate_reject(path: Path) -> bool:
    """A TA1 with note code 025: the interchange was answered before."""
    text = path.read_text(encoding="latin-1")
    return path.name.startswith("TA1") and "*R*025" in text
