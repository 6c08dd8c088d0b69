"""Tables built column by column from row tuples, as ``pd.DataFrame(rows, columns=...)`` builds
them (the same cells and dtypes) at a fraction of its peak.

``pd.DataFrame(rows)`` holds the rows' tuples, a 2-D object array of their cells and then the
consolidated copy of that array at once: at 100k claims about three times the table's own
pointers. Here rows are read in chunks and their cells appended to one list per column, so the
tuples of one chunk at most are alive beside the column lists; each list then becomes its
column (typed as ``DataFrame`` types a column of rows) and is freed before the next, and the
columns are not consolidated into a 2-D copy.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

import numpy as np
import pandas as pd
from pandas.core.internals.construction import convert_object_array

__all__ = ["drain", "frame_from_rows"]

# Rows read at a time: their tuples are all that is alive beside the columns being filled.
_CHUNK = 4096


def frame_from_rows(rows: Iterable[Sequence[Any]], columns: Sequence[str]) -> pd.DataFrame:
    """``pd.DataFrame(list(rows), columns=list(columns))``: the same cells, dtypes and index.

    ``rows``: tuples in ``columns`` order, best a generator (or :func:`drain` of a list) so
    that no list of every row's tuple is ever held."""
    names = list(columns)
    cells: list[list[Any]] = [[] for _ in names]
    source = iter(rows)
    while chunk := list(islice(source, _CHUNK)):
        if len(chunk[0]) != len(names):
            raise ValueError(f"{len(names)} columns passed, passed data had {len(chunk[0])}")
        for column, values in zip(cells, zip(*chunk, strict=True), strict=True):
            column.extend(values)
        del chunk
    if not cells or not cells[0]:
        return pd.DataFrame([], columns=names)
    arrays: dict[str, Any] = {}
    for i, name in enumerate(names):
        array = np.empty(len(cells[i]), dtype=object)
        array[:] = cells[i]
        cells[i] = []  # this column's list goes before the next column's array is made
        # What pd.DataFrame(rows) does with each column of its 2-D object array.
        arrays[name] = convert_object_array([array], dtype=None)[0]
    return pd.DataFrame(arrays, columns=names, copy=False)


def drain(rows: list[Any]) -> Iterator[Any]:
    """The list's items in order, each chunk removed from the list once read (the list is
    empty at the end): its rows go while their table fills."""
    while rows:
        chunk = rows[:_CHUNK]
        del rows[:_CHUNK]
        yield from chunk
