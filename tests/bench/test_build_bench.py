"""Builder throughput and 837P validation time (``make bench``; not in the normal suite).

* building: claims per second for 20 000 claims (scrub excluded, then end to end);
  the issue asks for >= 20 000 claims/s before validation;
* validating a 10 000-claim 837P with pyx12: ``validate_file(jobs=1)`` beside ``jobs=2``
  (pyx12 by transaction set in two processes), with the load average (the machine may be
  shared).
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest

from pipeline.build.codes import load_code_sets
from pipeline.build.t837p import ClaimContext, _fast, _Segments, build_837p, claim_record
from pipeline.practice import Practice, load_practice
from pipeline.x12.segments import Delimiters
from pipeline.x12.validate import validate_file
from tests.build.conftest import DEMO, NOW, ROOT, TODAY, CountingControlNumbers

pytestmark = pytest.mark.bench

MIN_CLAIMS_PER_SECOND = 20_000


def big_practice(claims: int) -> Practice:
    """The demo's clean encounters, repeated for copies of its patients (no duplicates)."""
    base = load_practice(DEMO, mappings_dir=ROOT / "mappings").practice
    clean = [e for e in base.encounters if e.encounter_id < "E0161"]
    copies = -(-claims // len(clean))
    patients, coverages, encounters = {}, [], []
    for k in range(copies):
        for pid, patient in base.patients.items():
            patients[f"{pid}K{k}"] = patient.model_copy(update={"patient_id": f"{pid}K{k}"})
        coverages += [
            c.model_copy(update={"patient_id": f"{c.patient_id}K{k}",
                                 "coverage_id": f"{c.coverage_id}K{k}"})
            for c in base.coverages
        ]  # fmt: skip
        encounters += [
            e.model_copy(update={"encounter_id": f"{e.encounter_id}K{k}",
                                 "patient_id": f"{e.patient_id}K{k}",
                                 "patient_control_number": f"{e.patient_control_number[:9]}K{k}"})
            for e in clean
        ]  # fmt: skip
    return base.model_copy(
        update={"patients": patients, "coverages": coverages, "encounters": encounters[:claims]}
    )


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds else float("inf")


def test_build_throughput() -> None:
    practice = big_practice(20_000)
    codes = load_code_sets(ROOT / "mappings")
    d = Delimiters()
    # Builder alone: encounter -> claim record -> segment text (best of 3 runs).
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        context = ClaimContext(practice)
        out = io.StringIO()
        for encounter in practice.encounters:
            rendered = _fast(_Segments(d), claim_record(practice, encounter, context=context), d)
            out.write("~".join(rendered.subscriber))
            out.write("~".join(rendered.claim))
        best = min(best, time.perf_counter() - start)
    builder = _rate(len(practice.encounters), best)
    # End to end: scrub + build + write the interchange.
    start = time.perf_counter()
    result = build_837p(
        practice, io.StringIO(), control_numbers=CountingControlNumbers(), today=TODAY,
        codes=codes, now=NOW,
    )  # fmt: skip
    total = time.perf_counter() - start
    assert len(result.claims) == 20_000 and not result.held
    print(
        f"\n837P build: {builder:,.0f} claims/s (builder), "
        f"{_rate(20_000, total):,.0f} claims/s end to end with the scrubber"
    )
    assert builder >= MIN_CLAIMS_PER_SECOND


def test_validate_10k_claims_one_core_vs_two(tmp_path: Path) -> None:
    """``validate_file`` with one job, then two (pyx12 by transaction set in two processes)."""
    practice = big_practice(10_000)
    codes = load_code_sets(ROOT / "mappings")
    path = tmp_path / "big.837p.x12"
    with path.open("w", encoding="ascii") as fh:
        result = build_837p(
            practice, fh, control_numbers=CountingControlNumbers(), today=TODAY, codes=codes,
            now=NOW,
        )  # fmt: skip
    assert len(result.transactions) == 20
    timed = {}
    for jobs in (1, 2):
        load_before = os.getloadavg()[0]
        start, cpu = time.perf_counter(), time.process_time()
        report = validate_file(path, jobs=jobs, engine="pyx12")
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        timed[jobs] = (wall, cpu, load_before, os.getloadavg()[0], report)
    (one, one_cpu, *_, one_report), (two, *_, two_report) = timed[1], timed[2]
    assert one_report.errors == [] and one_report.as_dict() == two_report.as_dict()
    loads = ", ".join(f"{jobs} job(s) {t[2]:.1f} -> {t[3]:.1f}" for jobs, t in timed.items())
    print(
        f"\npyx12 on a 10,000-claim 837P ({one_report.segments:,} segments, "
        f"{len(result.transactions)} transaction sets): one core {one:.1f} s "
        f"({one_cpu:.1f} s CPU), two cores by transaction set {two:.1f} s, "
        f"speed-up {one / two:.2f}x (1-min load average before -> after: {loads}; "
        f"{os.cpu_count()} CPUs, shared)"
    )
