"""A legal remote name of 250 bytes: no local (or remote) temporary or sibling name built
from it may pass the 255 bytes file systems allow (downloads once failed with ENAMETOOLONG)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.transport.base import MAX_NAME, fitted_name, write_atomically
from pipeline.transport.local import LocalTransport

LONG = "R_" + "9" * 244 + ".835"  # 250 bytes
assert len(LONG) == 250


def test_fitted_name_keeps_short_names_and_cuts_long_ones_distinctly() -> None:
    assert fitted_name("R_1.835", prefix=".", suffix=".part") == ".R_1.835.part"
    a = fitted_name(LONG, prefix=".", suffix=".part")
    b = fitted_name(LONG[:-5] + "8.835", prefix=".", suffix=".part")
    assert len(a.encode()) <= MAX_NAME and a.startswith(".R_99") and a.endswith(".part")
    assert a != b  # the digest tells two long names apart
    wide = "Ä" * 120 + ".835"  # 244 bytes in UTF-8: cut on a character boundary
    assert len(fitted_name(wide, suffix=".reason.txt", room=3).encode()) <= MAX_NAME - 3


def test_write_atomically_with_a_long_name_and_a_collision(tmp_path: Path) -> None:
    target = tmp_path / LONG
    seen: list[str] = []

    def fill(data: bytes) -> Any:
        def write(out: Any) -> None:
            seen.extend(p.name for p in tmp_path.iterdir())  # the temporary file, mid-write
            out.write(data)

        return write

    path, size, _ = write_atomically(target, fill(b"first"), 5)
    assert path == target and size == 5 and seen and all(len(n) <= MAX_NAME for n in seen)
    other, _, sha = write_atomically(target, fill(b"second"), 6)  # same name, other bytes
    assert other != target and len(other.name.encode()) <= MAX_NAME and sha[:12] in other.name
    assert target.read_bytes() == b"first" and other.read_bytes() == b"second"


def test_local_transport_round_trip_of_a_250_byte_name(tmp_path: Path) -> None:
    share = tmp_path / "share"
    for folder in ("outbound", "inbound", "archive"):
        (share / folder).mkdir(parents=True)
    t = LocalTransport(share)
    src = tmp_path / LONG
    src.write_bytes(b"ISA~")
    assert t.upload(src).name == LONG and (share / "outbound" / LONG).read_bytes() == b"ISA~"
    for _ in range(2):  # the same name delivered twice: both archived copies kept
        (share / "inbound" / LONG).write_bytes(b"ISA~")
        got = t.download(LONG, tmp_path / "received")
        assert got.path.name == LONG
        t.archive(LONG)
    archived = [p.name for p in (share / "archive").iterdir()]
    assert len(archived) == 2 and all(len(n.encode()) <= MAX_NAME for n in archived)


def test_sftp_download_and_upload_of_a_250_byte_name(
    transport: Any, sftp_root: Path, tmp_path: Path
) -> None:
    (sftp_root / "inbound" / LONG).write_bytes(b"ISA*answer~")
    got = transport.download(LONG, tmp_path / "received")
    assert got.path.read_bytes() == b"ISA*answer~" and got.path.name == LONG
    src = tmp_path / "out" / LONG
    src.parent.mkdir()
    src.write_bytes(b"ISA*claims~")
    assert transport.upload(src).name == LONG
    assert (sftp_root / "outbound" / LONG).read_bytes() == b"ISA*claims~"


@pytest.mark.parametrize("name", [LONG])
def test_quarantine_reason_of_a_long_name_fits(name: str) -> None:
    assert len(fitted_name(name, suffix=".reason.txt").encode()) <= MAX_NAME
