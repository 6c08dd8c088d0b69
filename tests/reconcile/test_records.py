"""``records``: rows as plain dicts, missing cells None, NumPy scalars as Python ones — the
same rows ``DataFrame.to_dict("records")`` gives, whatever the column types."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd

from pipeline.reconcile.inputs import records


def test_missing_cells_are_none_and_numpy_cells_are_python() -> None:
    frame = pd.DataFrame(
        {
            "amount": [Decimal("12.50"), None],
            "paid": [1.5, np.nan],
            "count": [np.int64(3), np.int64(4)],
            "when": pd.to_datetime(["2026-11-27", None]),
            "day": [date(2026, 11, 27), pd.NaT],
            "units": pd.array([2, None], dtype="Int64"),
            "flag": [np.bool_(True), False],
        }
    )
    rows = records(frame)
    assert rows[0] == {
        "amount": Decimal("12.50"),
        "paid": 1.5,
        "count": 3,
        "when": pd.Timestamp("2026-11-27"),
        "day": date(2026, 11, 27),
        "units": 2,
        "flag": True,
    }
    assert type(rows[0]["count"]) is int and type(rows[0]["flag"]) is bool
    assert rows[1] == dict.fromkeys(rows[1], None) | {"count": 4, "flag": False}


def test_records_match_to_dict_on_mixed_columns() -> None:
    frame = pd.DataFrame(
        {
            "pcn": ["A1", "B2", None],
            "mixed": [np.float64("nan"), "x", Decimal("1")],
            1: [1, 2, 3],  # a non-text column name comes back as text
        }
    )
    expected = [
        {str(k): (None if pd.isna(v) else v) for k, v in row.items()}
        for row in frame.astype(object).to_dict("records")
    ]
    assert records(frame) == expected
    assert records(frame.iloc[0:0]) == [] and records(None) == []
