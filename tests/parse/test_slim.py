"""parse_835_tables: several 835s parsed into one table set cut to the columns asked for —
the frames parse_files and a concatenation give, those columns only, equal texts held once."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pandas as pd
import pytest

from pipeline.parse import COLUMNS, parse_835_tables, parse_files
from pipeline.reconcile.inputs import records
from pipeline.steps.remittance import combine_tables
from tests.conftest import ROOT
from tests.parse.x12build import Claim, Counter, Line, Payment, build_835

SAMPLES = ROOT / "sample_edi" / "x12"


def _files(tmp_path: Path) -> list[Path]:
    lines = [
        Line("99214", D("393"), D("150.30"), [("CO", "45", D("222.70")), ("PR", "2", D("20"))],
             control="A1-1", allowed=D("170.30"), modifiers=("25",), remarks=("N381",)),
        Line("36415", D("9"), D("0"), [("CO", "97", D("9"))]),  # no REF*6R
    ]  # fmt: skip
    original = Claim("A1", "1", D("402"), D("150.30"), D("20"), icn="ICN-A1", lines=lines)
    denied = Claim("B2", "4", D("276"), D("0"), D("0"), adjustments=[("CO", "16", D("276"))])
    first = Payment(D("145.30"), "EFT1", [original, denied], plb=[("L6", "", "", D("-5"))])
    reversal = Claim(
        "A1",
        "22",
        D("-402"),
        D("-150.30"),
        D("-20"),
        icn="ICN-A1",
        adjustments=[("CO", "45", D("-231.70")), ("PR", "2", D("-20"))],
    )
    corrected = Claim(
        "A1", "1", D("402"), D("160"), D("20"), icn="ICN-A2", adjustments=[("CO", "45", D("222"))]
    )
    later = Payment(D("9.70"), "CHK2", [reversal, corrected])  # fmt: skip
    paths = []
    for n, payments in enumerate(([first], [later]), start=1):
        path = tmp_path / f"835_{n}.x12"
        path.write_text(build_835(payments, control=Counter(n)))
        paths.append(path)
    return [SAMPLES / "remit_oon.835", *paths, SAMPLES / "remit_delimiters.835"]


KEEP = {
    "remit_claims": ("claim_key", "patient_control_number", "claim_status_code",
                     "reversal_of_claim_key", "source_file", "segment_number"),
    "remit_service_lines": ("claim_key", "line_number", "procedure_code", "modifiers",
                            "paid_amount"),
    "remit_adjustments": COLUMNS["remit_adjustments"],
    "remit_payments": ("payment_amount", "trace_number"),
}  # fmt: skip


def test_the_tables_are_those_of_parse_files_cut_to_the_columns(tmp_path: Path) -> None:
    paths = _files(tmp_path)
    full = combine_tables(parse_files(paths))
    slim = parse_835_tables(paths, KEEP)
    assert set(slim) == set(KEEP)  # problems and the PLB table were not asked for
    for name, columns in KEEP.items():
        assert list(slim[name].columns) == list(columns)  # in the table's own order
        expected = full[name][list(columns)]
        pd.testing.assert_frame_equal(slim[name], expected)
        assert records(slim[name]) == records(expected)
    reversals = slim["remit_claims"]["reversal_of_claim_key"].tolist()
    assert reversals.count("835_1:000000001:0001:1") == 1  # an original in an earlier file


def test_equal_texts_are_one_object_and_keys_stay_as_they_are(tmp_path: Path) -> None:
    adjustments = parse_835_tables(_files(tmp_path), KEEP)["remit_adjustments"]
    groups = adjustments["group_code"].tolist()
    assert len(groups) > len(set(groups)) and len(set(map(id, groups))) == len(set(groups))
    assert adjustments["amount"].map(type).isin([D, type(None)]).all()


def test_no_835_no_tables_and_an_unknown_column_is_refused(tmp_path: Path) -> None:
    assert parse_835_tables([SAMPLES / "claim_ack.277"], KEEP) == {}
    assert parse_835_tables([], KEEP) == {}
    with pytest.raises(ValueError, match="remit_claims: no column"):
        parse_835_tables([], {"remit_claims": ("claim_key", "nonsense")})
    with pytest.raises(ValueError, match="not an 835 table"):
        parse_835_tables([], {"problems": ("message",)})
