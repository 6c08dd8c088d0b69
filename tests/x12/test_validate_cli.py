"""``claimflow validate`` end to end on files generated here (not in the repo)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.x12.validate import format_report, validate_command, validate_file
from tests.x12.samples import balanced_835, partial_999, unbalanced_835

CLAIMFLOW = Path(sys.executable).parent / "claimflow"


def claimflow(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLAIMFLOW), "validate", *map(str, args)], capture_output=True, text=True, timeout=60
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("validate")
    good = balanced_835(folder / "good.835")
    truncated = folder / "truncated.835"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    not_x12 = folder / "notes.txt"
    not_x12.write_text("Dear billing office,\nplease find the remittance attached.\n")
    return {
        "good": good,
        "bad": unbalanced_835(folder / "bad.835"),
        "truncated": truncated,
        "not_x12": not_x12,
    }


def test_generated_835_uses_pipe_delimiters_crlf_two_payments_reversal_and_plb(
    files: dict[str, Path],
) -> None:
    raw = files["good"].read_bytes()
    assert raw[3:4] == b"|" and raw[104:106] == b">~" and raw[82:83] == b"^"
    assert b"~\r\n" in raw and raw.count(b"\nST|835|") == 2
    assert b"CLP|PCN20241201B|22|-300" in raw and b"\nPLB|" in raw


def test_balanced_835_is_valid_exit_0(files: dict[str, Path]) -> None:
    result = claimflow(files["good"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        f"{files['good']}: valid (0 error(s), 0 warning(s); 1 interchange(s), "
        "2 transaction set(s), 64 segments)"
    ]
    assert result.stderr == ""


def test_unbalanced_835_is_invalid_exit_1_and_names_each_failure(files: dict[str, Path]) -> None:
    result = claimflow(files["bad"])
    assert result.returncode == 1
    summary, *errors = result.stdout.splitlines()
    assert summary.startswith(f"{files['bad']}: invalid (3 error(s)")
    assert [line.rsplit("[", 1)[1] for line in errors] == [
        "transaction_balance]", "claim_balance]", "line_balance]"
    ]  # fmt: skip
    assert errors[1].startswith("  error: segment 14 CLP loop 2100 CLP04: claim PCNCLAIMOFF")
    assert "= 119, CLP04 is 120" in errors[1]
    assert errors[2].startswith("  error: segment 30 SVC loop 2110 SVC03: service line 1")


def test_json_output_lists_the_same_problems(files: dict[str, Path]) -> None:
    result = claimflow("--json", files["good"], files["bad"])
    assert result.returncode == 1
    good, bad = json.loads(result.stdout)
    assert (good["status"], good["problems"]) == ("valid", [])
    assert bad["status"] == "invalid" and bad["errors"] == 3
    rows = {p["rule"]: p for p in bad["problems"]}
    assert rows["line_balance"] | {"message": ""} == {
        "source_file": str(files["bad"]), "transaction_control_number": "0001",
        "level": "line", "key": "PCNLINEOFF/1", "rule": "line_balance", "expected": "80",
        "actual": "90", "message": "", "segment_number": 30, "segment_id": "SVC",
        "loop": "2110", "element": "SVC03", "severity": "error",
    }  # fmt: skip


@pytest.mark.parametrize("which", ["truncated", "not_x12"])
def test_unreadable_file_exit_2_one_stderr_line_no_traceback(
    files: dict[str, Path], which: str
) -> None:
    result = claimflow(files["good"], files[which])
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"claimflow: error: {files[which]}: segment ")
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout.startswith(f"{files['good']}: valid")


def test_truncated_and_not_x12_messages_say_what_is_wrong(files: dict[str, Path]) -> None:
    assert "ends" in validate_file(files["truncated"]).message
    report = validate_file(files["not_x12"])
    assert (report.status, report.exit_code) == ("unreadable", 2)
    assert "not an X12 interchange" in report.message
    assert format_report(report) == [f"{files['not_x12']}: unreadable: {report.message}"]


def test_missing_file_is_unreadable_not_a_crash(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert validate_command([tmp_path / "nope.835"], as_json=True, out=out, err=err) == 2
    (report,) = json.loads(out.getvalue())
    assert report["status"] == "unreadable" and "cannot open" in report["message"]
    assert err.getvalue().count("\n") == 1


def test_worst_file_decides_the_exit_code(files: dict[str, Path]) -> None:
    def run(*names: str) -> int:
        quiet = io.StringIO()
        return validate_command([files[n] for n in names], as_json=False, out=quiet, err=quiet)

    assert run("good") == 0
    assert run("bad", "good") == 1
    assert run("not_x12", "bad", "good") == 2


def test_partially_accepted_999_is_valid_and_its_mutations_are_not(tmp_path: Path) -> None:
    good = partial_999(tmp_path / "partial.999")
    assert (validate_file(good).status, validate_file(good).problems) == ("valid", [])
    bad = tmp_path / "bad.999"
    bad.write_text(good.read_text().replace("IK5*R*5~", "IK5*Q*5~").replace("AK9*P*2*2*1~\n", ""))
    report = validate_file(bad)
    assert report.status == "invalid"
    # pyx12 picks segments by their qualifier: a bad IK501 code leaves IK5 unrecognised
    assert any(p.segment_id == "IK5" and "not found" in p.message for p in report.errors)
    assert any("AK9" in p.message and "missing" in p.message for p in report.errors)
    assert ("SE", "SE01") in {(p.segment_id, p.element) for p in report.errors}  # count now off
