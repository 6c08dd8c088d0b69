"""Reference data: fee-schedule selection rules and the repo's mapping files."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

from pipeline.reconcile.expected import expect_lines
from pipeline.reconcile.reference import (
    FeeRow,
    FeeSchedule,
    load_code_book,
    load_fee_schedule,
    load_payers,
)
from tests.reconcile import scenario

ROOT = Path(__file__).resolve().parents[2]
D = Decimal
ACTIONS = {
    "patient_responsibility",
    "correct_and_resubmit",
    "appeal",
    "informational",
    "open_negotiation",
}


def test_effective_dating_picks_the_row_in_force() -> None:
    fees = scenario.fee_schedule()
    assert fees.rate("NWH01", "contract", "99214", (), date(2025, 12, 31)) == D("170.30")
    assert fees.rate("NWH01", "contract", "99214", (), date(2026, 1, 1)) == D("340.60")
    assert fees.rate("NWH01", "contract", "99214", (), date(2024, 12, 31)) is None


def test_payer_and_modifier_rows_win_over_generic_ones() -> None:
    start = date(2025, 1, 1)
    fees = FeeSchedule(
        rows=(
            FeeRow("*", "ucr", "73721", "", start, None, D("500")),
            FeeRow("CTS02", "ucr", "73721", "", start, None, D("450")),
            FeeRow("CTS02", "ucr", "73721", "26", start, None, D("90")),
        )
    )
    on = date(2025, 6, 1)
    assert fees.rate("FAB03", "ucr", "73721", (), on) == D("500")
    assert fees.rate("CTS02", "ucr", "73721", (), on) == D("450")
    assert fees.rate("CTS02", "ucr", "73721", ("26",), on) == D("90")


def test_expected_is_rate_times_units_capped_at_the_charge() -> None:
    fees = scenario.fee_schedule()
    payers = scenario.payers()
    claim = {
        "payer_id": "CTS02",
        "place_of_service": "11",
        "emergency": False,
        "service_date_start": date(2025, 3, 1),
        "network_status": "out_of_network",
    }
    lines = [
        {
            "line_control_number": "L1",
            "procedure_code": "99214",
            "units": D("2"),
            "charge_amount": D("900.00"),
            "service_date": date(2025, 3, 1),
        },
        {
            "line_control_number": "L2",
            "procedure_code": "99214",
            "units": D("1"),
            "charge_amount": D("100.00"),
            "service_date": date(2025, 3, 1),
        },
    ]
    got = expect_lines(claim, lines, payers["CTS02"], fees)
    assert (got["L1"].basis, got["L1"].expected_allowed) == ("ucr", D("628.80"))
    assert got["L2"].expected_allowed == D("100.00")  # never more than the charge


def test_a_protected_line_protects_the_whole_visit() -> None:
    fees = scenario.fee_schedule()
    claim = {
        "payer_id": "CTS02",
        "place_of_service": "11",
        "emergency": False,
        "service_date_start": date(2025, 3, 1),
    }
    lines = [
        {
            "line_control_number": "L1",
            "procedure_code": "99284",
            "units": D("1"),
            "charge_amount": D("399"),
            "service_date": date(2025, 3, 1),
        },
        {
            "line_control_number": "L2",
            "procedure_code": "36415",
            "units": D("1"),
            "charge_amount": D("9"),
            "service_date": date(2025, 3, 1),
        },
    ]
    got = expect_lines(claim, lines, scenario.payers()["CTS02"], fees)
    assert {e.basis for e in got.values()} == {"qpa"}
    assert got["L2"].expected_allowed == D("3.75")
    in_net = expect_lines(claim | {"payer_id": "NWH01"}, lines, scenario.payers()["NWH01"], fees)
    assert {e.basis for e in in_net.values()} == {"contract"}


def test_repo_mappings_load() -> None:
    fees = load_fee_schedule(ROOT / "mappings" / "fee_schedules")
    payers = load_payers(ROOT / "mappings" / "payers")
    assert fees.rows and fees.charges
    assert {p.network_status for p in payers.values()} <= {"in_network", "out_of_network"}
    for payer in payers.values():
        assert payer.appeal_window_days > 0 and payer.response_window_days > 0


def test_carc_and_rarc_action_tables_are_consistent() -> None:
    book = load_code_book(ROOT / "mappings" / "codes")
    templates = {
        p.name.split(".")[0].removeprefix("appeal_")
        for p in (ROOT / "mappings" / "templates").glob("appeal_*.html.j2")
    }
    for action in book.carc.values():
        assert action.action in ACTIONS, action
        assert action.description, action
        if action.denial_flag == "denied_appealable":
            assert action.letter in templates, action
        assert action.denial_flag in {"", "denied_appealable", "denied_correctable"}
    with (ROOT / "mappings" / "codes" / "rarc_actions.csv").open() as fh:
        for row in csv.DictReader(fh):
            assert row["action"] in ACTIONS, row
    assert book.carc_action("PR", "45").action == "patient_responsibility"
    assert book.carc_action("CO", "45").action == "informational"
    assert book.rarc_is_nsa("N864") and not book.rarc_is_nsa("N130")
