"""One synthetic practice month that exercises every rule (independent of the simulator).

Payment date 2025-11-20 (the Thursday before Thanksgiving), as of 2025-12-15. Each PCN names
what it is about; ``EXPECTED_FLAGS`` is the ground truth the tests compare against.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.reconcile import Submitted, submitted_from_records
from pipeline.reconcile.nsa_reference import NsaPolicy, NsaReference
from pipeline.reconcile.reference import (
    CodeBook,
    FeeRow,
    FeeSchedule,
    PayerProfile,
    load_code_book,
)
from tests.reconcile.remit_builder import Line, RemitBuilder

ROOT = Path(__file__).resolve().parents[2]
D = Decimal
PAID_ON = date(2025, 11, 20)
AS_OF = date(2025, 12, 15)
DOS = date(2025, 11, 3)

RATES = {
    # code: (NWH01 contract, UCR, CTS02 QPA, charge)
    "99214": ("170.30", "314.40", "163.75", "393.00"),
    "99213": ("119.60", "220.80", "115.00", "276.00"),
    "99284": ("172.90", "319.20", "166.25", "399.00"),
    "29881": ("676.00", "1248.00", "650.00", "1560.00"),
    "20610": ("85.80", "158.40", "82.50", "198.00"),
    "73721": ("279.50", "516.00", "268.75", "645.00"),
    "36415": ("4.05", "7.20", "3.75", "9.00"),
}


def fee_schedule() -> FeeSchedule:
    rows = []
    start = date(2025, 1, 1)
    for code, (contract, ucr, qpa, _charge) in RATES.items():
        rows += [
            FeeRow("NWH01", "contract", code, "", start, date(2025, 12, 31), D(contract)),
            # 2026 rate: proves effective dating picks the row in force on the DOS.
            FeeRow("NWH01", "contract", code, "", date(2026, 1, 1), None, D(contract) * 2),
            FeeRow("*", "ucr", code, "", start, None, D(ucr)),
            FeeRow("CTS02", "qpa", code, "", start, None, D(qpa)),
        ]
    return FeeSchedule(
        rows=tuple(rows),
        charges={c: D(v[3]) for c, v in RATES.items()},
        descriptions={c: f"procedure {c}" for c in RATES},
    )


def payers() -> dict[str, PayerProfile]:
    return {
        "NWH01": PayerProfile(
            "NWH01",
            "NORTHWIND HEALTH PLAN",
            "in_network",
            180,
            180,
            30,
            rules=({"rule": "multiple_procedure_reduction", "reduced_percent": 50},),
        ),
        "CTS02": PayerProfile("CTS02", "CONTOSO COMMERCIAL", "out_of_network", 365, 180, 30),
    }


def nsa_reference() -> NsaReference:
    """Offers at the UCR rate; open negotiation when the claim is short by more than $100."""
    return NsaReference(policy=NsaPolicy(offer_basis="ucr", dispute_minimum=D("100.00")))


def codes() -> CodeBook:
    return load_code_book(ROOT / "mappings" / "codes")


# --- claims as submitted ---------------------------------------------------------------------
_CLAIMS: list[dict[str, Any]] = []
_LINES: list[dict[str, Any]] = []


def _submit(
    pcn: str,
    payer: str,
    lines: list[tuple[str, str, str]],  # (code, modifiers, units)
    *,
    pos: str = "11",
    emergency: bool = False,
    aob: bool = True,
    dos: date = DOS,
    submitted: date = date(2025, 11, 5),
    member: str = "",
) -> None:
    charge = D(0)
    for n, (code, mods, units) in enumerate(lines, start=1):
        amount = D(RATES[code][3]) * D(units)
        charge += amount
        _LINES.append(
            {
                "patient_control_number": pcn,
                "line_control_number": f"{pcn}-{n}",
                "line_number": n,
                "procedure_code": code,
                "modifiers": mods,
                "units": D(units),
                "charge_amount": amount,
                "service_date": dos,
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
            "service_date_start": dos,
            "service_date_end": dos,
            "charge_amount": charge,
            "aob": aob,
            "submitted_date": submitted,
            "patient_name": f"Pat {pcn}",
            "member_id": member or f"M{pcn}",
            "diagnosis_codes": "M1711 M25561",
            "prior_auth_number": "",
            "clinical_notes": f"Clinical note for {pcn}: knee pain, failed conservative care.",
            "ledger_state": "",
        }
    )


for _pcn in ("A1", "A2", "A3"):
    _submit(_pcn, "NWH01", [("99214", "", "1")])
_submit("A4", "NWH01", [("29881", "RT", "1")])
_submit("A12", "NWH01", [("29881", "RT", "1")])
_submit("A5", "NWH01", [("29881", "RT", "1"), ("20610", "LT", "1")])
_submit("A6", "NWH01", [("29881", "RT", "1"), ("20610", "LT", "1")])
_submit("A7", "NWH01", [("99214", "", "1")])
_submit("A8", "NWH01", [("99214", "25", "1"), ("36415", "", "1")])
_submit("A9", "NWH01", [("99214", "", "1")])
for _pcn in ("B1", "B2"):
    _submit(_pcn, "CTS02", [("99214", "", "1")])
_submit("B3", "CTS02", [("99284", "", "1")], pos="23", emergency=True)
_submit("B4", "CTS02", [("99284", "", "1")], pos="23", emergency=True)
_submit("B5", "CTS02", [("20610", "", "1")], pos="22")
_submit("B6", "CTS02", [("99284", "", "1")], pos="23", member="MEMB6")
_submit("B7", "CTS02", [("73721", "", "1")])
_submit("B8", "CTS02", [("29881", "", "1")])
_submit("B9", "CTS02", [("99214", "", "1")])
_submit("B10", "CTS02", [("99214", "", "1")], aob=False)
_submit("A11", "NWH01", [("99214", "", "1"), ("36415", "", "1")])
_submit("B11", "CTS02", [("73721", "", "1"), ("99214", "", "1")])
_submit("B12", "CTS02", [("99214", "", "1"), ("36415", "", "1")])
_submit("N1", "NWH01", [("99213", "", "1")], dos=date(2025, 9, 20), submitted=date(2025, 10, 1))
_submit("N2", "NWH01", [("99213", "", "1")], dos=date(2025, 11, 28), submitted=date(2025, 12, 1))


def submitted() -> Submitted:
    return submitted_from_records(_CLAIMS, _LINES)


# --- remittance ------------------------------------------------------------------------------
def remittance() -> RemitBuilder:
    b = RemitBuilder()
    b.payment("EFT100", date(2025, 10, 15), "NWH01")
    b.payment("EFT200", PAID_ON, "NWH01")
    b.payment("CHK300", PAID_ON, "CTS02")
    b.payment("CHK400", PAID_ON, "CTS02", amount="10.00")  # BPR02 off by 1.00 on purpose

    # A1 paid right (contract 170.30); A2 wrong fee schedule; A3 within $ threshold.
    b.claim(
        "EFT200",
        "A1",
        [
            Line(
                "A1-1",
                "99214",
                "393.00",
                "150.30",
                "170.30",
                [("CO", "45", "222.70"), ("PR", "2", "20.00")],
            )
        ],
    )
    b.claim(
        "EFT200",
        "A2",
        [
            Line(
                "A2-1",
                "99214",
                "393.00",
                "130.00",
                "150.00",
                [("CO", "45", "243.00"), ("PR", "2", "20.00")],
            )
        ],
    )
    b.claim(
        "EFT200",
        "A3",
        [
            Line(
                "A3-1",
                "99214",
                "393.00",
                "148.00",
                "168.00",
                [("CO", "45", "225.00"), ("PR", "2", "20.00")],
            )
        ],
    )
    # A4: $4 short of 676 (0.6 %) is within both tolerances: no flag.
    b.claim(
        "EFT200",
        "A4",
        [Line("A4-1", "29881", "1560.00", "672.00", "672.00", [("CO", "45", "888.00")], "RT")],
    )
    # A12: $16 short of 676 is over $5 but only 2.4 %: tolerated (both thresholds must fail).
    b.claim(
        "EFT200",
        "A12",
        [Line("A12-1", "29881", "1560.00", "660.00", "660.00", [("CO", "45", "900.00")], "RT")],
    )
    # A5 multiple-procedure reduction applied right (second at 50 %); A6 applied to the wrong line.
    b.claim(
        "EFT200",
        "A5",
        [
            Line("A5-1", "29881", "1560.00", "676.00", "676.00", [("CO", "45", "884.00")], "RT"),
            Line(
                "A5-2",
                "20610",
                "198.00",
                "42.90",
                "42.90",
                [("CO", "45", "112.20"), ("CO", "59", "42.90")],
                "LT",
            ),
        ],
    )
    b.claim(
        "EFT200",
        "A6",
        [
            Line(
                "A6-1",
                "29881",
                "1560.00",
                "338.00",
                "338.00",
                [("CO", "45", "884.00"), ("CO", "59", "338.00")],
                "RT",
            ),
            Line("A6-2", "20610", "198.00", "85.80", "85.80", [("CO", "45", "112.20")], "LT"),
        ],
    )
    # A7: underpaid in October, reversed and corrected right in November: nothing to flag.
    first = b.claim(
        "EFT100",
        "A7",
        [
            Line(
                "A7-1",
                "99214",
                "393.00",
                "130.00",
                "150.00",
                [("CO", "45", "243.00"), ("PR", "2", "20.00")],
            )
        ],
    )
    b.claim(
        "EFT200",
        "A7",
        [
            Line(
                "A7-1",
                "99214",
                "393.00",
                "130.00",
                "150.00",
                [("CO", "45", "243.00"), ("PR", "2", "20.00")],
            )
        ],
        status="22",
        sign=-1,
        reversal_of=first,
    )
    b.claim(
        "EFT200",
        "A7",
        [
            Line(
                "A7-1",
                "99214",
                "393.00",
                "150.30",
                "170.30",
                [("CO", "45", "222.70"), ("PR", "2", "20.00")],
            )
        ],
    )
    # A8: no REF*6R; payer dropped modifier 25 and down-coded nothing; venipuncture bundled.
    b.claim(
        "EFT200",
        "A8",
        [
            Line("", "99214", "393.00", "170.30", "170.30", [("CO", "45", "222.70")]),
            Line("", "36415", "9.00", "4.05", "4.05", [("CO", "45", "4.95")]),
        ],
        service_date=DOS,
    )
    # A9: SVC06 — adjudicated as 99213, billed 99214, no REF*6R: matched, and underpaid.
    b.claim(
        "EFT200",
        "A9",
        [
            Line(
                "",
                "99213",
                "393.00",
                "119.60",
                "119.60",
                [("CO", "45", "273.40")],
                original_code="99214",
            ),
        ],
        service_date=DOS,
    )
    # A11: both lines short; 36415 by 15 cents, but that is 3.7 %.
    b.claim(
        "EFT200",
        "A11",
        [
            Line(
                "A11-1",
                "99214",
                "393.00",
                "143.75",
                "163.75",
                [("CO", "45", "229.25"), ("PR", "2", "20.00")],
            ),
            Line("A11-2", "36415", "9.00", "3.90", "3.90", [("CO", "45", "5.10")]),
        ],
    )
    b.provider_adjustment("EFT200", "L6", "-2.50", "INTEREST")
    b.provider_adjustment("EFT200", "WO", "20.00", "ICN0777")

    # CTS02 (out of network)
    b.claim(
        "CHK300",
        "B1",
        [
            Line(
                "B1-1",
                "99214",
                "393.00",
                "220.08",
                "314.40",
                [("PR", "2", "94.32"), ("PR", "45", "78.60")],
            )
        ],
    )
    b.claim(
        "CHK300",
        "B2",
        [
            Line(
                "B2-1",
                "99214",
                "393.00",
                "140.00",
                "200.00",
                [("PR", "2", "60.00"), ("PR", "45", "193.00")],
            )
        ],
    )
    b.claim(
        "CHK300",
        "B3",
        [
            Line(
                "B3-1",
                "99284",
                "399.00",
                "133.00",
                "166.25",
                [("PR", "2", "33.25"), ("CO", "45", "232.75")],
                remarks="N864",
            )
        ],
    )
    b.claim(
        "CHK300",
        "B4",
        [
            Line(
                "B4-1",
                "99284",
                "399.00",
                "96.00",
                "120.00",
                [("PR", "2", "24.00"), ("CO", "45", "279.00")],
            )
        ],
    )
    b.claim(
        "CHK300",
        "B5",
        [
            Line(
                "B5-1",
                "20610",
                "198.00",
                "66.00",
                "82.50",
                [("PR", "2", "16.50"), ("PR", "45", "115.50")],
            )
        ],
    )
    b.claim(
        "CHK300",
        "B6",
        [
            Line(
                "B6-1",
                "99284",
                "399.00",
                "99.75",
                "166.25",
                [("PR", "2", "66.50"), ("CO", "45", "232.75")],
            )
        ],
        member_id="MEMB6",
    )
    b.claim(
        "CHK300",
        "B7",
        [Line("B7-1", "73721", "645.00", "0", "0", [("CO", "50", "645.00")], remarks="N130")],
        status="4",
    )
    b.claim(
        "CHK300",
        "B8",
        [Line("B8-1", "29881", "1560.00", "0", "0", [("CO", "197", "1560.00")])],
        status="4",
    )
    b.claim(
        "CHK300",
        "B9",
        [Line("B9-1", "99214", "393.00", "0", "0", [("CO", "16", "393.00")], remarks="MA130")],
        status="4",
    )
    b.claim(
        "CHK300",
        "B10",
        [
            Line(
                "B10-1",
                "99214",
                "393.00",
                "0",
                "314.40",
                [("PR", "2", "94.32"), ("PR", "45", "78.60"), ("OA", "100", "220.08")],
            )
        ],
    )
    # B11: one line denied for prior auth, the other paid right: a line-level denial.
    b.claim(
        "CHK300",
        "B11",
        [
            Line("B11-1", "73721", "645.00", "0", "0", [("CO", "197", "645.00")]),
            Line(
                "B11-2",
                "99214",
                "393.00",
                "220.08",
                "314.40",
                [("PR", "2", "94.32"), ("PR", "45", "78.60")],
            ),
        ],
    )
    # B12: CTS02 has no multiple-procedure rule: a CO-59 cut of $3.60 is flagged anyway.
    b.claim(
        "CHK300",
        "B12",
        [
            Line(
                "B12-1",
                "99214",
                "393.00",
                "220.08",
                "314.40",
                [("PR", "2", "94.32"), ("PR", "45", "78.60")],
            ),
            Line(
                "B12-2",
                "36415",
                "9.00",
                "3.60",
                "3.60",
                [("PR", "45", "1.80"), ("CO", "59", "3.60")],
            ),
        ],
    )
    # Nobody sent claim ZZZ999: it must land in the unmatched queue, not vanish.
    b.claim(
        "CHK400",
        "ZZZ999",
        [Line("ZZZ999-1", "99213", "276.00", "11.00", "11.00", [("PR", "45", "265.00")])],
    )
    return b


def eligibility() -> pd.DataFrame:
    base = {
        "trace_number": "T1",
        "last_name": "DOE",
        "first_name": "PAT",
        "coverage_status": "active",
        "reject_reason_code": "",
        "reject_reason": "",
        "follow_up_action": "",
        "plan_description": "PPO",
        "in_network_deductible": D("1000"),
        "in_network_deductible_remaining": D("100.00"),
        "out_of_network_deductible": D("3000"),
        "out_of_network_deductible_remaining": D("500.00"),
        "in_network_oop_max": D("4000"),
        "in_network_oop_remaining": D("3000.00"),
        "out_of_network_oop_max": D("8000"),
        "out_of_network_oop_remaining": D("60.00"),
        "in_network_coinsurance": D("0.2"),
        "out_of_network_coinsurance": D("0.4"),
        "office_visit_copay": D("25.00"),
        "prior_auth_required": "N",
    }
    rows = [
        base | {"member_id": "MEMB6"},
        base | {"member_id": "MOON"},
        base | {"member_id": "MIN"},
        base | {"member_id": "MINACT", "coverage_status": "inactive", "reject_reason": ""},
    ]
    return pd.DataFrame(rows)


def appointments() -> pd.DataFrame:
    rows = [
        # OON office visit: OON deductible 500 covers the UCR 314.40; balance bill 78.60.
        {
            "appointment_id": "AP1",
            "patient_id": "P1",
            "member_id": "MOON",
            "payer_id": "CTS02",
            "appointment_date": date(2025, 12, 16),
            "place_of_service": "11",
            "procedure_codes": "99214",
            "emergency": False,
        },
        # In network: contract 170.30, deductible 100, 20 % of 70.30 = 14.06, copay 25.
        {
            "appointment_id": "AP2",
            "patient_id": "P2",
            "member_id": "MIN",
            "payer_id": "NWH01",
            "appointment_date": date(2025, 12, 16),
            "place_of_service": "11",
            "procedure_codes": "99214",
            "emergency": False,
        },
        # OON but NSA-protected (POS 22): QPA 82.50, in-network cost sharing, no balance bill.
        {
            "appointment_id": "AP3",
            "patient_id": "P3",
            "member_id": "MOON",
            "payer_id": "CTS02",
            "appointment_date": date(2025, 12, 16),
            "place_of_service": "22",
            "procedure_codes": "20610",
            "emergency": False,
        },
        {
            "appointment_id": "AP4",
            "patient_id": "P4",
            "member_id": "MINACT",
            "payer_id": "NWH01",
            "appointment_date": date(2025, 12, 16),
            "place_of_service": "11",
            "procedure_codes": "",
            "emergency": False,
        },
    ]
    return pd.DataFrame(rows)


# (pcn, line_control_number, flag) — everything the rules must find, and nothing else.
EXPECTED_FLAGS = {
    ("A1", "", "patient_responsibility"),
    ("A2", "A2-1", "underpaid"),
    ("A2", "", "patient_responsibility"),
    ("A3", "", "patient_responsibility"),
    ("A6", "A6-1", "underpaid"),
    ("A7", "", "patient_responsibility"),
    ("A9", "A9-1", "underpaid"),
    ("B1", "", "patient_responsibility"),
    ("B2", "B2-1", "underpaid"),
    ("B2", "", "patient_responsibility"),
    ("B3", "B3-1", "payment_dispute"),  # emergency allowed at the QPA, below our offer
    ("B3", "", "patient_responsibility"),
    ("B4", "B4-1", "payment_dispute"),  # allowed below the QPA: open negotiation, no violation
    ("B4", "", "patient_responsibility"),
    ("B5", "B5-1", "nsa_violation"),  # PR-45 on a protected service; the gap is under $100
    ("B5", "", "patient_responsibility"),
    ("B6", "B6-1", "nsa_violation"),  # coinsurance at the out-of-network rate
    ("B6", "B6-1", "payment_dispute"),
    ("B6", "", "patient_responsibility"),
    ("B7", "", "denied_appealable"),  # whole claim, one reason: one claim-level flag
    ("B8", "B8-1", "denied_appealable"),  # authorization is per service (scope line)
    ("B9", "", "denied_correctable"),
    ("A11", "A11-1", "underpaid"),
    ("A11", "A11-2", "underpaid"),
    ("A11", "", "patient_responsibility"),
    ("B11", "B11-1", "denied_appealable"),
    ("B11", "", "patient_responsibility"),
    ("B12", "B12-2", "underpaid"),
    ("B12", "", "patient_responsibility"),
    ("B10", "", "paid_to_patient"),
    ("B10", "", "patient_responsibility"),
    ("N1", "", "no_response"),
}
