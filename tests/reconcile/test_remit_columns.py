"""The 835s reconcile_and_export re-parses are cut to the columns reconciliation reads
(steps.remittance.reconcile_tables): it reconciles them exactly as it does every column of
every table — ERAs received twice (told apart by their file), a reversal in a later file,
a CAS on a line without REF*6R (found by its LX), provider adjustments."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pandas as pd

from pipeline.parse import parse_files
from pipeline.reconcile import reconcile, submitted_from_records
from pipeline.steps.remittance import combine_tables, reconcile_tables
from tests.parse.x12build import Claim, Counter, Line, Payment, build_835
from tests.reconcile import scenario

DOS = "20251005"


def _835s(tmp_path: Path) -> list[Path]:
    lines = [
        Line("99214", D("393"), D("150.30"), [("CO", "45", D("222.70")), ("PR", "2", D("20"))],
             control="A1-1", allowed=D("170.30"), date=DOS),
        # two lines without REF*6R: each one's CAS finds it by its LX alone
        Line("36415", D("9"), D("0"), [("CO", "97", D("9"))], date=DOS),
        Line("20610", D("198"), D("85.80"), [("CO", "45", D("112.20"))], date=DOS),
    ]  # fmt: skip
    original = Claim("A1", "1", D("600"), D("236.10"), D("20"), icn="ICN-A1", lines=lines)
    denied = Claim(
        "B2", "4", D("276"), D("0"), D("0"), icn="ICN-B2", adjustments=[("CO", "16", D("276"))]
    )
    first = Payment(
        D("236.10"),
        "EFT1",
        [original, denied],
        date="20251020",
        plb=[("L6", "", "", D("-5")), ("WO", "ICN-B2", "", D("10"))],
    )
    reversal = Claim(
        "A1",
        "22",
        D("-600"),
        D("-236.10"),
        D("-20"),
        icn="ICN-A1",
        adjustments=[("CO", "45", D("-343.90")), ("PR", "2", D("-20"))],
    )
    corrected = Claim(
        "A1",
        "1",
        D("600"),
        D("256.10"),
        D("20"),
        icn="ICN-A3",
        adjustments=[("CO", "45", D("323.90")), ("PR", "2", D("20"))],
    )
    later = Payment(D("20"), "CHK2", [reversal, corrected], date="20251101")  # fmt: skip
    files = {"835_a.x12": [first], "835_again.x12": [first], "835_b.x12": [later]}
    paths = []
    for n, (name, payments) in enumerate(files.items(), start=1):
        path = tmp_path / name
        path.write_text(build_835(payments, control=Counter(n)))
        paths.append(path)
    return paths


def _submitted() -> object:
    claims = [
        {
            "patient_control_number": pcn,
            "payer_id": "NWH01",
            "charge_amount": charge,
            "service_date_start": date(2025, 10, 5),
            "network_status": "in_network",
        }
        for pcn, charge in (("A1", D("600")), ("B2", D("276")))
    ]
    lines = [
        {"patient_control_number": pcn, "line_control_number": lcn, "line_number": n,
         "procedure_code": code, "charge_amount": charge, "service_date": date(2025, 10, 5)}
        for pcn, lcn, n, code, charge in (
            ("A1", "A1-1", 1, "99214", D("393")), ("A1", "", 2, "36415", D("9")),
            ("A1", "", 3, "20610", D("198")),
            ("B2", "B2-1", 1, "99213", D("276")),
        )
    ]  # fmt: skip
    return submitted_from_records(claims, lines)


def test_reconciliation_of_the_cut_tables_is_that_of_every_column(tmp_path: Path) -> None:
    paths = _835s(tmp_path)
    args = {
        "submitted": _submitted(),
        "fee_schedule": scenario.fee_schedule(),
        "payers": scenario.payers(),
        "as_of": date(2025, 12, 15),
        "codes": scenario.codes(),
    }
    every = reconcile(combine_tables(parse_files(paths)), **args)  # type: ignore[arg-type]
    cut = reconcile(reconcile_tables(paths), **args)  # type: ignore[arg-type]
    assert list(cut.tables) == list(every.tables)
    for name, frame in every.tables.items():
        pd.testing.assert_frame_equal(cut.tables[name], frame, obj=name)
    assert cut.letters == every.letters and cut.summary == every.summary
    # what the case is about happened: the ERA received twice, the PLB, the lines matched
    assert len(every.tables["duplicate_remittance"]) == 2
    assert len(every.tables["provider_adjustments"]) == 2
    assert every.tables["unmatched"].empty
