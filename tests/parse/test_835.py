"""835 parsing on files built here with the project's writer (not the committed samples)."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pyarrow.parquet as pq

from pipeline.parse import (
    RemitClaim,
    RemitPayment,
    RemitProviderAdjustment,
    iter_835,
    parse_835_to_parquet,
    parse_file,
    parse_files,
)
from pipeline.x12.problems import Problem
from pipeline.x12.segments import Delimiters
from tests.parse.x12build import Claim, Counter, Line, Payment, build_835


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="ascii")
    return path


def _basic_payment() -> Payment:
    return Payment(
        D("155.25"),
        "TRACE77",
        [
            Claim(
                "PCN-A",
                "1",
                D("300.50"),
                D("160.25"),
                D("70"),
                icn="ICN-A",
                insured=("DOE", "JOHN", "INS9"),
                corrected=("DOE", "JANE Q", "W100Z"),
                rendering="1245319599",
                statement=("20250105", "20250106"),
                received="20250110",
                remarks=("MA01", "N130"),
                lines=[
                    Line(
                        "99215",
                        D("250.50"),
                        D("150.25"),
                        [("CO", "45", D("40.25")), ("PR", "2", D("60"))],
                        modifiers=("25", "59"),
                        units=D("2"),
                        control="A-1",
                        allowed=D("210.25"),
                        date="20250105",
                        remarks=("N381", "M15"),
                        quantity=D("1"),
                    ),
                    Line(
                        "36415",
                        D("50"),
                        D("10"),
                        [("PR", "1", D("10")), ("CO", "97", D("30"))],
                        original_code="36416",
                        control="A-2",
                        date="20250106",
                    ),
                ],
            ),
        ],
        plb=[("L6", "", "", D("-5")), ("WO", "ICN-OLD", "", D("10"))],
    )


def test_values_in_every_remit_table(tmp_path: Path) -> None:
    path = _write(tmp_path, "era.835", build_835([_basic_payment()], control=Counter(7)))
    tables = parse_file(path).tables
    payment = tables["remit_payments"].iloc[0]
    assert (payment["payer_name"], payment["payer_id"], payment["payee_npi"]) == (
        "NORTHWIND HEALTH",
        "NWH01",
        "1234567893",
    )
    assert payment["payment_amount"] == D("155.25") and payment["trace_number"] == "TRACE77"
    assert (payment["payment_method"], payment["credit_debit"], payment["payment_date"]) == (
        "ACH",
        "C",
        "2025-02-28",
    )
    assert payment["interchange_control_number"] == "000000007"

    claim = tables["remit_claims"].iloc[0]
    assert claim["claim_key"] == "era:000000007:0007:1"
    assert (claim["charge_amount"], claim["paid_amount"], claim["patient_responsibility"]) == (
        D("300.50"),
        D("160.25"),
        D("70"),
    )
    assert (
        claim["patient_last_name"],
        claim["patient_first_name"],
        claim["patient_member_id"],
    ) == ("DOE", "JANE", "W100")
    assert claim["insured_member_id"] == "INS9" and claim["corrected_member_id"] == "W100Z"
    assert claim["rendering_provider_id"] == "1245319599"
    assert (claim["service_date_start"], claim["service_date_end"]) == ("2025-01-05", "2025-01-06")
    assert claim["received_date"] == "2025-01-10" and claim["remark_codes"] == "MA01,N130"
    assert (
        claim["claim_filing_indicator"],
        claim["place_of_service"],
        claim["frequency_code"],
    ) == ("12", "11", "1")

    lines = tables["remit_service_lines"]
    assert lines["line_control_number"].tolist() == ["A-1", "A-2"]
    first, second = lines.iloc[0], lines.iloc[1]
    assert (first["procedure_code"], first["modifiers"], first["units"]) == (
        "99215",
        "25,59",
        D("2"),
    )
    assert first["allowed_amount"] == D("210.25") and first["remark_codes"] == "N381,M15"
    assert second["original_procedure_code"] == "36416" and second["units"] == D("1")
    assert second["allowed_amount"] is None and second["service_date"] == "2025-01-06"

    adjustments = tables["remit_adjustments"]
    assert adjustments[["line_control_number", "group_code", "reason_code"]].values.tolist() == [
        ["A-1", "CO", "45"],
        ["A-1", "PR", "2"],
        ["A-2", "PR", "1"],
        ["A-2", "CO", "97"],
    ]
    assert adjustments["amount"].tolist() == [D("40.25"), D("60"), D("10"), D("30")]
    assert adjustments["quantity"].tolist()[0] == D("1") and set(adjustments["level"]) == {"line"}

    plb = tables["remit_provider_adjustments"]
    assert plb[["reason_code", "reference_id"]].values.tolist() == [["L6", ""], ["WO", "ICN-OLD"]]
    assert plb["amount"].tolist() == [D("-5"), D("10")]
    assert tables["problems"].empty


def test_claim_level_cas_without_lines_and_many_triplets(tmp_path: Path) -> None:
    reasons = [("CO", str(r), D("1")) for r in (45, 97, 16, 18, 22, 23, 24)]  # 7 -> two CAS
    claim = Claim("PCN-C", "4", D("7"), D("0"), D("0"), adjustments=reasons)
    path = _write(tmp_path, "c.835", build_835([Payment(D("0"), "T0", [claim])]))
    tables = parse_file(path).tables
    adjustments = tables["remit_adjustments"]
    assert adjustments["reason_code"].tolist() == ["45", "97", "16", "18", "22", "23", "24"]
    assert set(adjustments["level"]) == {"claim"} and set(adjustments["line_control_number"]) == {
        ""
    }
    assert tables["remit_service_lines"].empty and tables["problems"].empty


def test_reversal_pairing_in_one_file_and_with_known_claims(tmp_path: Path) -> None:
    original = Claim(
        "PCN-R", "1", D("100"), D("80"), D("20"), icn="ICN-1", adjustments=[("PR", "2", D("20"))]
    )
    reversal = Claim(
        "PCN-R",
        "22",
        D("-100"),
        D("-80"),
        D("-20"),
        icn="ICN-1",
        adjustments=[("PR", "2", D("-20"))],
    )
    other = Claim("PCN-X", "1", D("10"), D("10"), D("0"))
    corrected = Claim(
        "PCN-R", "1", D("100"), D("90"), D("10"), icn="ICN-2", adjustments=[("PR", "2", D("10"))]
    )
    first = Payment(D("80"), "P1", [original])
    second = Payment(D("20"), "P2", [reversal, other, corrected])
    path = _write(tmp_path, "pair.835", build_835([first, second], control=Counter(1)))
    claims = parse_file(path).tables["remit_claims"]
    keys = claims["claim_key"].tolist()
    assert keys == [
        "pair:000000001:0001:1",
        "pair:000000001:0002:1",
        "pair:000000001:0002:2",
        "pair:000000001:0002:3",
    ]  # file order kept despite holding the reversal
    assert claims.iloc[1]["reversal_of_claim_key"] == keys[0]
    assert claims.iloc[1]["corrected_by_claim_key"] == keys[3]
    assert set(claims.iloc[[0, 2, 3]]["corrected_by_claim_key"]) == {""}

    # The original posted earlier (another file): given as known claims, or through parse_files.
    earlier = _write(tmp_path, "earlier.835", build_835([first], control=Counter(1)))
    later = _write(tmp_path, "later.835", build_835([second], control=Counter(2)))
    alone = parse_file(later).tables["remit_claims"]
    assert alone.iloc[0]["reversal_of_claim_key"] == ""
    given = parse_file(later, known_claims={"ICN-1": "ledger-claim-17"}).tables["remit_claims"]
    assert given.iloc[0]["reversal_of_claim_key"] == "ledger-claim-17"
    chained = parse_files([earlier, later])[1].tables["remit_claims"]
    assert chained.iloc[0]["reversal_of_claim_key"] == "earlier:000000001:0001:1"


def test_plb_pairs_signs_and_more_than_six(tmp_path: Path) -> None:
    plb = [
        (code, f"REF{i}", "", D(amount))
        for i, (code, amount) in enumerate(
            [
                ("WO", "25"),
                ("FB", "-10"),
                ("72", "-5"),
                ("L6", "-1.25"),
                ("CS", "3"),
                ("J1", "-2"),
                ("B2", "-4"),
                ("E3", "1"),
            ]
        )
    ]
    total_plb = sum(p[3] for p in plb)
    claim = Claim("PCN-P", "1", D("100"), D("100"), D("0"))
    path = _write(
        tmp_path, "plb.835", build_835([Payment(D("100") - total_plb, "T", [claim], plb=plb)])
    )
    tables = parse_file(path).tables
    rows = tables["remit_provider_adjustments"]
    assert rows["reason_code"].tolist() == ["WO", "FB", "72", "L6", "CS", "J1", "B2", "E3"]
    assert rows["reference_id"].tolist() == [f"REF{i}" for i in range(8)]
    assert rows["amount"].tolist() == [p[3] for p in plb]
    assert set(rows["fiscal_period_date"]) == {"2025-12-31"} and set(rows["provider_id"]) == {
        "1234567893"
    }
    assert tables["problems"].empty


def test_unbalanced_line_claim_and_payment_become_problems(tmp_path: Path) -> None:
    bad_line = Claim(
        "PCN-L",
        "1",
        D("100"),
        D("70"),
        D("20"),
        lines=[Line("99213", D("100"), D("75"), [("PR", "2", D("20"))], control="L-1")],
    )
    bad_claim = Claim("PCN-K", "1", D("50"), D("45"), D("0"), adjustments=[("CO", "45", D("10"))])
    good = Claim("PCN-G", "1", D("10"), D("10"), D("0"))
    path = _write(
        tmp_path, "bad.835", build_835([Payment(D("999"), "TB", [bad_line, bad_claim, good])])
    )
    tables = parse_file(path).tables
    assert len(tables["remit_claims"]) == 3  # everything still parsed
    problems = tables["problems"].set_index("rule")
    line = problems.loc["line_balance"]
    assert (line["level"], line["key"], line["expected"], line["actual"]) == (
        "line",
        "bad:000000001:0001:1/1",
        "80",
        "75",
    )
    claim = problems.loc[["claim_balance"]]
    assert claim[["key", "expected", "actual"]].values.tolist() == [
        ["bad:000000001:0001:1", "80", "70"],
        ["bad:000000001:0001:2", "40", "45"],
    ]
    payment = problems.loc["transaction_balance"]
    assert (payment["level"], payment["expected"], payment["actual"]) == (
        "transaction",
        "125",
        "999",
    )
    assert "PCN-K" in problems.loc[["claim_balance"]]["message"].iloc[1]


def test_several_interchanges_with_different_delimiters(tmp_path: Path) -> None:
    one = build_835(
        [Payment(D("10"), "T1", [Claim("P1", "1", D("10"), D("10"), D("0"))])], control=Counter(1)
    )
    two = build_835(
        [
            Payment(
                D("20"),
                "T2",
                [
                    Claim(
                        "P2",
                        "1",
                        D("20"),
                        D("20"),
                        D("0"),
                        lines=[Line("99213", D("20"), D("20"), [], modifiers=("25",))],
                    )
                ],
            )
        ],
        delimiters=Delimiters("|", "!", "^", "\n"),
        control=Counter(2),
    )
    path = _write(tmp_path, "multi.835", one + two)
    tables = parse_file(path).tables
    assert tables["remit_payments"]["trace_number"].tolist() == ["T1", "T2"]
    assert tables["remit_claims"]["claim_key"].tolist() == [
        "multi:000000001:0001:1",
        "multi:000000002:0002:1",
    ]
    assert tables["remit_service_lines"]["modifiers"].tolist() == ["25"]
    assert tables["problems"].empty


def test_streaming_records_are_typed_and_in_order(tmp_path: Path) -> None:
    path = _write(tmp_path, "s.835", build_835([_basic_payment()]))
    records = list(iter_835(path))
    assert [type(r) for r in records] == [
        RemitClaim,
        RemitProviderAdjustment,
        RemitProviderAdjustment,
        RemitPayment,
    ]
    claim = records[0]
    assert isinstance(claim, RemitClaim)
    assert claim.lines[0].adjustments[0].amount == D("40.25")
    assert not any(isinstance(r, Problem) for r in records)


def test_parquet_streaming_writes_all_tables_in_chunks(tmp_path: Path) -> None:
    claims = [
        Claim(
            f"PCN{i}",
            "1",
            D("10.10"),
            D("10.10"),
            D("0"),
            lines=[Line("99213", D("10.10"), D("10.10"), [], control=f"L{i}")],
        )
        for i in range(25)
    ]
    path = _write(tmp_path, "big.835", build_835([Payment(D("252.50"), "T", claims)]))
    counts = parse_835_to_parquet(path, tmp_path / "out", chunk_claims=4)
    assert counts["remit_claims"] == 25 and counts["remit_service_lines"] == 25
    table = pq.read_table(tmp_path / "out" / "remit_claims.parquet")
    assert table.num_rows == 25
    assert table.column("paid_amount").to_pylist()[0] == D("10.10")
    assert pq.ParquetFile(tmp_path / "out" / "remit_claims.parquet").num_row_groups > 1
    assert pq.read_table(tmp_path / "out" / "problems.parquet").num_rows == 0
