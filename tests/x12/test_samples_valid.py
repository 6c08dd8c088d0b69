"""Every X12 sample the project ships passes its own validation (envelope, IG, balancing).

These are the acceptance files of the X12 engine made independently of the simulator: a 271
with in- and out-of-network benefits, a rejected and an inactive member; a partially accepted
999; a 277CA accepting and rejecting; TA1s; 835s with reversals, PLB and other delimiters.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.x12.validate import validate_file
from tests.conftest import SAMPLE_EDI

SAMPLES = sorted(p for p in (SAMPLE_EDI / "x12").iterdir() if p.is_file())


def test_there_are_samples_of_every_return_transaction() -> None:
    assert {p.suffix for p in SAMPLES} >= {".271", ".277", ".835", ".999", ".ta1"}


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_sample_is_valid(path: Path) -> None:
    report = validate_file(path, jobs=1)
    assert report.status == "valid", [p.message for p in report.errors]
