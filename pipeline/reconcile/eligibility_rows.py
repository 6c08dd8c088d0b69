"""The ``eligibility_summary`` rows the rules and the patient estimates read, as read-only
views of the frame's own columns.

``records(frame)`` made a dict per 271 (45 keys: ~2.4 KB each, 250 MB at a 100k night's
110k answers) though a claim reads two or three of its cells. A :class:`SummaryRow` is two
references; its cells are the frame's, the same values ``records`` gives (missing ones
``None``, NumPy scalars as Python ones). It cannot be changed, so no reader can alter what
another reads, or the ``eligibility_summary`` export.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

import pandas as pd

from pipeline.reconcile.inputs import _PLAIN_CELLS, _native_column, as_text

__all__ = ["EligibilityRows", "SummaryRow"]


class _Cells(Protocol):
    """A column's cells by row number: a list, or the frame's own object array."""

    def __getitem__(self, i: int, /) -> Any: ...


class EligibilityRows:
    """The rows of an ``eligibility_summary`` frame, in its order (see the module docstring).

    Holds the frame's object columns as they are (a NumPy view, no copy) when every cell is
    a plain Python value; only other columns (NaN, NumPy scalars) are converted, as
    ``records`` converts them. The frame must not change while the rows are read.
    """

    __slots__ = ("_columns", "_index", "_length")

    def __init__(self, frame: pd.DataFrame | None) -> None:
        empty = frame is None or frame.empty
        names = [] if frame is None or empty else [str(k) for k in frame.columns]
        # A name twice keeps its first place and its last column, as dict(zip(...)) does.
        self._index: dict[str, int] = {name: i for i, name in enumerate(names)}
        self._columns: list[_Cells] = (
            [] if frame is None or empty else [_cells(frame.iloc[:, i]) for i in range(len(names))]
        )
        self._length = 0 if frame is None or empty else len(frame)

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[SummaryRow]:
        return (SummaryRow(self, i) for i in range(self._length))

    def by_member(self) -> dict[str, SummaryRow]:
        """Member id (as text) → its row; the last row of a member wins."""
        where = self._index.get("member_id")
        if where is None:
            return {"": SummaryRow(self, self._length - 1)} if self._length else {}
        ids = self._columns[where]
        return {as_text(ids[i]): SummaryRow(self, i) for i in range(self._length)}


class SummaryRow(Mapping[str, Any]):
    """One row of :class:`EligibilityRows`: a read-only mapping, column name → cell."""

    __slots__ = ("_i", "_rows")

    def __init__(self, rows: EligibilityRows, i: int) -> None:
        self._rows = rows
        self._i = i

    def __getitem__(self, key: str) -> Any:
        rows = self._rows
        return rows._columns[rows._index[key]][self._i]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows._index)

    def __len__(self) -> int:
        return len(self._rows._index)

    def __repr__(self) -> str:
        return f"SummaryRow({dict(self)!r})"


def _cells(column: pd.Series) -> _Cells:
    """The column's cells as ``records`` gives them, sharing the frame's array when it can."""
    values = column.to_numpy()
    if values.dtype == object and set(map(type, values.tolist())) <= _PLAIN_CELLS:
        return values
    return _native_column(column)
