"""Adjudication arithmetic, fee look-ups and plan designs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.clearinghouse.adjudicate import _cost_share
from pipeline.clearinghouse.emit import amount
from pipeline.clearinghouse.fees import FeeSchedule
from pipeline.clearinghouse.members import Met
from pipeline.clearinghouse.plans import Tier, load_plans
from pipeline.errors import ConfigError

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
D = Decimal


def test_deductible_then_coinsurance_then_oop_cap() -> None:
    tier = Tier(deductible=D("500"), oop_max=D("1000"), coinsurance=D("0.2"))
    met = Met(D("400"), D("900"))
    copay, deductible, coinsurance = _cost_share(D("300"), "20610", tier, met)
    # 100 deductible left, 20 % of 200 = 40, but only 100 of OOP room: coinsurance cut to 0
    assert (copay, deductible, coinsurance) == (D("0"), D("100"), D("0"))
    assert met.deductible == D("500") and met.oop == D("1000")
    assert _cost_share(D("300"), "20610", tier, met) == (D("0"), D("0"), D("0"))


def test_copay_only_for_office_visits() -> None:
    tier = Tier(
        deductible=D("500"), oop_max=D("5000"), coinsurance=D("0.2"), office_visit_copay=D("30")
    )
    met = Met(D("0"), D("0"))
    assert _cost_share(D("124.20"), "99213", tier, met) == (D("30"), D("0"), D("0"))
    assert _cost_share(D("20"), "99212", tier, met) == (D("20"), D("0"), D("0"))  # copay <= allowed
    assert _cost_share(D("100"), "20610", tier, met) == (D("0"), D("100"), D("0"))


def test_fee_schedule_periods_payers_and_previous_rate() -> None:
    fees = FeeSchedule.load(MAPPINGS / "fee_schedules")
    assert fees.rate("NWH01", "contract", "99213", (), date(2026, 3, 1)) == D("124.20")
    assert fees.rate("NWH01", "contract", "99213", (), date(2025, 3, 1)) == D("119.60")
    assert fees.previous_rate("NWH01", "contract", "99213", (), date(2026, 3, 1)) == D("119.60")
    assert fees.previous_rate("WGH04", "contract", "99213", (), date(2026, 3, 1)) is None
    assert fees.rate("CTS02", "ucr", "99213", (), date(2026, 3, 1)) == D("220.80")  # the * row
    assert fees.rate("CTS02", "qpa", "99285", (), date(2026, 3, 1)) == D("245.00")
    assert fees.rate("CTS02", "contract", "99213", (), date(2026, 3, 1)) is None
    assert fees.knows("99213") and not fees.knows("99999")


def test_plans_join_payer_profiles() -> None:
    plans = load_plans(MAPPINGS)
    assert set(plans) == {"NWH01", "WGH04", "CTS02", "FAB03", "TSP05"}
    assert plans["NWH01"].in_network_payer and not plans["CTS02"].in_network_payer
    assert (
        not plans["TSP05"].out_of_network.covered and plans["TSP05"].out_of_network.emergency_only
    )
    assert "29881" in plans["CTS02"].prior_auth_procedures  # from mappings/payers
    assert plans["CTS02"].payment.method == "CHK" and plans["NWH01"].payment.method == "ACH"


def test_a_broken_plan_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "plans").mkdir()
    (tmp_path / "payers").mkdir()
    (tmp_path / "plans" / "X.yaml").write_text("payer_id: X\nin_network: {deductible: lots}\n")
    (tmp_path / "payers" / "X.yaml").write_text("payer_id: X\nname: X PLAN\n")
    with pytest.raises(ConfigError, match="deductible"):
        load_plans(tmp_path)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("150.00", "150"),
        ("12.50", "12.5"),
        ("-0.58", "-0.58"),
        ("0.00", "0"),
        ("-0", "0"),
        ("3", "3"),
    ],
)
def test_x12_amounts(value: str, text: str) -> None:
    assert amount(D(value)) == text


def test_a_scratch_copy_reads_its_parent_and_never_writes_back(tmp_path: Path) -> None:
    from pipeline.clearinghouse.members import Accumulators

    plan = load_plans(MAPPINGS)["NWH01"]
    parent = Accumulators(tmp_path / "acc.json", seed=7)
    known = parent.get(plan, "m1", 2026, "in")
    known.deductible += D("50")  # spent earlier in the year
    before = {k: (v.deductible, v.oop) for k, v in parent.values.items()}
    scratch = parent.scratch()
    seen = scratch.get(plan, "M1", 2026, "in")
    assert (seen.deductible, seen.oop) == before["NWH01|M1|2026|in"] and seen is not known
    seen.deductible += D("10")
    fresh = scratch.get(plan, "m2", 2026, "oon")  # not in the parent: made as the parent would
    other = Accumulators(tmp_path / "other.json", seed=7).get(plan, "m2", 2026, "oon")
    assert (fresh.deductible, fresh.oop) == (other.deductible, other.oop)
    assert "NWH01|M2|2026|oon" not in parent.values
    assert {k: (v.deductible, v.oop) for k, v in parent.values.items()} == before
    scratch.save()
    assert not (tmp_path / "acc.json").exists()
