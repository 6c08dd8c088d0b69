"""``claimflow parse`` and ``claimflow validate`` check envelopes and 835 balancing with one
implementation each: the same broken file gives the same faults, by the same names, at the
same positions, with the same expected and actual values."""

from __future__ import annotations

from pathlib import Path

from pipeline.parse import parse_file
from pipeline.x12.validate import validate_file

SAMPLE = Path(__file__).resolve().parents[2] / "sample_edi" / "x12" / "remit_oon.835"


def _broken(tmp_path: Path) -> Path:
    text = SAMPLE.read_text(encoding="ascii")
    text = text.replace("CLP*PCN1001*1*250*119*", "CLP*PCN1001*1*250*120*", 1)  # claim + payment
    text = text.replace("SVC*HC:36415*50*14~", "SVC*HC:36415*50*15~", 1)  # line
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith(("SE*", "GE*", "IEA*")):
            tag, count, control = line.rstrip("~\r\n").split("*")
            lines[i] = f"{tag}*{int(count) + 1}*{control}X~\n"  # wrong count and control number
    path = tmp_path / "broken.835"
    path.write_text("".join(lines), encoding="ascii")
    return path


def _faults(problems: list[dict[str, object]]) -> set[tuple[object, ...]]:
    return {
        (p["rule"], p["segment_number"], p["segment_id"], p["element"], p["expected"], p["actual"])
        for p in problems
    }


def test_parse_and_validate_report_the_same_faults(tmp_path: Path) -> None:
    path = _broken(tmp_path)
    validated = _faults([p.row() for p in validate_file(path, ig=False).problems])
    parsed = _faults(parse_file(path).problems.to_dict("records"))
    rules = {fault[0] for fault in validated}
    assert {"se_count", "se_control", "ge_count", "ge_control", "iea_count", "iea_control"} <= rules
    assert {"line_balance", "claim_balance", "transaction_balance"} <= rules
    assert validated == parsed - {f for f in parsed if f[0] == "patient_responsibility"}
