"""Fixtures: the demo practice's own 837P and 270 (built with the project's builders, fixed
clock) and one simulator run over them, shared by the tests of this folder."""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.clearinghouse.responder import Faults, Responder
from pipeline.x12.control import FileControlNumbers

ROOT = Path(__file__).resolve().parents[2]
PRACTICE = ROOT / "sample_edi" / "practice"
MAPPINGS = ROOT / "mappings"
TODAY = date(2026, 11, 27)
NOW = datetime(2026, 11, 27, 12, 30)


@dataclass
class Inputs:
    claims: Path
    inquiries: Path


@dataclass
class Run:
    root: Path
    responder: Responder
    claims_files: list[Path]
    eligibility_files: list[Path]
    truth: list[dict[str, Any]]

    def by_kind(self, kind: str) -> list[Path]:
        return [f for f in self.claims_files + self.eligibility_files if f.name.startswith(kind)]


@pytest.fixture(scope="session")
def demo_inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    """837P for every billable encounter and 270s for the appointments of 2026-11-28."""
    if not (PRACTICE / "encounters.csv").exists():
        pytest.skip("sample_edi/practice is not there")
    from pipeline.build.codes import load_code_sets
    from pipeline.build.t270 import build_270
    from pipeline.build.t837p import build_837p
    from pipeline.practice import load_practice

    folder = tmp_path_factory.mktemp("inputs")
    practice = load_practice(PRACTICE).practice
    numbers = FileControlNumbers(folder / "control.json")
    text = io.StringIO()
    build_837p(
        practice,
        text,
        control_numbers=numbers,
        today=TODAY,
        codes=load_code_sets(MAPPINGS),
        now=NOW,
    )
    claims = folder / "claims.x12"
    claims.write_text(text.getvalue(), encoding="utf-8")
    text = io.StringIO()
    build_270(practice, text, on=date(2026, 11, 28), control_numbers=numbers, now=NOW)
    inquiries = folder / "eligibility.x12"
    inquiries.write_text(text.getvalue(), encoding="utf-8")
    return Inputs(claims, inquiries)


def run_simulator(root: Path, inputs: Inputs, seed: int = 7, faults: Faults | None = None) -> Run:
    responder = Responder(root, seed, practice=PRACTICE, faults=faults)
    eligibility = responder.respond(_upload(responder, inputs.inquiries))
    claims = responder.respond(_upload(responder, inputs.claims))
    return Run(root, responder, claims, eligibility, responder.truth.read())


def _upload(responder: Responder, path: Path) -> Path:
    target = responder.layout.uploads / path.name
    shutil.copyfile(path, target)
    return target


@pytest.fixture(scope="session")
def demo_run(demo_inputs: Inputs, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run_simulator(tmp_path_factory.mktemp("seed7"), demo_inputs)
