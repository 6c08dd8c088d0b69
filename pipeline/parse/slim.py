"""835 rows of several files into one set of tables, keeping only the columns a reader names.

For a reader that holds the remittance tables through a long computation (reconciliation
re-reads every 835 posted so far): no table per file and no concatenated copy of them, a
column nobody reads is dropped as its row arrives, and a text that repeats ("CO", "45",
"HC", "CI") is held once — the parser makes a new string for every element it reads.
The frames are those :func:`~pipeline.parse.parse_file` gives, cut to the columns named:
the same values, the same dtypes, the same row order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from pipeline.parse.t835 import RemitPayment, RemitProviderAdjustment
from pipeline.parse.tables import COLUMNS, to_frame

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SlimTables"]

_REMIT = (
    "remit_payments",
    "remit_claims",
    "remit_service_lines",
    "remit_adjustments",
    "remit_provider_adjustments",
)
_SAMPLE = 1_000  # values looked at to tell a column of repeated texts from one of keys


class SlimTables:
    """A :class:`~pipeline.parse.t835.RemitSink` keeping the ``columns`` named per table
    (in the table's own order); the tables not named are not kept at all.

    Cells are kept column by column (a list per kept column), not as a tuple per row: no
    row tuples freed between the cells kept once the frames are built (they left the heap
    full of holes), and each column's list goes as soon as its array is made.
    """

    def __init__(self, columns: Mapping[str, Iterable[str]]) -> None:
        self.columns: dict[str, tuple[str, ...]] = {}
        self._positions: dict[str, tuple[int, ...]] = {}
        for table, names in columns.items():
            if table not in _REMIT:
                raise ValueError(f"{table}: not an 835 table")
            wanted = set(names)
            unknown = wanted - set(COLUMNS[table])
            if unknown:
                raise ValueError(f"{table}: no column(s) {', '.join(sorted(unknown))}")
            kept = tuple(c for c in COLUMNS[table] if c in wanted)
            self.columns[table] = kept
            self._positions[table] = tuple(COLUMNS[table].index(c) for c in kept)
        # table -> one list of cells per kept column
        self.cells: dict[str, list[list[Any]]] = {
            t: [[] for _ in names] for t, names in self.columns.items()
        }

    # -- RemitSink ------------------------------------------------------------------
    def claim(
        self,
        claim: list[Any],
        adjustments: list[list[Any]],
        lines: list[list[Any]],
        line_adjustments: list[list[list[Any]]],
    ) -> None:
        cells = self.cells
        if "remit_claims" in cells:
            self._add("remit_claims", (claim,))
        if "remit_service_lines" in cells and lines:
            self._add("remit_service_lines", lines)
        if "remit_adjustments" in cells:  # claim-level CAS first, then each line's
            if adjustments:
                self._add("remit_adjustments", adjustments)
            for adjusted in line_adjustments:
                if adjusted:
                    self._add("remit_adjustments", adjusted)

    def provider_adjustment(self, record: RemitProviderAdjustment) -> None:
        self._record("remit_provider_adjustments", record)

    def payment(self, record: RemitPayment) -> None:
        self._record("remit_payments", record)

    def _add(self, table: str, rows: Sequence[list[Any]]) -> None:
        for column, position in zip(self.cells[table], self._positions[table], strict=True):
            column.extend(map(itemgetter(position), rows))

    def _record(self, table: str, record: object) -> None:
        if table in self.cells:
            for column, name in zip(self.cells[table], self.columns[table], strict=True):
                column.append(getattr(record, name))

    # -- the frames -----------------------------------------------------------------
    def frames(self) -> dict[str, pd.DataFrame]:
        """Every kept table as a DataFrame; the cells are let go table by table."""
        return {table: self._frame(table) for table in list(self.cells)}

    def _frame(self, table: str) -> pd.DataFrame:
        import numpy as np
        import pandas as pd

        cells = self.cells.pop(table)
        names = self.columns[table]
        count = len(cells[0]) if cells else 0
        dtypes = to_frame(table, []).dtypes  # the parser's own: Int64 counters, objects
        texts = [n for n in names if dtypes[n] == np.dtype(object)]
        # One object block filled column by column: pandas takes it as it is (no copy).
        block = np.empty((len(texts), count), dtype=object)
        for i, name in enumerate(texts):
            position = names.index(name)
            block[i, :] = _shared(cells[position])
            cells[position] = []  # its cells are in the block now
        frame = pd.DataFrame(block.T, columns=list(texts), copy=False)
        for position, name in enumerate(names):
            if name not in texts:
                frame.insert(position, name, pd.array(cells[position], dtype=dtypes[name]))
                cells[position] = []
        return frame


def _shared(values: list[Any]) -> list[Any]:
    """``values`` with equal texts one object, when the column repeats its texts (a column
    of claim keys is left as it is: a dict of them all would cost more than it saves)."""
    sample = [v for v in values[:_SAMPLE] if v.__class__ is str]
    if len(set(sample)) > len(sample) // 2:
        return values
    seen: dict[str, str] = {}
    keep = seen.setdefault
    return [keep(v, v) if v.__class__ is str else v for v in values]
