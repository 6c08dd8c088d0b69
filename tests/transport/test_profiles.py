"""Clearinghouse profiles: the shipped ones load; bad ones fail with one line naming the field."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.settings import ROOT
from pipeline.transport import open_transport
from pipeline.transport.local import LocalTransport
from pipeline.transport.profiles import load_profile

PROFILES = sorted((ROOT / "mappings" / "clearinghouses").glob("*.yaml"))


@pytest.mark.parametrize("path", PROFILES, ids=[p.stem for p in PROFILES])
def test_shipped_profiles_load(path: Path, tmp_path: Path) -> None:
    profile = load_profile(path, base_dir=tmp_path, port=2222)
    assert profile.name == path.stem
    assert profile.protocol == "sftp"
    assert profile.key_path is not None and profile.key_path.is_absolute()
    assert profile.known_hosts_path is not None and profile.known_hosts_path.is_absolute()
    assert set(profile.acknowledgments) <= {"TA1", "999", "277CA"}
    name = profile.upload_name_for(
        transaction="837P", control_number=101, sender_id="CLAIMFLOW01 ", receiver_id="CH"
    )
    assert "/" not in name and not name.startswith(".")


def test_embedded_by_name_resolves_relative_keys(tmp_path: Path) -> None:
    profile = load_profile("embedded", base_dir=tmp_path, port=40022)
    assert profile.port == 40022 and profile.host == "127.0.0.1"
    assert profile.key_path == tmp_path / "keys" / "client_ed25519"
    assert profile.known_hosts_path == tmp_path / "keys" / "known_hosts"
    assert profile.folders.archive == "/archive" and profile.after_download == "archive"
    assert (
        profile.upload_name_for(transaction="837P", control_number="000000101", sender_id="S1")
        == "837P_S1_000000101.x12"
    )


def test_example_profile_naming_pattern(tmp_path: Path) -> None:
    profile = load_profile("example", base_dir=tmp_path)
    created = datetime(2026, 11, 27, 2, 0, 5, tzinfo=UTC)
    name = profile.upload_name_for(
        transaction="837P", control_number=7, sender_id="PRACTICE01", created=created
    )
    assert name == "PRACTICE01_837P_20261127020005_000000007.x12"
    assert profile.key_path == Path("/etc/claimflow/keys/clearinghouse_ed25519")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ch.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """\
host: h
user: u
key_path: k
known_hosts_path: kh
folders: {outbound: out, inbound: in, archive: arc}
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("host: [unclosed", "not valid YAML"),
        ("- a list", "must be a mapping"),
        (GOOD.replace("host: h\n", ""), "needs host"),
        (GOOD.replace("key_path: k\n", ""), "needs key_path"),
        (GOOD + "password: hunter2\n", "password: Extra inputs are not permitted"),
        (GOOD + "port: 70000\n", "port:"),
        (GOOD.replace("archive: arc", "archive: ../../etc"), "folders.archive"),
        (GOOD.replace(", archive: arc", ""), "needs folders.archive"),
        (GOOD + "upload_name: '{member_id}.x12'\n", "unknown placeholder"),
        (GOOD + "acknowledgments: [TA1, '997']\n", "acknowledgments.1"),
        (GOOD + "protocol: local\n", "needs local_root"),
    ],
)
def test_bad_profiles_one_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        load_profile(write(tmp_path, text), base_dir=tmp_path)
    assert "\n" not in str(info.value) and str(tmp_path) in str(info.value)


def test_missing_profile_and_bad_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_profile("nonexistent", mappings_dir=tmp_path)
    with pytest.raises(ConfigError, match="letters, digits"):
        load_profile("..", mappings_dir=tmp_path)


def test_upload_name_that_is_not_a_plain_name(tmp_path: Path) -> None:
    profile = load_profile(write(tmp_path, GOOD + "upload_name: '{sender_id}.x12'\n"))
    with pytest.raises(ConfigError, match="upload_name gives"):
        profile.upload_name_for(transaction="837P", control_number=1, sender_id="../../x")


def test_local_profile_opens_a_local_transport(tmp_path: Path) -> None:
    text = "protocol: local\nlocal_root: share\nfolders: {outbound: o, inbound: i, archive: a}\n"
    profile = load_profile(write(tmp_path, text), base_dir=tmp_path)
    transport = open_transport(profile)
    assert isinstance(transport, LocalTransport)
    assert transport.inbound == (tmp_path / "share" / "i").resolve()
