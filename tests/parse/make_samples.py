"""Writes the synthetic return-file samples in ``sample_edi/x12/`` (and their golden tables).

    .venv/bin/python -m tests.parse.make_samples           # rewrite the samples
    .venv/bin/python -m tests.parse.make_samples --golden  # and regenerate tests/golden/parse

All names, ids and amounts are invented. Goldens are written by the parser and then
reviewed by hand; ``test_golden.py`` compares them cell by cell, so any change to the
parser's output shows up as a diff to review.
"""

from __future__ import annotations

import sys
from decimal import Decimal as D
from pathlib import Path

from pipeline.x12.segments import Delimiters
from tests.parse.x12build import (
    AckClaim,
    Claim,
    Counter,
    Line,
    Member,
    Payment,
    StatusClaim,
    build_271,
    build_277,
    build_277ca,
    build_835,
    build_999,
    build_ta1,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_edi" / "x12"
GOLDEN = ROOT / "tests" / "golden" / "parse"


def remit_835() -> str:
    """Two payments: an OON payment with PR-45, bundling, a denial, a claim without lines,
    a reversal/correction pair and PLB; a zero-pay ERA from a second payer."""
    first = Payment(
        D("324.50"),
        "EFT20250228001",
        [
            Claim(
                "PCN1001",
                "1",
                D("250"),
                D("119"),
                D("131"),
                icn="NWH250001",
                received="20250212",
                rendering="1245319599",
                statement=("20250210", "20250210"),
                remarks=("MA01",),
                lines=[
                    Line(
                        "99214",
                        D("200"),
                        D("105"),
                        [("PR", "45", D("50")), ("PR", "2", D("45"))],
                        modifiers=("25",),
                        control="PCN1001-1",
                        allowed=D("150"),
                        remarks=("N381",),
                    ),
                    Line(
                        "36415",
                        D("50"),
                        D("14"),
                        [("PR", "45", D("30")), ("PR", "2", D("6"))],
                        control="PCN1001-2",
                        allowed=D("20"),
                    ),
                ],
            ),
            Claim(
                "PCN1002",
                "1",
                D("400"),
                D("180"),
                D("40"),
                icn="NWH250002",
                patient_name=("ROE", "RICHARD", "W200"),
                insured=("ROE", "ANN", "W199"),
                lines=[
                    Line(
                        "99204",
                        D("300"),
                        D("180"),
                        [("CO", "45", D("80")), ("PR", "3", D("40"))],
                        control="PCN1002-1",
                        allowed=D("220"),
                    ),
                    Line(
                        "99000",
                        D("100"),
                        D("0"),
                        [("CO", "97", D("100"))],
                        original_code="99001",
                        control="PCN1002-2",
                        remarks=("M15", "N19"),
                    ),
                ],
            ),
            Claim(
                "PCN1003",
                "4",
                D("180"),
                D("0"),
                D("0"),
                icn="NWH250003",
                patient_name=("POE", "EDGAR", "W300"),
                corrected=("POE", "EDGAR A", "W300A"),
                adjustments=[("CO", "197", D("180"))],
                remarks=("N54",),
                statement=("20250201", "20250201"),
            ),
            Claim(
                "PCN0901",
                "22",
                D("-300"),
                D("-180"),
                D("-120"),
                icn="NWH240777",
                patient_name=("LOE", "MAX", "W400"),
                lines=[
                    Line(
                        "99215",
                        D("-300"),
                        D("-180"),
                        [("PR", "2", D("-120"))],
                        control="PCN0901-1",
                        units=D("1"),
                        date="20241201",
                    )
                ],
            ),
            Claim(
                "PCN0901",
                "1",
                D("300"),
                D("200"),
                D("100"),
                icn="NWH240778",
                patient_name=("LOE", "MAX", "W400"),
                lines=[
                    Line(
                        "99215",
                        D("300"),
                        D("200"),
                        [("PR", "2", D("100"))],
                        control="PCN0901-1",
                        units=D("1"),
                        date="20241201",
                        allowed=D("300"),
                    )
                ],
            ),
        ],
        plb=[
            ("WO", "NWH240555", "", D("-12.50")),
            ("L6", "", "", D("-3.00")),
            ("FB", "FB0001", "", D("10.00")),
        ],
    )
    zero = Payment(
        D("0"),
        "CHK0000077",
        [
            Claim(
                "PCN1004",
                "1",
                D("120"),
                D("0"),
                D("120"),
                icn="CTS2500001",
                patient_name=("DOE", "JOHN", "C500"),
                lines=[
                    Line(
                        "99213",
                        D("120"),
                        D("0"),
                        [("PR", "1", D("120"))],
                        control="PCN1004-1",
                        allowed=D("120"),
                    )
                ],
            )
        ],
        payer=("CONTOSO HEALTH", "CTS02"),
        method="NON",
        date="20250228",
    )
    return build_835([first, zero], control=Counter(101))


def remit_other_delimiters_835() -> str:
    """One payment written with unusual delimiters (| ! > and newline-free)."""
    p = Payment(
        D("95"),
        "EFT20250301009",
        [
            Claim(
                "PCN2001",
                "2",
                D("150"),
                D("95"),
                D("0"),
                icn="WGH0001",
                adjustments=[("OA", "23", D("30"))],
                lines=[
                    Line(
                        "99213",
                        D("150"),
                        D("125"),
                        [("CO", "45", D("25"))],
                        control="PCN2001-1",
                        modifiers=("95", "GT"),
                        allowed=D("125"),
                        quantity=D("1"),
                    )
                ],
            ),
        ],
        payer=("WOODGROVE HEALTH", "WGH04"),
    )
    return build_835([p], delimiters=Delimiters("|", "!", ">", "~"), control=Counter(205))


def eligibility_271() -> str:
    """Active subscriber (IN/OON deductible, OOP, coinsurance, copay) with a dependent,
    an inactive member and a rejected one (subscriber not found)."""
    active = Member(
        "DOE",
        "JANE",
        "W100",
        "TRN-1001",
        benefits=[
            [
                "1",
                "IND",
                ["30", "1", "33", "35", "47", "86", "88", "98", "AL", "MH", "UC"],
                "PR",
                "NORTHWIND GOLD PPO",
            ],
            ["C", "IND", "30", None, None, "23", "1500", None, None, None, None, "Y"],
            ["C", "IND", "30", None, None, "29", "600", None, None, None, None, "Y"],
            ["C", "FAM", "30", None, None, "29", "450", None, None, None, None, "Y"],
            ["C", "IND", "30", None, None, "23", "3000", None, None, None, None, "N"],
            ["C", "IND", "30", None, None, "29", "3000", None, None, None, None, "N"],
            ["G", "IND", "30", None, None, "23", "6000", None, None, None, None, "Y"],
            ["G", "IND", "30", None, None, "29", "5100", None, None, None, None, "Y"],
            ["G", "IND", "30", None, None, "23", "12000", None, None, None, None, "N"],
            ["G", "IND", "30", None, None, "29", "11800", None, None, None, None, "N"],
            ["A", "IND", "30", None, None, None, None, ".2", None, None, None, "Y"],
            ["A", "IND", "98", None, None, None, None, ".4", None, None, None, "N"],
            ["A", "IND", "30", None, None, None, None, ".5", None, None, None, "N"],
            ["B", "IND", "98", None, None, "27", "25", None, None, None, "N", "Y"],
            ["B", "IND", "30", None, None, "27", "40", None, None, None, None, "W"],
            ["MSG", "OUT OF NETWORK BENEFITS SUBJECT TO UCR"],
            ["C", "IND", "62", None, None, None, None, None, None, None, "Y", "W"],
        ],
        dependents=[
            Member(
                "DOE",
                "TIMMY",
                "",
                "TRN-1002",
                benefits=[
                    ["1", "IND", "30", "PR", "NORTHWIND GOLD PPO"],
                    ["C", "IND", "30", None, None, "23", "1500", None, None, None, None, "W"],
                    ["C", "IND", "30", None, None, "29", "1500", None, None, None, None, "W"],
                ],
            )
        ],
    )
    inactive = Member(
        "ROE",
        "RICHARD",
        "W200",
        "TRN-1003",
        benefits=[["6", "IND", "30", None, "NORTHWIND SILVER HMO"]],
    )
    rejected = Member("NOBODY", "NINA", "W999", "TRN-1004", rejects=[("N", "75", "C")])
    return build_271([active, inactive, rejected], control=Counter(301))


def ack_999() -> str:
    """Partial acceptance: one set accepted, one accepted with errors, one rejected."""
    sets = [
        {"st02": "0001", "status": "A"},
        {"st02": "0002", "status": "E", "errors": [("REF", "27", "2400", "I9", [], "PCN1002")]},
        {
            "st02": "0003",
            "status": "R",
            "codes": ["5"],
            "errors": [
                ("CLM", "19", "2300", "8", [(["5", "3"], "1325", "7", "9")], "PCN1003"),
                ("NM1", "22", "2010", "8", [("9", "67", "1", None), ("3", "1035", "4", "X")], ""),
            ],
        },
    ]
    return build_999(sets, group_status="P", control=Counter(401))


def interchange_ta1() -> str:
    return build_ta1([("000000101", "A", "000"), ("000000102", "R", "025")], control=Counter(501))


def claims_277ca() -> str:
    claims = [
        AckClaim("PCN1001", [(["A2", "20", "PR"], "WQ", D("250"), "")], icn="NWH250001"),
        AckClaim("PCN1002", [(["A1", "19", "PR"], "WQ", D("400"), "")]),
        AckClaim(
            "PCN1003",
            [
                (["A7", "562", "85"], "U", D("180"), "BILLING NPI NOT ON FILE"),
                (["A7", "21", "IL"], "U", D("180"), ""),
            ],
            patient=("POE", "EDGAR", "W300"),
        ),
        AckClaim(
            "PCN1005",
            [(["A2", "20", "PR"], "WQ", D("95"), "")],
            lines=[("99213", ["A7", "454"], "U")],
        ),
        AckClaim("PCN1006", [(["P1", "0"], "WQ", D("60"), "")]),
    ]
    return build_277ca(claims, control=Counter(601))


def claim_status_277() -> str:
    """Answers to a 276: paid (two lines), denied, pending, not found, a dependent's claim
    awaiting its payment cycle; the receiver level acknowledges the request itself."""
    claims = [
        StatusClaim(
            "STAT-1",
            "PCN1001",
            ["F1", "65"],
            D("250"),
            D("119"),
            "20250225",
            "20250228",
            "EFT20250228001",
            "NWH250001",
            lines=[
                ("99214", D("200"), D("105"), ["F1", "65"]),
                ("36415", D("50"), D("14"), ["F1", "65"]),
            ],
        ),
        StatusClaim(
            "STAT-2",
            "PCN1002",
            ["F2", "1"],
            D("400"),
            D("0"),
            "20250226",
            "20250228",
            "EFT20250228001",
            "NWH250002",
            dates=("20250211", "20250213"),
        ),
        StatusClaim("STAT-3", "PCN1004", ["P1", "20"], D("95.5"), icn="NWH250004"),
        StatusClaim(
            "STAT-4", "PCN1007", ["A4", "35"], D("180"), subscriber=("POE", "EDGAR", "W300")
        ),
        StatusClaim(
            "STAT-5",
            "PCN1008",
            ["F0", "3", "QC"],
            D("60"),
            icn="NWH250008",
            subscriber=("ROE", "RICHARD", "W400"),
            dependent=("ROE", "SAMUEL"),
        ),
    ]
    return build_277(claims, receiver_status=["A1", "20"], control=Counter(701))


SAMPLES_BUILDERS = {
    "remit_oon.835": remit_835,
    "remit_delimiters.835": remit_other_delimiters_835,
    "eligibility.271": eligibility_271,
    "ack_partial.999": ack_999,
    "interchange_ack.ta1": interchange_ta1,
    "claim_ack.277": claims_277ca,
    "claim_status.277": claim_status_277,
}


def write_samples() -> list[Path]:
    SAMPLES.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, build in SAMPLES_BUILDERS.items():
        path = SAMPLES / name
        path.write_text(build(), encoding="ascii")
        paths.append(path)
    return paths


def write_golden() -> None:
    from pipeline.parse import parse_file

    for name in SAMPLES_BUILDERS:
        result = parse_file(SAMPLES / name, name=f"sample_edi/x12/{name}")
        folder = GOLDEN / name.replace(".", "_")
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.csv"):
            old.unlink()
        for table, frame in result.tables.items():
            frame.to_csv(folder / f"{table}.csv", index=False)


if __name__ == "__main__":
    write_samples()
    if "--golden" in sys.argv:
        write_golden()
