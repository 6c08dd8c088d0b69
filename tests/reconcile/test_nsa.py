"""No Surprises Act: protection decided from data (one test per case), the in-network cost
sharing limit, case status and next deadline from recorded events, IDR initiation batching."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.ledger.cases import CaseEventRecord
from pipeline.reconcile import reconcile
from pipeline.reconcile.nsa import ClaimFacts, LineFacts, decide_protection
from pipeline.reconcile.nsa_cases import case_state, idr_batches
from pipeline.reconcile.nsa_reference import (
    FacilityNetwork,
    NsaReference,
    StateLaw,
    load_nsa_reference,
)
from tests.reconcile import scenario

D = Decimal
ROOT = Path(__file__).resolve().parents[2]
DOS = date(2026, 11, 2)
IN_FACILITY, OUT_FACILITY = "1582047365", "1111111111"

REF = NsaReference(
    facilities=(
        FacilityNetwork(
            IN_FACILITY, "Lakeview Memorial", "CTS02", "in_network", date(2025, 1, 1), None
        ),
        FacilityNetwork(
            OUT_FACILITY, "Elm Surgery", "CTS02", "out_of_network", date(2025, 1, 1), None
        ),
    ),
    excluded_plans={
        "MB": ("Medicare Part B", "outside the federal NSA"),
        "MC": ("Medicaid", "outside the federal NSA"),
        "CH": ("TRICARE", "outside the federal NSA"),
    },
    ancillary=(
        ("procedure_range", "70010-79999", "radiology"),
        ("modifier", "80", "assistant surgeon"),
        ("taxonomy", "207L00000X", "anesthesiology"),
    ),
    state_laws={
        "IL": StateLaw(
            "IL", "Illinois law", "215 ILCS 5/356z.3a", frozenset({"emergency", "facility"}), False
        ),
        "NJ": StateLaw(
            "NJ", "New Jersey law", "N.J.S.A. 26:2SS", frozenset({"emergency", "facility"}), True
        ),
    },
)


def _facts(**kw: object) -> ClaimFacts:
    base = ClaimFacts(
        payer_id="CTS02",
        in_network_plan=False,
        claim_filing_indicator="CI",
        place_of_service="22",
        emergency=False,
        service_date=DOS,
        facility_npi=IN_FACILITY,
        service_state="IL",
        plan_funding="self_funded",
        plan_state="IL",
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def _line(code: str = "29881", **kw: object) -> LineFacts:
    return replace(LineFacts("L-1", code), **kw)  # type: ignore[arg-type]


def _decide(facts: ClaimFacts, *lines: LineFacts, remarks: frozenset[str] = frozenset()):  # type: ignore[no-untyped-def]
    return decide_protection(facts, list(lines) or [_line()], REF, remarks)["L-1"]


def test_emergency_services_are_protected() -> None:
    got = _decide(_facts(place_of_service="23", emergency=True), _line("99284"))
    assert got.protected and got.category == "emergency"
    # The emergency department visit code alone is enough, wherever it was billed.
    assert _decide(_facts(place_of_service="11", facility_npi=""), _line("99285")).protected


def test_non_emergency_at_an_in_network_facility_is_protected() -> None:
    got = _decide(_facts())
    assert got.protected and got.category == "facility" and "Lakeview Memorial" in got.reason


def test_non_emergency_at_an_out_of_network_facility_is_not() -> None:
    got = _decide(_facts(facility_npi=OUT_FACILITY))
    assert not got.protected and "not in the plan's network" in got.reason


def test_facility_not_on_file_is_presumed_protected() -> None:
    got = _decide(_facts(facility_npi="1999999999"))
    assert got.protected and "not on file" in got.reason


def test_office_services_are_not_protected() -> None:
    assert not _decide(_facts(place_of_service="11", facility_npi=""), _line("99214")).protected


def test_air_ambulance_is_protected_and_federal_only() -> None:
    got = _decide(
        _facts(place_of_service="41", facility_npi="", plan_funding="fully_insured"), _line("A0435")
    )
    assert got.protected and got.category == "air_ambulance" and got.state_law == ""


def test_payer_applied_nsa_remark_protects() -> None:
    got = _decide(
        _facts(place_of_service="11", facility_npi=""),
        _line("99214", remark_codes=("N865",)),
        remarks=frozenset({"N865"}),
    )
    assert got.protected and got.category == "payer"


def test_notice_and_consent_removes_protection_for_the_services_it_lists() -> None:
    facts = _facts(consent_date=date(2026, 10, 20), consent_services=frozenset({"29881"}))
    got = _decide(facts)
    assert not got.protected and "notice-and-consent" in got.reason
    # A service the form does not list stays protected.
    assert _decide(facts, _line("20610")).protected


def test_consent_never_waives_ancillary_services() -> None:
    facts = _facts(consent_date=date(2026, 10, 20), consent_services=frozenset({"73721", "29881"}))
    assert _decide(facts, _line("73721")).protected  # radiology
    assert _decide(facts, _line("29881", modifiers=("80",))).protected  # assistant surgeon
    anesthesia = replace(facts, rendering_taxonomy="207L00000X")
    assert "ancillary" in _decide(anesthesia).reason


def test_consent_signed_after_the_service_does_not_count() -> None:
    facts = _facts(consent_date=date(2026, 11, 3), consent_services=frozenset({"29881"}))
    got = _decide(facts)
    assert got.protected and "signed after the service" in got.reason


def test_consent_cannot_waive_emergency_services() -> None:
    facts = _facts(
        place_of_service="23",
        emergency=True,
        consent_date=date(2026, 10, 1),
        consent_services=frozenset({"99284"}),
    )
    assert _decide(facts, _line("99284")).protected


@pytest.mark.parametrize("indicator", ["MB", "MC", "CH"])
def test_medicare_medicaid_tricare_are_outside_the_federal_nsa(indicator: str) -> None:
    got = _decide(
        _facts(claim_filing_indicator=indicator, place_of_service="23", emergency=True),
        _line("99284"),
    )
    assert not got.protected and "outside the federal NSA" in got.reason


def test_in_network_plan_is_not_an_nsa_case() -> None:
    assert not _decide(_facts(in_network_plan=True)).protected


def test_state_law_applies_to_plans_the_state_regulates() -> None:
    insured = _decide(_facts(plan_funding="fully_insured", plan_state="IL"))
    assert insured.protected and insured.state_law == "Illinois law (215 ILCS 5/356z.3a)"
    # Self-funded (ERISA) plans use the federal process...
    assert _decide(_facts(plan_funding="self_funded")).state_law == ""
    # ...unless the state lets them opt in and the plan did.
    nj = _facts(service_state="NJ", plan_state="NJ", plan_funding="self_funded", state_opt_in=True)
    assert _decide(nj).state_law.startswith("New Jersey law")
    # An insured plan regulated by another state: the service state's law does not reach it.
    assert _decide(_facts(plan_funding="fully_insured", plan_state="CT")).state_law == ""


def test_repo_reference_data_loads() -> None:
    ref = load_nsa_reference(ROOT / "mappings" / "nsa")
    assert ref.policy.offer_basis in ("ucr", "qpa_multiple")
    assert ref.facility_network("1369482058", "CTS02", DOS) == "in_network"
    assert {"MA", "MB", "MC", "CH"} <= set(ref.excluded_plans)
    assert ref.ancillary_category("00142", (), "") == "anesthesiology"
    assert ref.state_laws["IL"].services == {"emergency", "facility"}


@dataclass(frozen=True)
class _E:
    event: str
    on: date
    method: str | None = None
    amount: Decimal | None = None
    reference: str | None = None


RECEIVED = date(2026, 11, 19)  # Thursday before Thanksgiving 2026


def test_case_status_and_next_deadline_from_recorded_events() -> None:
    due = case_state([], RECEIVED, date(2026, 12, 1))
    assert (due.status, due.next_deadline) == ("notice_due", date(2027, 1, 4))
    missed = case_state([], RECEIVED, date(2027, 1, 5))
    assert missed.status == "notice_window_missed" and missed.next_deadline is None
    sent = [_E("notice_sent", date(2026, 11, 23), "email")]
    talking = case_state(sent, RECEIVED, date(2026, 12, 1))
    assert (talking.status, talking.next_deadline) == ("negotiating", date(2027, 1, 6))
    assert "not earlier" in talking.next_step
    window = case_state(sent, RECEIVED, date(2027, 1, 8))
    assert (window.status, window.next_deadline) == ("idr_window_open", date(2027, 1, 12))
    assert case_state(sent, RECEIVED, date(2027, 1, 13)).status == "idr_window_missed"
    idr = [*sent, _E("idr_initiated", date(2027, 1, 11), reference="DISP-1")]
    started = case_state(idr, RECEIVED, date(2027, 1, 11))
    # 3 business days after Mon 2027-01-11: 12, 13, 14.
    assert (started.status, started.next_deadline) == ("idr_initiated", date(2027, 1, 14))
    chosen = case_state(
        [*idr, _E("idr_entity_selected", date(2027, 1, 14))], RECEIVED, date(2027, 1, 15)
    )
    # 10 business days after Thu 01-14 with MLK Day 01-18 skipped: Fri 2027-01-29.
    assert (chosen.status, chosen.next_deadline) == ("idr_entity_selected", date(2027, 1, 29))
    settled = case_state(
        [*sent, _E("settled", date(2026, 12, 20), amount=D("500"))], RECEIVED, date(2027, 1, 2)
    )
    assert settled.status == "settled" and settled.settled_amount == D("500")
    assert case_state([], RECEIVED, date(2026, 12, 1), "Illinois law").status == "state_process"


def test_a_corrected_receipt_date_moves_the_notice_deadline() -> None:
    # A paper check that arrived on Mon 2026-11-30: day 30 is then Tue 2027-01-12.
    corrected = [_E("payment_received", date(2026, 11, 30))]
    state = case_state(corrected, RECEIVED, date(2026, 12, 1))
    assert (state.received_on, state.next_deadline) == (date(2026, 11, 30), date(2027, 1, 12))


def test_recorded_notice_drives_the_flag_deadline_and_the_idr_rows() -> None:
    events = [
        _Ev("B4", "nsa", "notice_sent", date(2025, 11, 24), "mail"),
        _Ev("B3", "nsa", "notice_sent", date(2025, 11, 24), "email"),
    ]
    result = reconcile(
        scenario.remittance().tables(),
        scenario.submitted(),
        scenario.fee_schedule(),
        scenario.payers(),
        as_of=date(2026, 1, 8),
        eligibility=scenario.eligibility(),
        codes=scenario.codes(),
        nsa_reference=scenario.nsa_reference(),
        practice={"name": "Demo", "npi": "1234567893", "tax_id": "123456789", "state": "NY"},
        case_events=events,
    )
    flags = result.tables["flags"]
    b4 = flags[(flags.patient_control_number == "B4") & (flags.flag == "payment_dispute")].iloc[0]
    # Notice Mon 2025-11-24: Thanksgiving, Christmas, New Year's Day skipped → day 30 is
    # Wed 2026-01-07; IDR window Thu 01-08 to Tue 01-13.
    assert b4.deadline == date(2026, 1, 13)
    cases = result.tables["nsa_cases"].set_index("patient_control_number")
    assert cases.loc["B4", "status"] == "idr_window_open"
    assert cases.loc["B4", "negotiation_end"] == date(2026, 1, 7)
    assert cases.loc["B6", "status"] == "notice_window_missed"  # no notice by 2026-01-05
    idr = result.tables["idr_initiation"]
    assert set(idr.patient_account_number) == {"B3", "B4"}
    # Same provider, plan, code 99284, emergency, same window: one batched dispute.
    assert set(idr.dispute_type) == {"batched"} and idr.batch_id.nunique() == 1
    assert set(idr.status) == {"ready"} and set(idr.idr_window_end) == {date(2026, 1, 13)}
    assert set(idr.qpa_amount) == {D("166.25")}


def _Ev(pcn: str, kind: str, event: str, on: date, method: str | None = None) -> CaseEventRecord:
    """A ledger event as ``Ledger.case_events()`` returns it."""
    return CaseEventRecord(
        0,
        f"{pcn}-{kind}",
        pcn,
        kind,
        event,
        on,
        method,
        None,
        None,
        None,
        None,
        datetime(2026, 1, 1, tzinfo=UTC),
    )


def _item(code: str, dos: date, window: date, payer: str = "CTS02") -> dict[str, object]:
    return {
        "initiating_party_tin": "463871520",
        "non_initiating_party_payer_id": payer,
        "service_code": code,
        "item_service_type": "emergency services",
        "idr_window_start": window,
        "idr_window_end": window,
        "service_date": dos,
    }


def test_idr_batching_follows_the_rules() -> None:
    w = date(2027, 2, 24)
    rows = idr_batches(
        [
            _item("99284", date(2026, 11, 2), w),
            _item("99284", date(2026, 12, 11), w),  # business day 28 from 11-02: same period
            _item("99284", date(2026, 12, 16), w),  # day 31: a new period
            _item("99285", date(2026, 11, 2), w),  # another service code
            _item("99284", date(2026, 11, 2), w, payer="FAB03"),  # another plan
            _item("99284", date(2026, 11, 3), date(2027, 3, 2)),  # another IDR window
        ]
    )
    batches: dict[str, list[date]] = {}
    for r in rows:
        batches.setdefault(str(r["batch_id"]), []).append(r["service_date"])  # type: ignore[arg-type]
    assert sorted(len(v) for v in batches.values()) == [1, 1, 1, 1, 2]
    assert [r["dispute_type"] for r in rows].count("batched") == 2
