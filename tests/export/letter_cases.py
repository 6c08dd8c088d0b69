"""Two claims per appeal kind, with the facts letters print (independent of the simulator).

Payment on Thu 2025-11-20, as of 2025-12-15 (the same calendar as tests/reconcile/scenario).
``CASES`` says which letter each claim must produce and what it must (not) say.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd

from pipeline.reconcile import ReconcileResult, Thresholds, reconcile, submitted_from_records
from pipeline.reconcile.reference import PayerProfile
from tests.reconcile import scenario
from tests.reconcile.remit_builder import Line, RemitBuilder

D = Decimal
PAID_ON = scenario.PAID_ON
DOS = scenario.DOS
PRACTICE = {
    "name": "Lakeside Spine PLLC",
    "npi": "1749263855",
    "tax_id": "463871520",
    "address": "1200 Lakeshore Dr Ste 300, Chicago, IL 60611-1234",
    "phone": "(312) 555-0142",
    "contact": "Dana Whitfield",
    "state": "IL",
}
ADDRESSES = {
    "default": {
        "attention": "Provider Appeals Unit",
        "line1": "PO Box 7300",
        "city": "Hartford",
        "state": "CT",
        "zip": "06102",
        "fax": "(860) 555-0190",
    },
    "medical_necessity": {
        "attention": "Clinical Appeals Unit",
        "line1": "PO Box 7310",
        "city": "Hartford",
        "state": "CT",
        "zip": "06102",
    },
    "nsa_open_negotiation": {
        "attention": "No Surprises Act Open Negotiation",
        "line1": "PO Box 7350",
        "city": "Hartford",
        "state": "CT",
        "zip": "06102",
        "email": "nsa@contoso.example",
    },
}
IN_NETWORK_ADDRESS = {
    "default": {
        "attention": "Provider Reconsiderations",
        "line1": "PO Box 1010",
        "city": "Hartford",
        "state": "CT",
        "zip": "06101",
    },
}

# pcn: (kind, notes, attachments, pwk, authorized representative, aob)
CASES: dict[str, tuple[str, str, str, str, str, bool]] = {
    "U1": ("underpayment", "", "", "", "", True),
    "U2": ("underpayment", "", "", "", "2025-01-15", True),
    "C1": ("coding_bundling", "", "operative report", "AC1001", "", True),
    "C2": ("coding_bundling", "", "", "", "", True),
    "M1": (
        "medical_necessity",
        "Knee locking for 6 weeks; failed physical therapy.",
        "MRI report|clinic note",
        "AC2001",
        "2025-02-01",
        True,
    ),
    "M2": ("medical_necessity", "", "", "", "", False),
    "P1": ("prior_auth", "Acute tear, surgery within 48 hours.", "operative report", "", "", True),
    "P2": ("prior_auth", "", "", "", "", True),
    "T1": ("timely_filing", "", "", "", "", True),
    "T2": ("timely_filing", "", "", "", "2025-03-03", True),
    "R1": ("reconsideration", "Seen at the plan's request.", "", "", "", True),
    "R2": ("reconsideration", "", "", "", "", True),
    "N1": ("nsa", "", "", "", "", True),
    "N2": ("nsa", "", "", "", "", True),
    "O2": ("nsa_open_negotiation", "", "", "", "", True),
}
# N1 (emergency allowed at the QPA, PR-45 on the patient) also gets an open negotiation notice.
NOTICES = ("N1", "O2")

_CLAIMS: list[dict[str, Any]] = []
_LINES: list[dict[str, Any]] = []


def _submit(
    pcn: str,
    payer: str,
    lines: list[tuple[str, str]],
    *,
    pos: str = "11",
    emergency: bool = False,
    facility: str = "",
    auth: str = "",
) -> None:
    _kind, notes, attachments, pwk, rep, aob = CASES.get(pcn, ("", "", "", "", "", True))
    charge = D(0)
    for n, (code, mods) in enumerate(lines, start=1):
        amount = D(scenario.RATES[code][3])
        charge += amount
        _LINES.append(
            {
                "patient_control_number": pcn,
                "line_control_number": f"{pcn}-{n}",
                "line_number": n,
                "procedure_code": code,
                "modifiers": mods,
                "units": D(1),
                "charge_amount": amount,
                "service_date": DOS,
            }
        )
    _CLAIMS.append(
        {
            "patient_control_number": pcn,
            "payer_id": payer,
            "network_status": "in_network" if payer == "NWH01" else "out_of_network",
            "place_of_service": pos,
            "emergency": emergency,
            "frequency_code": "1",
            "service_date_start": DOS,
            "service_date_end": DOS,
            "charge_amount": charge,
            "aob": aob,
            "submitted_date": date(2025, 11, 5),
            "patient_name": f"Pat {pcn}",
            "member_id": f"MEM{pcn}",
            "diagnosis_codes": "M1711 M25561",
            "prior_auth_number": auth,
            "clinical_notes": notes,
            "facility_npi": facility,
            "facility_name": "Lakeview Memorial Hospital" if facility else "",
            "facility_state": "IL" if facility else "",
            "claim_filing_indicator": "CI",
            "attachments": attachments,
            "attachment_control_number": pwk,
            "authorized_representative_date": rep,
            "aob_date": "2025-01-15" if aob else "",
        }
    )


_submit("U1", "NWH01", [("99214", "")])
_submit("U2", "CTS02", [("99214", "")])
_submit("C1", "NWH01", [("29881", "RT"), ("20610", "LT")])
_submit("C2", "CTS02", [("99214", "25"), ("36415", "")])
_submit("M1", "CTS02", [("73721", "RT")])
_submit("M2", "CTS02", [("20610", "")])
_submit("P1", "CTS02", [("29881", "RT")], auth="PA55120")
_submit("P2", "CTS02", [("73721", "")])
_submit("T1", "CTS02", [("99213", "")])
_submit("T2", "CTS02", [("99213", "")])
_submit("R1", "CTS02", [("99214", "")])
_submit("R2", "CTS02", [("99213", "")])
_submit("N1", "CTS02", [("99284", "")], pos="23", emergency=True, facility="1582047365")
_submit("N2", "CTS02", [("20610", "")], pos="22", facility="1582047365")
_submit("O2", "CTS02", [("29881", "RT")], pos="22", facility="1582047365")


def remittance() -> dict[str, pd.DataFrame]:
    b = RemitBuilder()
    b.payment("EFT1", PAID_ON, "NWH01")
    b.payment("CHK2", PAID_ON, "CTS02")
    b.claim(
        "EFT1",
        "U1",
        [
            Line(
                "U1-1",
                "99214",
                "393.00",
                "120.00",
                "150.00",
                [("CO", "45", "243.00"), ("PR", "2", "30.00")],
            )
        ],
    )
    # MPPR cut the higher-valued 29881 instead of the 20610 (NWH01 reduces the second).
    b.claim(
        "EFT1",
        "C1",
        [
            Line(
                "C1-1",
                "29881",
                "1560.00",
                "338.00",
                "338.00",
                [("CO", "45", "884.00"), ("CO", "59", "338.00")],
                modifiers="RT",
            ),
            Line(
                "C1-2",
                "20610",
                "198.00",
                "85.80",
                "85.80",
                [("CO", "45", "112.20")],
                modifiers="LT",
            ),
        ],
    )
    b.claim(
        "CHK2",
        "U2",
        [
            Line(
                "U2-1",
                "99214",
                "393.00",
                "160.00",
                "200.00",
                [("PR", "2", "40.00"), ("PR", "45", "193.00")],
            )
        ],
    )
    b.claim(
        "CHK2",
        "C2",
        [
            Line(
                "C2-1",
                "99214",
                "393.00",
                "251.52",
                "314.40",
                [("PR", "2", "62.88"), ("PR", "45", "78.60")],
                modifiers="25",
            ),
            Line(
                "C2-2",
                "36415",
                "9.00",
                "2.88",
                "3.60",
                [("CO", "59", "3.60"), ("PR", "2", "0.72"), ("PR", "45", "1.80")],
            ),
        ],
    )
    for pcn, code, carc, remark in (
        ("M1", "73721", "50", "N130"),
        ("M2", "20610", "50", ""),
        ("P1", "29881", "197", ""),
        ("P2", "73721", "197", "N54"),
        ("T1", "99213", "29", ""),
        ("T2", "99213", "29", ""),
        ("R1", "99214", "242", ""),
        ("R2", "99213", "A1", "N130"),
    ):
        charge = scenario.RATES[code][3]
        b.claim(
            "CHK2",
            pcn,
            [Line(f"{pcn}-1", code, charge, "0", "0", [("CO", carc, charge)], remarks=remark)],
            status="4",
        )
    b.claim(
        "CHK2",
        "N1",
        [
            Line(
                "N1-1",
                "99284",
                "399.00",
                "133.00",
                "166.25",
                [("PR", "2", "33.25"), ("PR", "45", "232.75")],
                remarks="N864",
            )
        ],
    )
    b.claim(
        "CHK2",
        "N2",
        [
            Line(
                "N2-1",
                "20610",
                "198.00",
                "49.50",
                "82.50",
                [("PR", "2", "33.00"), ("CO", "45", "115.50")],
            )
        ],
        member_id="MEMN2",
    )
    b.claim(
        "CHK2",
        "O2",
        [
            Line(
                "O2-1",
                "29881",
                "1560.00",
                "480.00",
                "600.00",
                [("PR", "2", "120.00"), ("CO", "45", "960.00")],
                remarks="N865",
            )
        ],
    )
    return b.tables()


def payers() -> dict[str, PayerProfile]:
    base = scenario.payers()
    return {
        "NWH01": replace(base["NWH01"], appeal_addresses=IN_NETWORK_ADDRESS),
        "CTS02": replace(base["CTS02"], appeal_addresses=ADDRESSES, plan_funding="self_funded"),
    }


def eligibility() -> pd.DataFrame:
    row = dict(scenario.eligibility().iloc[0])
    return pd.DataFrame([row | {"member_id": "MEMN2"}])


def run() -> ReconcileResult:
    return reconcile(
        remittance(),
        submitted_from_records(_CLAIMS, _LINES),
        scenario.fee_schedule(),
        payers(),
        as_of=scenario.AS_OF,
        eligibility=eligibility(),
        codes=scenario.codes(),
        thresholds=Thresholds(D("5.00"), D("3")),
        practice=PRACTICE,
        nsa_reference=scenario.nsa_reference(),
    )
