"""Name checks, atomic local writes, and the retry helper."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.errors import (
    AuthenticationFailed,
    TransientTransportError,
    UnknownHostKey,
    UnsafeRemoteName,
)
from pipeline.transport.base import local_target, safe_remote_name, write_atomically
from pipeline.transport.retry import RetryPolicy, retry

UNSAFE = [
    "",
    "   ",
    ".",
    "..",
    "../etc/passwd",
    "../../x.835",
    "inbound/../../x",
    "/etc/passwd",
    "a/b.835",
    "a\\b.835",
    "..\\..\\win.ini",
    "x..835",
    "a\x00b",
    "a\nb.835",
    "a\rb",
    "\x1b[31mred.835",
    "a\x7fb",
    "evil\u202egpj.exe",  # right-to-left override hides the real extension
    " leading.835",
    "trailing.835 ",
    "x" * 256,
]


@pytest.mark.parametrize("name", UNSAFE, ids=[ascii(n)[:30] for n in UNSAFE])
def test_unsafe_names_refused(name: str) -> None:
    with pytest.raises(UnsafeRemoteName) as info:
        safe_remote_name(name)
    message = str(info.value)
    assert "\n" not in message and "\x1b" not in message and "\x00" not in message


@pytest.mark.parametrize(
    "name", ["837P_000000101.x12", "ERA 20261127.835", "TA1-000000101.ta1", ".part-ok", "é.x12"]
)
def test_plain_names_pass(name: str) -> None:
    assert safe_remote_name(name) == name


def test_local_target_refuses_temporary_and_symlinked_names(tmp_path: Path) -> None:
    dest = tmp_path / "in"
    dest.mkdir()
    assert local_target(dest, "r.835") == (dest / "r.835").resolve()
    with pytest.raises(UnsafeRemoteName):
        local_target(dest, ".r.835.part")
    outside = tmp_path / "outside"
    outside.mkdir()
    (dest / "trap.835").symlink_to(outside / "victim")
    with pytest.raises(UnsafeRemoteName, match="outside"):
        local_target(dest, "trap.835")


def test_write_atomically_short_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "r.835"
    with pytest.raises(TransientTransportError, match="received 3 bytes, expected 5"):
        write_atomically(target, lambda out: out.write(b"abc") and None, 5)
    assert list(tmp_path.iterdir()) == []


def test_write_atomically_failure_leaves_nothing(tmp_path: Path) -> None:
    def boom(out: object) -> None:
        out.write(b"abc")  # type: ignore[attr-defined]
        raise ConnectionResetError("peer gone")

    with pytest.raises(ConnectionResetError):
        write_atomically(tmp_path / "r.835", boom, 3)
    assert list(tmp_path.iterdir()) == []


def test_write_atomically_never_overwrites_a_different_file(tmp_path: Path) -> None:
    target = tmp_path / "r.835"
    first, size, sha = write_atomically(target, lambda out: out.write(b"first") and None, 5)
    same, _, sha_same = write_atomically(target, lambda out: out.write(b"first") and None, 5)
    other, _, sha_other = write_atomically(target, lambda out: out.write(b"other") and None, 5)
    assert first == same == target and sha == sha_same and size == 5
    assert other != target and other.name == f"r.{sha_other[:12]}.835"
    assert target.read_bytes() == b"first" and other.read_bytes() == b"other"
    assert sorted(os.listdir(tmp_path)) == sorted(["r.835", other.name])


# -- retry ---------------------------------------------------------------------------------


def flaky(failures: list[Exception]) -> tuple[list[int], object]:
    calls: list[int] = []

    def action() -> str:
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return "ok"

    return calls, action


def test_retry_transient_until_success() -> None:
    waits: list[float] = []
    dropped: list[BaseException] = []
    calls, action = flaky([TransientTransportError("drop"), TransientTransportError("drop")])
    policy = RetryPolicy(attempts=5, initial_delay=1, multiplier=3, max_delay=100, jitter=0)
    result: object = retry(action, policy, "op", on_retry=dropped.append, sleep=waits.append)
    assert result == "ok" and len(calls) == 3 and len(dropped) == 2
    assert waits == [1, 3]


@pytest.mark.parametrize("error", [AuthenticationFailed("no"), UnknownHostKey("no"), ValueError()])
def test_retry_never_retries_terminal(error: Exception) -> None:
    calls, action = flaky([error])
    with pytest.raises(type(error)):
        retry(action, RetryPolicy(attempts=5), "op", sleep=lambda _s: None)  # type: ignore[arg-type]
    assert len(calls) == 1


def test_retry_gives_up_after_attempts_with_capped_backoff() -> None:
    waits: list[float] = []
    calls, action = flaky([TransientTransportError(str(i)) for i in range(10)])
    policy = RetryPolicy(attempts=6, initial_delay=1, multiplier=2, max_delay=5, jitter=0)
    with pytest.raises(TransientTransportError, match="5"):
        retry(action, policy, "op", sleep=waits.append)  # type: ignore[arg-type]
    assert len(calls) == 6 and waits == [1, 2, 4, 5, 5]


def test_jitter_only_shortens() -> None:
    policy = RetryPolicy(initial_delay=2, jitter=0.5)
    assert all(1.0 <= policy.delay(1) <= 2.0 for _ in range(50))
