"""Shared fixtures: the public corpus, a real PostgreSQL and a real Prefect API when present."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
SAMPLE_EDI = ROOT / "sample_edi"


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """``../shared/corpus`` (skips cleanly when this checkout has none)."""
    if not (CORPUS / "PROVENANCE.tsv").exists():
        pytest.skip("../shared/corpus is not present")
    return CORPUS


def corpus_rows() -> list[dict[str, str]]:
    """PROVENANCE.tsv merged with VALIDATION.tsv, one dict per corpus file (empty if absent)."""
    if not (CORPUS / "PROVENANCE.tsv").exists():
        return []
    with (CORPUS / "PROVENANCE.tsv").open(encoding="utf-8") as fh:
        rows = {r["file"]: r for r in csv.DictReader(fh, delimiter="\t")}
    validation = CORPUS / "VALIDATION.tsv"
    if validation.exists():
        with validation.open(encoding="utf-8") as fh:
            for r in csv.DictReader(fh, delimiter="\t"):
                row = rows.setdefault(r["file"], {})
                row.update({f"pyx12_{k}": v for k, v in r.items()})
                row["known_defective_or_negative"] = r.get("known_defective_or_negative", "")
    return [dict(r, file=name) for name, r in sorted(rows.items())]


def corpus_files(*transactions: str) -> list[str]:
    """Corpus file names (relative) for the given top folders, e.g. ``corpus_files("835")``."""
    return [r["file"] for r in corpus_rows() if r["file"].split("/")[0] in transactions]


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A real PostgreSQL started by .ci/run (CLAIMFLOW_TEST_POSTGRES_URL); skip when absent."""
    url = os.environ.get("CLAIMFLOW_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("CLAIMFLOW_TEST_POSTGRES_URL not set (.ci/run starts PostgreSQL)")
    return url


@pytest.fixture(scope="session")
def prefect_api() -> str:
    """A real Prefect API started once by .ci/run (PREFECT_API_URL); skip when absent."""
    url = os.environ.get("PREFECT_API_URL")
    if not url:
        pytest.skip("PREFECT_API_URL not set (.ci/run starts a Prefect server)")
    return url


def run_demo(out: Path) -> subprocess.CompletedProcess[str]:
    """``claimflow demo --out OUT`` through the real CLI, without the caller's CLAIMFLOW_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMFLOW_")}
    return subprocess.run(
        [str(Path(sys.executable).with_name("claimflow")), "demo", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="session")
def demo_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One demo run per test session (~1 min), shared by every test that reads its outputs."""
    out = tmp_path_factory.mktemp("demo") / "demo"
    return out, run_demo(out)


# End-to-end tests: whole nights against the embedded clearinghouse and the Prefect API, the
# demo, process pools. `make test-fast` (`pytest -m "not e2e"`) leaves them out; `make test`
# and CI run everything. Marked here by path so a new test in these files is marked too.
E2E_PATHS = (
    "tests/flows/",
    "tests/clearinghouse/test_demo_practice.py",
    "tests/reconcile/test_demo_recompute.py",
    "tests/x12/test_ig_parallel.py",
    "tests/x12/test_compiled_conformance.py",  # the whole corpus through pyx12 and compiled
    "tests/test_cli_permissions.py",  # a whole demo under umask 022
    "tests/test_cli_prefect.py",  # `claimflow run` starting its own Prefect
    "tests/clearinghouse/test_profile_cli.py",  # the simulator as a process, a night against it
)


# ...and single tests that replay the whole corpus through pyx12, crash a ledger at every
# statement or race processes: minutes together, each end to end in its own way.
E2E_TESTS = frozenset(
    {
        "test_same_verdict_and_error_segments_as_x12n_document",  # x12/test_ig.py
        "test_validate_verdict_equals_recorded",  # x12/test_conformance.py
        "test_crash_at_every_statement_is_retried_never_doubled",  # ledger/test_outbox.py
        "test_crash_between_steps_is_retried_never_doubled",
        "test_killed_process_mid_transaction_leaves_nothing_half_done",
        "test_concurrent_processes_never_share_a_number",  # ledger/test_control_numbers.py
        "test_the_answers_pass_validation",  # clearinghouse/test_eligibility_answers.py
    }
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = item.path.relative_to(ROOT).as_posix()
        name = getattr(item, "originalname", item.name)
        if path.startswith(E2E_PATHS) or name in E2E_TESTS:
            item.add_marker(pytest.mark.e2e)
