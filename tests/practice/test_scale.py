"""The scale harness's practice: the demo tiled to exactly N encounters, keys unique per copy."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from pipeline.practice import load_practice
from pipeline.practice.scale import write_scaled_practice

DEMO = Path(__file__).resolve().parents[2] / "sample_edi" / "practice"


@pytest.mark.parametrize("claims", [185, 400])
def test_scaled_practice_has_n_encounters_with_unique_keys(tmp_path: Path, claims: int) -> None:
    demo = load_practice(DEMO)
    scaled = load_practice(write_scaled_practice(DEMO, tmp_path, claims))
    practice = scaled.practice
    assert len(practice.encounters) == claims
    pcns = Counter(e.patient_control_number for e in practice.encounters)
    assert pcns.most_common(1)[0][1] == 1
    copies = -(-claims // len(demo.practice.encounters))
    # Families share a subscriber's member id; every copy is a new set of members.
    members = {(c.payer_id, c.member_id) for c in practice.coverages}
    in_demo = {(c.payer_id, c.member_id) for c in demo.practice.coverages}
    assert len(members) == copies * len(in_demo)
    # Every encounter's patient and every charge's encounter resolve; the loader says what it
    # said about the demo, once per copy (the demo's deliberate data problems, tiled).
    assert {e.patient_id for e in practice.encounters} <= set(practice.patients)
    assert len(scaled.issues) <= len(demo.issues) * copies
    # The mix: about one appointment (eligibility inquiry) per five encounters.
    ratio = len(practice.appointments) / claims
    assert 0.15 <= ratio <= 0.25


def test_the_first_copy_is_the_demo_practice(tmp_path: Path) -> None:
    write_scaled_practice(DEMO, tmp_path, 185)
    for name in ("encounters.csv", "charges.csv", "patients.csv", "coverages.csv"):
        assert (tmp_path / name).read_text() == (DEMO / name).read_text()
