"""Tables built column by column are the tables ``pd.DataFrame(rows)`` built: the same cells,
cell types, dtypes and index; and a flag read through :class:`FlagRow` is the dict it was."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from pipeline.reconcile.aging import AR_CLAIM_COLUMNS, _ar_rows, ar_claims
from pipeline.reconcile.flags import FLAG_COLUMNS, FLAG_ROW, FlagRow
from pipeline.reconcile.frames import drain, frame_from_rows
from pipeline.reconcile.matching import MatchResult, match_remittance
from pipeline.reconcile.posting import (
    PMS_POSTING_COLUMNS,
    POSTING_COLUMNS,
    _pms_posting_rows,
    _posting_rows,
    claim_recoupments,
    payment_posting,
    pms_posting,
)
from pipeline.reconcile.rules import RECONCILIATION_ROW, Thresholds, evaluate_rows
from tests.reconcile import scenario

D = Decimal

# One column per kind of cell the tables hold, and the dtypes pandas gives them.
_KINDS: dict[str, tuple[Any, Any]] = {
    "text": ("a", "b"),
    "text_or_nan": ("a", math.nan),
    "all_nan": (math.nan, math.nan),  # float64
    "all_none": (None, None),
    "bool": (True, False),  # bool
    "bool_or_none": (True, None),
    "int": (1, 2),  # int64
    "int_or_none": (1, None),  # float64
    "money": (D("1.00"), None),
    "day": (date(2025, 1, 2), None),
    "moment": (datetime(2025, 1, 2, 3), None),  # datetime64
    "mixed": (1, "a"),
}


def _same(expected: pd.DataFrame, got: pd.DataFrame) -> None:
    assert_frame_equal(expected, got, check_dtype=True, check_index_type=True, check_exact=True)
    for column in expected.columns:
        for old, new in zip(expected[column], got[column], strict=True):
            assert type(old) is type(new), (column, old, new)
            if old == old:  # not NaN
                assert str(old) == str(new), (column, old, new)


def test_each_kind_of_column_gets_the_dtype_rows_gave_it() -> None:
    names = list(_KINDS)
    rows = [tuple(v[i % 2] for v in _KINDS.values()) for i in range(5)]
    built = frame_from_rows(iter(rows), names)
    _same(pd.DataFrame(rows, columns=names), built)
    assert str(built["bool"].dtype) == "bool" and str(built["all_nan"].dtype) == "float64"
    assert str(built["int"].dtype) == "int64" and str(built["moment"].dtype).startswith("datetime")
    assert str(built["money"].dtype) == "object" and str(built["day"].dtype) == "object"


def test_a_column_typed_over_every_chunk_not_the_first() -> None:
    # 10,000 rows: more than one chunk. A None in the last row makes the bool column object,
    # a text in the last row the int column object.
    rows = [(True, i, D(i)) for i in range(10_000)]
    rows[-1] = (None, "x", D(0))
    names = ["flag", "number", "amount"]
    built = frame_from_rows(iter(rows), names)
    _same(pd.DataFrame(rows, columns=names), built)
    assert str(built["flag"].dtype) == "object" and str(built["number"].dtype) == "object"
    whole = frame_from_rows(((True, i) for i in range(10_000)), ["flag", "number"])
    assert str(whole["flag"].dtype) == "bool" and str(whole["number"].dtype) == "int64"


def test_no_rows_and_rows_of_the_wrong_width() -> None:
    _same(pd.DataFrame([], columns=["a", "b"]), frame_from_rows(iter([]), ["a", "b"]))
    with pytest.raises(ValueError):
        frame_from_rows(iter([(1, 2, 3)]), ["a", "b"])
    with pytest.raises(ValueError):
        frame_from_rows(iter([(1, 2), (1, 2, 3)]), ["a", "b"])


def test_drain_yields_in_order_and_empties_the_list() -> None:
    rows = [(i,) for i in range(9_000)]
    copy = list(rows)
    assert list(drain(rows)) == copy and rows == []


def _match() -> MatchResult:
    return match_remittance(scenario.remittance().tables(), scenario.submitted())


def test_the_posting_tables_are_what_their_rows_made() -> None:
    match = _match()
    posting = payment_posting(match)
    _same(pd.DataFrame(list(_posting_rows(match)), columns=list(POSTING_COLUMNS)), posting)
    assert set(posting.entry) == {"line", "provider_adjustment"}
    old_pms = pd.DataFrame(list(_pms_posting_rows(match)), columns=list(PMS_POSTING_COLUMNS))
    for column in ("group_code", "reason_code", "line_control_number", "procedure_code"):
        old_pms[column] = old_pms[column].fillna("")
    pms = pms_posting(match)
    _same(old_pms, pms)
    assert set(pms.record_type) == {"PAY", "ADJ", "PLB"}


def _evaluated(match: MatchResult) -> tuple[list[Any], list[tuple[Any, ...]]]:
    return evaluate_rows(
        match,
        scenario.payers(),
        scenario.fee_schedule(),
        scenario.codes(),
        Thresholds(D("5.00"), D("3")),
        scenario.AS_OF,
    )


def test_the_reconciliation_flags_and_ar_tables_are_what_their_rows_made() -> None:
    match = _match()
    typed, recon = _evaluated(match)
    old_recon = pd.DataFrame(recon, columns=list(RECONCILIATION_ROW))
    _same(old_recon, frame_from_rows(drain(recon), RECONCILIATION_ROW))
    names = {k: p.name for k, p in scenario.payers().items()}
    dicts = [f.row() | {"payer_name": names.get(f.payer, "")} for f in typed]
    views = [FlagRow(f, names.get(f.payer, "")) for f in typed]
    for i, (d, v) in enumerate(zip(dicts, views, strict=True)):
        if i % 3 == 0:  # some appealed (the worklist's key), the rest without one (NaN)
            d["appeal_id"] = v["appeal_id"] = f"{d['patient_control_number']}-x"
    old_flags = pd.DataFrame(dicts, columns=list(FLAG_ROW))
    _same(old_flags, frame_from_rows((v.cells() for v in views), FLAG_ROW))
    args = (match, typed, scenario.AS_OF, scenario.codes(), claim_recoupments(match))
    old_ar = pd.DataFrame(list(_ar_rows(*args)), columns=list(AR_CLAIM_COLUMNS))
    assert len(old_ar)
    _same(old_ar, ar_claims(*args))


def test_a_flag_row_reads_as_the_dict_it_replaces() -> None:
    typed, _ = _evaluated(_match())
    assert typed
    for flag in typed:
        view = FlagRow(flag, "Payer Name")
        expected = flag.row() | {"payer_name": "Payer Name"}
        assert dict(view) == expected and list(view) == list(expected)
        assert len(view) == len(expected) == len(FLAG_COLUMNS) + 1
        assert "appeal_id" not in view and view.get("appeal_id") is None
        assert view.get("no such key", "x") == "x" and "no such key" not in view
        with pytest.raises(KeyError):
            view["appeal_id"]
        view["appeal_id"] = "A-1"
        expected["appeal_id"] = "A-1"
        assert dict(view) == expected and list(view) == list(expected)
        assert "appeal_id" in view and view["appeal_id"] == "A-1"
        cells = view.cells()
        assert cells[-2:] == ("A-1", "Payer Name") and len(cells) == len(FLAG_ROW)
        with pytest.raises(KeyError):
            view["flag"] = "something else"  # the finding is read-only here
        del view["appeal_id"]
        assert "appeal_id" not in view and np.isnan(view.cells()[-2])
