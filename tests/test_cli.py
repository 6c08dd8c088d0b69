"""The ``claimflow`` command line: typed dates and steps, ``--version``, readable help."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import Step, command, main

ROOT = Path(__file__).resolve().parents[1]
BAD = "2026-13-01"

# Every date option of every command, with the other arguments it needs to get that far.
DATE_OPTIONS = [
    ["build", "837p", "--practice", "p", "--out", "o", "--date", BAD],
    ["build", "270", "--practice", "p", "--out", "o", "--date", BAD],
    ["demo", "--date", BAD],
    ["nightly", "--date", BAD],
    ["run", "claims", "--date", BAD],
    ["eligibility", "check", "P1", "--date", BAD],
    ["report", "--from", BAD],
    ["report", "--to", BAD],
    ["report", "--date", BAD],
    ["nsa", "show", "X1", "--date", BAD],
    ["nsa", "notice-sent", "X1", "--method", "mail", "--date", BAD],
    ["nsa", "clock", "--received", BAD],
    ["nsa", "clock", "--received", "2026-01-05", "--sent", BAD],
    ["nsa", "clock", "--received", "2026-01-05", "--initiated", BAD],
    ["nsa", "clock", "--received", "2026-01-05", "--initiated", "2026-03-17", "--selected", BAD],
    ["appeal", "status", "X1-prior_auth", "sent", "--date", BAD],
]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0), out, err


@pytest.mark.parametrize("argv", DATE_OPTIONS, ids=lambda a: " ".join(a[:2]) + " " + a[-2])
def test_a_bad_date_is_one_usage_line_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(argv, capsys)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("claimflow: error: Invalid value for '")
    assert f"'{BAD}' is not a date (YYYY-MM-DD)" in lines[0]


@pytest.mark.parametrize("text", ["20261201", "2026-1-05", "tomorrow", "2026-02-30"])
def test_only_iso_calendar_dates_pass(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["nsa", "clock", "--received", text], capsys)
    assert code == 2 and f"'{text}' is not a date" in err


def test_a_good_date_reaches_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["nsa", "clock", "--received", "2026-01-05"], capsys)
    assert code == 0
    assert "open negotiation notice due by  2026-02-17" in out


def test_a_wrong_step_lists_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["run", "claim"], capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    for step in Step:
        assert f"'{step.value}'" in err
    assert "'claim' is not one of" in err


def test_steps_are_the_flows_run_can_run() -> None:
    from flows.commands import STEPS

    assert tuple(s.value for s in Step) == STEPS


def test_version_is_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["--version"], capsys)
    assert code == 0 and err == ""
    assert out == f"claimflow {version('claimflow')}\n"


def _paths(cmd: Any, path: list[str]) -> Iterator[list[str]]:
    yield path
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from _paths(sub, [*path, name])


ALL_COMMANDS = list(_paths(command(), []))


def test_every_command_is_walked() -> None:
    names = {" ".join(p) for p in ALL_COMMANDS}
    assert {"", "run", "build 837p", "clearinghouse serve", "nsa clock", "report"} <= names
    assert len(ALL_COMMANDS) > 25


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda p: " ".join(p) or "claimflow")
def test_help_has_no_type_noise(
    path: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    code, out, _ = _run([*path, "--help"], capsys)
    assert code == 0
    assert not re.search(r"<[A-Za-z_\[\]|. ]+>", out), out
    help_line = next(line for line in out.splitlines() if "--help" in line)
    assert re.search(r"--help\s+Show this message", help_line), help_line
    if "--date" in out:
        assert re.search(r"--date\s+YYYY-MM-DD", out)


def test_flags_show_no_metavar(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["validate", "--help"], capsys)
    assert code == 0
    assert re.search(r"--json\s+Print a JSON list", out)
    assert re.search(r"files\.\.\.\s+PATH\.\.\.", out)


def test_installed_entry_point_bad_date_has_no_traceback(tmp_path: Path) -> None:
    """The real process: one line on stderr, exit 2."""
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "build", "837p", "--practice", str(tmp_path),
         "--out", str(tmp_path / "x.x12"), "--date", BAD],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("claimflow: error: Invalid value for '--date'")


def test_a_wrong_table_format_lists_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["parse", "x.835", "--out", "o", "--format", "xlsx"], capsys)
    assert code == 2
    assert "'xlsx' is not one of 'csv', 'parquet'" in err and len(err.splitlines()) == 1


def test_the_cli_has_arrow_use_the_c_allocator_unless_told_otherwise() -> None:
    """mimalloc (Arrow's default) kept every exported table's memory committed."""
    import os
    import subprocess
    import sys

    probe = (
        "import sys; from pipeline.cli import main\n"
        "try: main(['--help'])\n"
        "except SystemExit: pass\n"
        "import pyarrow as pa; print(pa.default_memory_pool().backend_name, file=sys.stderr)"
    )
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    run = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert run.stderr.strip().splitlines()[-1] == "system"
    env["ARROW_DEFAULT_MEMORY_POOL"] = "jemalloc" if "jemalloc" in _pools() else "mimalloc"
    run = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert run.stderr.strip().splitlines()[-1] == env["ARROW_DEFAULT_MEMORY_POOL"]


def _pools() -> list[str]:
    import pyarrow as pa

    return pa.supported_memory_backends()  # type: ignore[no-any-return]
