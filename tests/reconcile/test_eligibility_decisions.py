"""The 271 in reconciliation: CO-96/N130 routed by it, estimates by service type (office-visit
copay rule), out-of-network-not-covered estimates, dependents' own ids, good-faith estimates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipeline.build.service_types import ServiceTypeMap, load_service_types
from pipeline.reconcile import ReconcileResult, Thresholds, reconcile, submitted_from_records
from pipeline.reconcile.eligibility_rows import EligibilityRows
from pipeline.reconcile.estimates import patient_estimates
from pipeline.reconcile.inputs import ELIGIBILITY_SUMMARY
from pipeline.reconcile.noncovered import route_non_covered
from pipeline.reconcile.reference import PayerProfile
from tests.reconcile import scenario
from tests.reconcile.remit_builder import Line, RemitBuilder

D = Decimal
ROOT = Path(__file__).resolve().parents[2]
DOS = date(2025, 11, 3)
PAID_ON = date(2025, 11, 20)


@pytest.fixture(scope="module")
def types() -> ServiceTypeMap:
    return load_service_types(ROOT / "mappings")


def _payers() -> dict[str, PayerProfile]:
    payers = dict(scenario.payers())
    payers["TSP05"] = PayerProfile("TSP05", "TAILSPIN EPO", "out_of_network", 180, 180, 30)
    return payers


def _claim(pcn: str, code: str, *, pos: str = "11", emergency: bool = False, auth: str = ""):
    charge = D(scenario.RATES[code][3])
    claim = {
        "patient_control_number": pcn, "payer_id": "TSP05", "network_status": "out_of_network",
        "place_of_service": pos, "emergency": emergency, "frequency_code": "1",
        "service_date_start": DOS, "service_date_end": DOS, "charge_amount": charge,
        "aob": True, "submitted_date": date(2025, 11, 5), "patient_name": f"Pat {pcn}",
        "member_id": "EPO1" if pcn != "C9" else "PPO9", "diagnosis_codes": "M1711",
        "prior_auth_number": auth, "clinical_notes": "", "ledger_state": "",
    }  # fmt: skip
    line = {
        "patient_control_number": pcn, "line_control_number": f"{pcn}-1", "line_number": 1,
        "procedure_code": code, "modifiers": "", "units": D(1), "charge_amount": charge,
        "service_date": DOS,
    }  # fmt: skip
    return claim, line


def _summary(member: str, out_of_network: str) -> dict[str, Any]:
    return {
        "trace_number": f"T-{member}", "member_id": member, "coverage_status": "active",
        "in_network_coverage": "covered", "out_of_network_coverage": out_of_network,
    }  # fmt: skip


def test_co96_routed_by_the_271(types: ServiceTypeMap) -> None:
    cases = [
        _claim("C1", "99214"),  # office visit, EPO without OON benefit: bill the patient
        _claim("C2", "99284", pos="23", emergency=True),  # emergency: the NSA owes it
        _claim("C3", "20610", pos="22"),  # participating facility: NSA
        _claim("C4", "99214", auth="GAP77"),  # the plan authorized it: network-gap exception
        _claim("C9", "99214"),  # a plan whose 271 showed OON benefits: coverage disputed
    ]
    remit = RemitBuilder()
    remit.payment("CHK9", PAID_ON, "TSP05")
    for claim, line in cases:
        charge = str(line["charge_amount"])
        remit.claim(
            "CHK9", claim["patient_control_number"],
            [Line(line["line_control_number"], line["procedure_code"], charge, "0", "0",
                  [("CO", "96", charge)], remarks="N130")],
            status="4", service_date=DOS, member_id=claim["member_id"],
        )  # fmt: skip
    # amounts as the ledger keeps them (text)
    elig = pd.DataFrame([_summary("EPO1", "not_covered"), _summary("PPO9", "covered")])
    elig["in_network_deductible_remaining"] = ["100.00", "0"]
    given = elig.copy()
    result = reconcile(
        remit.tables(),
        submitted_from_records([c for c, _ in cases], [ln for _, ln in cases]),
        scenario.fee_schedule(),
        _payers(),
        as_of=date(2025, 12, 15),
        eligibility=elig,
        codes=scenario.codes(),
        thresholds=Thresholds(D("5.00"), D("3")),
    )
    pd.testing.assert_frame_equal(elig, given)  # the caller's frame is left as it was
    exported = result.tables["eligibility_summary"]
    assert exported["in_network_deductible_remaining"].tolist() == [D("100.00"), D("0")]
    absent = [c for c in ELIGIBILITY_SUMMARY if c not in elig.columns]
    assert list(exported.columns) == [*elig.columns, *absent] and absent  # added, empty
    assert exported[absent].isna().all().all()
    flags = {
        f["patient_control_number"]: f
        for f in result.tables["flags"].to_dict("records")
        if f["carc"] == "96"
    }
    assert flags["C1"]["flag"] == "patient_responsibility"
    assert flags["C1"]["action"].startswith("Bill the patient with notice")
    assert flags["C1"]["letter"] == ""
    for pcn, words in (("C2", "emergency"), ("C3", "participating facility"), ("C4", "GAP77")):
        assert flags[pcn]["flag"] == "denied_appealable" and words in flags[pcn]["action"]
        assert flags[pcn]["letter"] == "reconsideration"
    assert flags["C9"]["flag"] == "denied_appealable" and "271 shows" in flags["C9"]["action"]
    worklist = set(result.tables["appeal_worklist"]["patient_control_number"])
    assert "C1" not in worklist and {"C2", "C3", "C4", "C9"} <= worklist


def test_no_271_keeps_the_carc_action() -> None:
    kwargs: dict[str, Any] = {
        "network_status": "out_of_network", "emergency": False, "places_of_service": ["11"],
        "procedure_codes": ["99214"], "prior_auth_number": "",
    }  # fmt: skip
    assert route_non_covered("96", (), eligibility=None, **kwargs) is None
    silent = {"coverage_status": "active", "out_of_network_coverage": ""}
    assert route_non_covered("96", (), eligibility=silent, **kwargs) is None
    said = {"out_of_network_coverage": "not_covered"}
    assert route_non_covered("50", (), eligibility=said, **kwargs) is None  # not a 96 / N130
    routed = route_non_covered("204", ("N130",), eligibility=said, **kwargs)
    assert routed is not None and routed.flag == "patient_responsibility"


def _estimates(
    appointments: list[dict[str, Any]], eligibility: list[dict[str, Any]], types: ServiceTypeMap
) -> dict[str, dict[str, Any]]:
    on_file = pd.DataFrame(eligibility)
    frame = patient_estimates(
        pd.DataFrame(appointments), on_file, scenario.fee_schedule(), _payers(), types,
    )  # fmt: skip
    # reconcile hands the estimates read-only views of the rows: the same estimates
    viewed = patient_estimates(
        pd.DataFrame(appointments), on_file, scenario.fee_schedule(), _payers(), types,
        eligibility_rows=EligibilityRows(on_file),
    )  # fmt: skip
    pd.testing.assert_frame_equal(viewed, frame)
    return {r["appointment_id"]: r for r in frame.to_dict("records")}


def _appointment(aid: str, payer: str, codes: str, **more: Any) -> dict[str, Any]:
    return {
        "appointment_id": aid, "patient_id": more.pop("patient", "P1"),
        "member_id": more.pop("member", "MIN"), "payer_id": payer,
        "appointment_date": date(2025, 12, 16), "place_of_service": more.pop("pos", "11"),
        "procedure_codes": codes, "emergency": False,
    }  # fmt: skip


IN_NETWORK = {
    "trace_number": "T1", "member_id": "MIN", "coverage_status": "active",
    "in_network_deductible_remaining": D("100.00"), "in_network_oop_remaining": D("3000.00"),
    "in_network_coinsurance": D("0.2"), "in_network_coverage": "covered",
    "in_network_copays": "98=25.00 86=100.00", "out_of_network_coverage": "covered",
}  # fmt: skip


def test_copay_for_the_visit_deductible_and_coinsurance_for_the_procedure(
    types: ServiceTypeMap,
) -> None:
    got = _estimates([_appointment("V1", "NWH01", "99214 20610")], [IN_NETWORK], types)["V1"]
    # contract 170.30 (visit, service type 98: copay 25) + 85.80 (20610, surgical: deductible
    # 100 takes all of it, nothing left for coinsurance)
    visit, injection = D("170.30"), D("85.80")
    assert got["allowed_amount"] == visit + injection
    assert (got["copay"], got["copay_service_types"]) == (D("25.00"), "98")
    assert (got["deductible_applied"], got["coinsurance_amount"]) == (injection, D(0))
    assert got["patient_cost_share"] == D("25.00") + injection
    assert got["plan_payment"] == visit + injection - D("25.00") - injection
    # a procedure only: deductible 100 then 20 % of the rest, no copay
    mri = _estimates([_appointment("V2", "NWH01", "73721")], [IN_NETWORK], types)["V2"]
    assert (mri["copay"], mri["deductible_applied"]) == (D(0), D("100.00"))
    assert mri["coinsurance_amount"] == D("35.90")  # (279.50 - 100) * 0.2
    assert mri["patient_cost_share"] == D("135.90")


def test_out_of_network_not_covered_is_the_full_charge_with_a_warning(
    types: ServiceTypeMap,
) -> None:
    epo = IN_NETWORK | {"member_id": "EPO1", "out_of_network_coverage": "not_covered"}
    got = _estimates([_appointment("V3", "TSP05", "99214", member="EPO1")], [epo], types)["V3"]
    assert got["plan_payment"] == D(0)
    assert got["estimated_patient_total"] == got["charge_amount"] == D("393.00")
    assert got["note"].startswith("warning: the plan has no out-of-network benefit")
    # at a participating facility the No Surprises Act applies: in-network cost sharing on
    # the QPA (CTS02 has QPA rates in this fee schedule), whatever the plan's OON benefit
    nsa = _estimates([_appointment("V4", "CTS02", "20610", member="EPO1", pos="22")], [epo], types)[
        "V4"
    ]
    assert (nsa["nsa_protected"], nsa["basis"], nsa["allowed_amount"]) == (True, "qpa", D("82.50"))
    assert nsa["deductible_applied"] == D("82.50") and nsa["plan_payment"] == D(0)
    assert nsa["note"].startswith("No Surprises Act")
    assert (
        nsa["estimated_patient_total"] == D("82.50") < nsa["charge_amount"]
    )  # not the full charge


def test_the_271_of_the_patient_payer_and_date_is_joined(types: ServiceTypeMap) -> None:
    # a subscriber and a dependent share a member id: the patient decides, not the id
    rows = [
        IN_NETWORK | {"patient_id": "P1", "payer_id": "NWH01", "service_date": date(2025, 12, 16),
                      "trace_number": "OWN", "in_network_copays": "98=10.00"},
        IN_NETWORK | {"patient_id": "P2", "payer_id": "NWH01", "service_date": date(2025, 12, 16),
                      "trace_number": "SPOUSE", "coverage_status": "inactive"},
        IN_NETWORK | {"patient_id": "P1", "payer_id": "NWH01", "service_date": date(2025, 11, 1),
                      "trace_number": "OLDER", "in_network_copays": "98=99.00"},
    ]  # fmt: skip
    got = _estimates(
        [_appointment("V5", "NWH01", "99214", patient="P1"),
         _appointment("V6", "NWH01", "99214", patient="P2"),
         _appointment("V7", "NWH01", "99214", patient="P9", member="MIN")],
        rows, types,
    )  # fmt: skip
    assert (got["V5"]["trace_number"], got["V5"]["copay"]) == ("OWN", D("10.00"))
    assert got["V6"]["coverage_status"] == "inactive"
    assert got["V7"]["trace_number"] == "OLDER"  # no row for P9: the member id's last answer


def test_a_dependent_with_an_own_member_id_is_estimated_under_it() -> None:
    from pipeline.practice import load_practice
    from pipeline.reconcile.inputs import appointments_from_practice

    practice = load_practice(ROOT / "sample_edi" / "practice").practice
    frame = appointments_from_practice(practice)
    own = {
        c.patient_id: c.patient_member_id
        for c in practice.coverages
        if c.priority == "P" and c.patient_member_id
    }
    rows = frame[frame["patient_id"].isin(own)].to_dict("records")
    assert rows, "the demo has dependents with ids of their own and appointments"
    assert all(r["member_id"] == own[r["patient_id"]] for r in rows)


def test_good_faith_estimate_documents(tmp_path: Path, result: ReconcileResult) -> None:
    from pipeline.export.estimates import render_estimates

    paths = render_estimates(
        result, tmp_path, fees=scenario.fee_schedule(), issued=date(2025, 12, 15),
        templates=ROOT / "mappings" / "templates",
    )  # fmt: skip
    names = sorted(p.name for p in paths)
    assert names == sorted(f"GFE-AP{n}.{ext}" for n in range(1, 5) for ext in ("html", "md"))
    md = (tmp_path / "GFE-AP1.md").read_text(encoding="utf-8")
    ap1 = next(r for r in result.tables["patient_estimates"].to_dict("records")
               if r["appointment_id"] == "AP1")  # fmt: skip
    assert "# Good Faith Estimate" in md and "December 15, 2025" in md
    assert f"| You may owe | ${ap1['estimated_patient_total']:,.2f} |" in md
    assert "$400.00" in md and "120 calendar days" in md
    html = (tmp_path / "GFE-AP4.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and 'class="warning"' in html  # inactive
    assert "$393.00" in html
