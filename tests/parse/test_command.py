"""`claimflow parse`: tables written for good files, one stderr line per bad one, exit codes."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.parse.commands import parse_command
from tests.parse.make_samples import SAMPLES
from tests.parse.x12build import Claim, Counter, Payment, build_835


def test_parse_all_samples_to_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(SAMPLES.iterdir())
    assert parse_command(files, out=tmp_path, fmt="csv") == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(
        f"{t}.csv"
        for t in [
            "remit_payments",
            "remit_claims",
            "remit_service_lines",
            "remit_adjustments",
            "remit_provider_adjustments",
            "eligibility_benefits",
            "eligibility_summary",
            "ack_transactions",
            "ack_interchanges",
            "claim_acknowledgments",
            "claim_statuses",
            "problems",
        ]
    )
    claims = pd.read_csv(tmp_path / "remit_claims.csv", dtype=str, keep_default_na=False)
    assert len(claims) == 7  # both 835 samples, one table
    assert set(claims["source_file"]) == {
        str(SAMPLES / "remit_oon.835"),
        str(SAMPLES / "remit_delimiters.835"),
    }
    assert "parsed 7 of 7 file(s)" in capsys.readouterr().out


def test_bad_file_gets_one_line_and_good_files_are_still_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.835"
    good.write_text(
        build_835(
            [Payment(D("5"), "T", [Claim("P1", "1", D("5"), D("5"), D("0"))])], control=Counter(9)
        ),
        encoding="ascii",
    )
    cut = tmp_path / "cut.835"
    cut.write_text(good.read_text()[:-40], encoding="ascii")
    prose = tmp_path / "notes.txt"
    prose.write_text("hello, this is not X12\n", encoding="ascii")
    out = tmp_path / "out"
    assert parse_command([cut, good, prose, tmp_path / "missing.835"], out=out, fmt="csv") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3
    assert str(cut) in err[0] and str(prose) in err[1] and "missing.835" in err[2]
    claims = pd.read_csv(out / "remit_claims.csv", dtype=str, keep_default_na=False)
    assert claims["patient_control_number"].tolist() == ["P1"]  # nothing of the cut file
    assert not [p for p in out.iterdir() if p.name.startswith(".parse-")]


def test_parquet_output_keeps_decimals(tmp_path: Path) -> None:
    assert parse_command([SAMPLES / "remit_oon.835"], out=tmp_path, fmt="parquet") == 0
    table = pq.read_table(tmp_path / "remit_provider_adjustments.parquet")
    assert table.column("amount").to_pylist() == [D("-12.50"), D("-3.00"), D("10.00")]
    assert pq.read_table(tmp_path / "remit_claims.parquet").num_rows == 6


def test_unknown_format_and_cli(tmp_path: Path) -> None:
    assert parse_command([SAMPLES / "remit_oon.835"], out=tmp_path, fmt="xlsx") == 2
    result = CliRunner().invoke(
        app, ["parse", str(SAMPLES / "ack_partial.999"), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 0, result.output
    acks = pd.read_csv(tmp_path / "o" / "ack_transactions.csv", dtype=str, keep_default_na=False)
    assert acks["status"].tolist()[:2] == ["accepted", "accepted_with_errors"]
    bad = CliRunner().invoke(
        app, ["parse", str(tmp_path / "nope.835"), "--out", str(tmp_path / "o")]
    )
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_output_folder_that_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("x", encoding="ascii")
    assert parse_command([SAMPLES / "remit_oon.835"], out=blocker, fmt="csv") == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_parquet_of_many_files_matches_csv(tmp_path: Path) -> None:
    """The first file's tables are moved into place whole; the next ones are appended
    after them (the moved file restarted under a writer), in file order."""
    files = sorted(SAMPLES.iterdir())
    assert parse_command(files, out=tmp_path / "csv", fmt="csv") == 0
    assert parse_command(files, out=tmp_path / "pq", fmt="parquet") == 0
    assert sorted(p.stem for p in (tmp_path / "pq").iterdir()) == sorted(
        p.stem for p in (tmp_path / "csv").iterdir()
    )  # no staging folders or half-merged files left behind
    for table in ("remit_claims", "remit_adjustments", "ack_transactions", "problems"):
        csv = pd.read_csv(tmp_path / "csv" / f"{table}.csv", dtype=str, keep_default_na=False)
        parquet = pq.read_table(tmp_path / "pq" / f"{table}.parquet")
        assert parquet.num_rows == len(csv) and parquet.column_names == list(csv.columns)
        keys = [str(v) for v in parquet.column(0).to_pylist()]
        assert keys == csv.iloc[:, 0].tolist()
    claims = pq.read_table(tmp_path / "pq" / "remit_claims.parquet").to_pylist()
    sources = [str(SAMPLES / "remit_delimiters.835")] + [str(SAMPLES / "remit_oon.835")] * 6
    assert [c["source_file"] for c in claims] == sources
