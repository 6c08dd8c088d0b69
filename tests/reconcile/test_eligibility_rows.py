"""``EligibilityRows``: the rows the rules and the estimates read are the frame's records
(same cells, same types, same order), read-only, and indexed by member as before."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from pipeline.reconcile.eligibility_rows import EligibilityRows
from pipeline.reconcile.inputs import as_text, records

D = Decimal


def _frame() -> pd.DataFrame:
    copay = D("40.00")  # one object in two rows, as ``_decimals`` shares a plan's amount
    # As pd.DataFrame makes a ledger's 271 rows: a key one row lacks is NaN, an int column
    # is int64; amounts are Decimals (``_eligibility_amounts``), dates are dates.
    rows = [
        {"trace_number": "T1", "member_id": "M1", "benefit_count": 17, "copay": copay,
         "service_date": date(2026, 11, 28), "patient_id": "P1"},
        {"trace_number": "T2", "member_id": "M2", "benefit_count": 3, "copay": copay,
         "service_date": None, "patient_id": None, "extra": "only here"},
        {"trace_number": "T3", "member_id": "M1", "benefit_count": 5, "copay": None,
         "service_date": date(2026, 11, 28), "patient_id": "P3", 7: np.float64(1.5)},
    ]  # fmt: skip
    frame = pd.DataFrame(rows)
    frame["flag"] = [np.bool_(True), False, True]
    return frame


def test_rows_are_the_frame_s_records_cell_for_cell() -> None:
    frame = _frame()
    rows = EligibilityRows(frame)
    expected = records(frame)
    assert len(rows) == 3
    got = [dict(r) for r in rows]
    assert got == expected
    assert [list(r) for r in rows] == [list(e) for e in expected]  # column order
    assert [[type(v) for v in r.values()] for r in got] == [
        [type(v) for v in e.values()] for e in expected
    ]
    assert got[1]["extra"] == "only here" and got[0]["extra"] is None  # NaN -> None
    assert type(got[0]["benefit_count"]) is int and type(got[0]["flag"]) is bool
    first = next(iter(rows))
    assert first.get("nope") is None and "nope" not in first and "copay" in first
    with pytest.raises(KeyError):
        first["nope"]


def test_no_rows_of_an_empty_or_absent_frame() -> None:
    assert list(EligibilityRows(None)) == [] and EligibilityRows(None).by_member() == {}
    empty = _frame().iloc[0:0]
    assert len(EligibilityRows(empty)) == 0 and EligibilityRows(empty).by_member() == {}


def test_by_member_is_the_last_row_of_each_member() -> None:
    frame = _frame()
    frame.loc[1, "member_id"] = None  # no member id: under ""
    expected = {as_text(r.get("member_id")): r for r in records(frame)}
    got = EligibilityRows(frame).by_member()
    assert list(got) == ["M1", ""]
    assert {k: dict(v) for k, v in got.items()} == expected
    assert got["M1"]["trace_number"] == "T3"


def test_rows_cannot_be_changed_and_a_copy_s_edit_stays_in_the_copy() -> None:
    frame = _frame()
    one, two, _ = EligibilityRows(frame)
    assert one["copay"] is two["copay"]  # one shared Decimal: what a copy must not leak
    with pytest.raises(TypeError):
        one["copay"] = D("0")  # type: ignore[index]
    with pytest.raises(TypeError):
        del one["copay"]  # type: ignore[attr-defined]
    edited = dict(one) | {"copay": D("0"), "member_id": "X"}
    assert edited["copay"] == D("0")
    assert (one["copay"], two["copay"], one["member_id"]) == (D("40.00"), D("40.00"), "M1")
    assert frame["copay"].tolist()[:2] == [D("40.00"), D("40.00")]
