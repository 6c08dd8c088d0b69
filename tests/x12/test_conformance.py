"""Every corpus file through the reader and ``validate_file``: zero crashes, recorded verdicts.

``conformance_verdicts.tsv`` (beside this file) holds, per corpus file, pyx12's result from
the corpus' ``VALIDATION.tsv``, our verdict, the rules of our errors, and why the two differ
when they do (``docs/conformance.md`` groups the reasons). After a deliberate change
(a new map, a new check) rewrite our columns, keeping the explanations, with::

    .venv/bin/python -m tests.x12.test_conformance

and explain every new disagreement it marks ``TODO``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pipeline.errors import X12SyntaxError
from pipeline.x12.reader import read_segments
from pipeline.x12.validate import FileReport, validate_file
from tests.conftest import CORPUS, corpus_rows

VERDICTS = Path(__file__).with_name("conformance_verdicts.tsv")
COLUMNS = ["file", "pyx12_result", "our_verdict", "our_error_rules", "explanation"]
AGREES = {"ACCEPT": {"valid"}, "REJECT": {"invalid", "unreadable"}, "CRASH": set()}


def recorded() -> dict[str, dict[str, str]]:
    with VERDICTS.open(encoding="utf-8", newline="") as fh:
        return {row["file"]: row for row in csv.DictReader(fh, delimiter="\t")}


def ours(report: FileReport) -> tuple[str, str]:
    rules = sorted({p.rule for p in report.errors})
    return report.status, ",".join(rules)


RECORDED = recorded()


def test_every_corpus_file_has_a_recorded_verdict(corpus_dir: Path) -> None:
    assert sorted(RECORDED) == [row["file"] for row in corpus_rows()]
    for row in corpus_rows():
        assert RECORDED[row["file"]]["pyx12_result"] == row["pyx12_pyx12_result"], row["file"]


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_reader_reads_or_refuses_with_one_error(corpus_dir: Path, name: str) -> None:
    try:
        count = sum(1 for _ in read_segments(corpus_dir / name))
    except X12SyntaxError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(str(corpus_dir / name))
    else:
        assert count > 0


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_validate_verdict_equals_recorded(corpus_dir: Path, name: str) -> None:
    report = validate_file(corpus_dir / name)  # must not raise, whatever the file
    row = RECORDED[name]
    assert ours(report) == (row["our_verdict"], row["our_error_rules"])


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_each_disagreement_with_pyx12_is_explained(name: str) -> None:
    row = RECORDED[name]
    if row["our_verdict"] not in AGREES[row["pyx12_result"]]:
        assert row["explanation"].strip() and "TODO" not in row["explanation"], name


def write_verdicts() -> None:
    """Recompute our columns for every corpus file; keep explanations already written."""
    old = recorded() if VERDICTS.exists() else {}
    rows = []
    for row in corpus_rows():
        status, rules = ours(validate_file(CORPUS / row["file"]))
        explanation = old.get(row["file"], {}).get("explanation", "")
        pyx12 = row["pyx12_pyx12_result"]
        if status not in AGREES[pyx12] and not explanation:
            explanation = "TODO"
        rows.append([row["file"], pyx12, status, rules, explanation])
    with VERDICTS.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)


if __name__ == "__main__":
    write_verdicts()
