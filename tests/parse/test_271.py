"""271 benefits and per-member summaries on files built here."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pandas as pd

from pipeline.parse import parse_file
from tests.parse.x12build import Member, build_271


def _parse(tmp_path: Path, members: list[Member], **kwargs: object) -> dict[str, pd.DataFrame]:
    path = tmp_path / "elig.271"
    path.write_text(build_271(members, **kwargs), encoding="ascii")  # type: ignore[arg-type]
    result = parse_file(path)
    assert result.transaction == "271"
    return result.tables


def test_in_and_out_of_network_summary_with_precedence(tmp_path: Path) -> None:
    member = Member(
        "DOE",
        "JANE",
        "M1",
        "T-1",
        benefits=[
            ["1", "IND", "30", "PS", "POS PLAN"],
            ["C", "IND", "30", None, None, "23", "1000", None, None, None, None, "W"],  # W: both
            [
                "C",
                "IND",
                "30",
                None,
                None,
                "23",
                "2000",
                None,
                None,
                None,
                None,
                "N",
            ],  # exact N wins
            ["C", "IND", "30", None, None, "29", "700", None, None, None, None, "W"],
            [
                "C",
                "FAM",
                "30",
                None,
                None,
                "29",
                "300",
                None,
                None,
                None,
                None,
                "W",
            ],  # family embedded
            [
                "C",
                "IND",
                None,
                None,
                None,
                "29",
                "50",
                None,
                None,
                None,
                None,
                "Y",
            ],  # no STC: loses to 30
            ["G", "IND", "30", None, None, "22", "5000", None, None, None, None, "Y"],
            [
                "G",
                "IND",
                "30",
                None,
                None,
                "24",
                "1200",
                None,
                None,
                None,
                None,
                "Y",
            ],  # met -> remaining
            ["A", "IND", "30", None, None, None, None, "0.1", None, None, None, "Y"],
            [
                "A",
                "IND",
                "98",
                None,
                None,
                None,
                None,
                "0.3",
                None,
                None,
                None,
                "W",
            ],  # 98 beats exact net
            ["B", "IND", "98", None, None, "27", "35", None, None, None, "Y", "Y"],
            ["MSG", "PRIOR AUTH FOR OFFICE SURGERY"],
        ],
    )
    tables = _parse(tmp_path, [member])
    s = tables["eligibility_summary"].iloc[0]
    assert s["coverage_status"] == "active" and s["plan_description"] == "POS PLAN"
    assert s["trace_number"] == "T-1" and s["member_id"] == "M1"
    assert s["in_network_deductible"] == D("1000") and s["out_of_network_deductible"] == D("2000")
    assert s["in_network_deductible_remaining"] == D(
        "300"
    )  # min(IND 700, FAM 300); 30 beats no-STC
    assert s["out_of_network_deductible_remaining"] == D("300")
    assert s["in_network_oop_max"] == D("5000") and s["in_network_oop_remaining"] == D("3800")
    assert s["out_of_network_oop_max"] is None and s["out_of_network_oop_remaining"] is None
    assert s["in_network_coinsurance"] == D("0.3") and s["out_of_network_coinsurance"] == D("0.3")
    assert s["office_visit_copay"] == D("35") and s["prior_auth_required"] is True
    benefits = tables["eligibility_benefits"]
    assert len(benefits) == 11
    assert benefits.iloc[10]["messages"] == "PRIOR AUTH FOR OFFICE SURGERY"
    assert (
        benefits.iloc[10]["authorization_required"] == "Y"
        and benefits.iloc[10]["in_network"] == "Y"
    )


def test_repeated_service_types_kept_in_one_row(tmp_path: Path) -> None:
    member = Member("DOE", "JANE", "M1", "T-1", benefits=[["1", "IND", ["30", "1", "33", "98"]]])
    benefits = _parse(tmp_path, [member])["eligibility_benefits"]
    assert benefits["service_types"].tolist() == ["30,1,33,98"]


def test_rejected_inactive_and_dependent_members(tmp_path: Path) -> None:
    rejected = Member("NOTFOUND", "NED", "X1", "T-2", rejects=[("N", "72", "C")])
    inactive = Member("GONE", "GAIL", "X2", "T-3", benefits=[["6", "IND", "30"]])
    parent = Member(
        "PARENT",
        "PAT",
        "X3",
        "T-4",
        dependents=[
            Member("CHILD", "CAL", "", "T-5", benefits=[["1", "IND", "30", None, "FAMILY PLAN"]])
        ],
    )
    item_reject = Member(
        "ITEM", "IVY", "X4", "T-6", benefits=[["1", "IND", "30"], ["AAA", "Y", "33", "C"]]
    )
    summary = _parse(tmp_path, [rejected, inactive, parent, item_reject])["eligibility_summary"]
    rows = {r["trace_number"]: r for _, r in summary.iterrows()}
    assert set(rows) == {
        "T-2",
        "T-3",
        "T-5",
        "T-6",
    }  # a subscriber answered only via dependents is not a row
    assert rows["T-2"]["coverage_status"] == "rejected"
    assert rows["T-2"]["reject_reason"] == "Invalid/missing subscriber/insured ID"
    assert rows["T-2"]["follow_up_action"] == "Please correct and resubmit"
    assert rows["T-3"]["coverage_status"] == "inactive"
    assert rows["T-5"]["member_id"] == "X3" and rows["T-5"]["last_name"] == "CHILD"
    assert (
        rows["T-5"]["coverage_status"] == "active"
        and rows["T-5"]["plan_description"] == "FAMILY PLAN"
    )
    assert rows["T-6"]["coverage_status"] == "active"  # AAA on one inquiry item only


def test_payer_level_rejection_without_members(tmp_path: Path) -> None:
    summary = _parse(tmp_path, [], source_rejects=[("N", "42", "R")])["eligibility_summary"]
    assert len(summary) == 1
    row = summary.iloc[0]
    assert (row["coverage_status"], row["reject_reason_code"]) == ("rejected", "42")
    assert row["reject_reason"] == "Unable to respond at current time"
    assert row["follow_up_action"] == "Resubmission allowed"


def test_payer_level_rejection_applies_to_members(tmp_path: Path) -> None:
    member = Member("DOE", "JANE", "M1", "T-1")
    summary = _parse(tmp_path, [member], source_rejects=[("N", "79", "N")])["eligibility_summary"]
    assert summary["coverage_status"].tolist() == ["rejected"]
    assert summary["reject_reason_code"].tolist() == ["79"]
