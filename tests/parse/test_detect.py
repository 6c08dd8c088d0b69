"""Auto-detection by GS01/ST01/TA1, and files parse refuses."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from pipeline.errors import X12SyntaxError
from pipeline.parse import detect_file, parse_file, transaction_kind
from tests.parse.make_samples import SAMPLES
from tests.parse.x12build import Claim, Payment, build_835, build_ta1


@pytest.mark.parametrize(
    ("name", "kind"),
    [("remit_oon.835", "835"), ("eligibility.271", "271"), ("ack_partial.999", "999"),
     ("interchange_ack.ta1", "TA1"), ("claim_ack.277", "277CA")],
)  # fmt: skip
def test_detect_samples(name: str, kind: str) -> None:
    assert detect_file(SAMPLES / name) == kind
    assert parse_file(SAMPLES / name).transaction == kind


def test_transaction_kind_falls_back_to_gs01() -> None:
    assert transaction_kind("835") == "835" and transaction_kind("277", "HN") == "277CA"
    assert transaction_kind("8X5", "HP") == "835"
    assert transaction_kind("837", "HC") is None


def test_file_without_return_transactions_is_refused(tmp_path: Path) -> None:
    text = build_835([Payment(D("1"), "T", [Claim("P", "1", D("1"), D("1"), D("0"))])])
    path = tmp_path / "claims.837"
    path.write_text(text.replace("ST*835*", "ST*837*").replace("*HP*", "*HC*"), encoding="ascii")
    with pytest.raises(X12SyntaxError, match="no 835, 271, 999, 277CA or TA1 in file"):
        parse_file(path)
    with pytest.raises(X12SyntaxError, match="found ST01 '837'"):
        detect_file(path)


def test_mixed_file_keeps_supported_sets_and_reports_the_others(tmp_path: Path) -> None:
    remit = build_835([Payment(D("1"), "T", [Claim("P", "1", D("1"), D("1"), D("0"))])])
    other = remit.replace("ST*835*", "ST*837*")
    path = tmp_path / "mixed.x12"
    path.write_text(remit + other + build_ta1([("000000009", "A", "000")]), encoding="ascii")
    result = parse_file(path)
    assert result.transactions == ("835", "TA1")
    assert len(result.tables["remit_claims"]) == 1
    assert "unsupported_transaction" in set(result.problems["rule"])
