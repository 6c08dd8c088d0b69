"""pyx12 as the reference for the compiled guide checker, file by file.

Every corpus file and build output is validated with both engines (pyx12 once per session,
~20 s): where pyx12 gives a verdict the compiled checker must give the same verdict and the
same implementation-guide findings (segment, loop, element, 999 code, message); and
``docs/validator-conformance.md`` must be the page this table renders (``make
validator-conformance`` rewrites it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.x12.compiled_conformance import (
    CORPUS,
    DOC,
    Row,
    _cli_results,
    compare,
    conformance_files,
    render,
)

FILES = {name: (origin, path) for origin, name, path in conformance_files()}


@pytest.fixture(scope="session")
def table() -> dict[str, Row]:
    cli = _cli_results(CORPUS)
    return {name: compare(o, name, p, cli.get(name, "")) for name, (o, p) in FILES.items()}


def test_every_corpus_file_and_build_output_is_compared() -> None:
    origins = [origin for origin, _path in FILES.values()]
    if (CORPUS / "PROVENANCE.tsv").exists():
        with (CORPUS / "PROVENANCE.tsv").open(encoding="utf-8") as fh:
            assert origins.count("corpus") == sum(1 for _ in fh) - 1
    built = {name for name, (origin, _p) in FILES.items() if origin == "build"}
    assert "tests/golden/build/demo.837p.x12" in built
    assert "tests/golden/build/demo_20261128.270.x12" in built
    assert "sample_edi/outbound/claim_status.276" in built


@pytest.mark.parametrize("name", sorted(FILES))
def test_compiled_agrees_with_pyx12(table: dict[str, Row], name: str) -> None:
    row = table[name]
    if not row.pyx12_has_verdict:
        pytest.skip("pyx12 failed inside: no verdict to hold the compiled checker to")
    assert row.compiled_status == row.pyx12_status
    only_pyx12 = sorted(set(row.pyx12_findings) - set(row.compiled_findings), key=repr)
    only_compiled = sorted(set(row.compiled_findings) - set(row.pyx12_findings), key=repr)
    assert row.findings_agree, (only_pyx12[:5], only_compiled[:5])


def test_the_conformance_page_is_current(table: dict[str, Row]) -> None:
    """The page is rendered from the whole corpus: a checkout without it cannot redo it."""
    if not (CORPUS / "PROVENANCE.tsv").exists():
        pytest.skip("../shared/corpus is not present: the page covers it")
    rows = [table[name] for _origin, name, _path in conformance_files()]
    assert DOC.read_text(encoding="utf-8") == render(rows), "run `make validator-conformance`"


def test_the_page_counts_agreement(table: dict[str, Row], tmp_path: Path) -> None:
    rows = list(table.values())
    page = render(rows)
    assert f"same verdict and same findings: {len(rows)} of {len(rows)}" in page
    broken = Row("x.edi", "build", "", "valid", "invalid", (), ((1, "ST", "", "", "ig", "3", "m"),))
    assert "| x.edi |  | valid | invalid | **no** | - | ST:3 |" in render([broken])
