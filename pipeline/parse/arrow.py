"""Row-chunk columns -> Arrow arrays for the Parquet writer, without pandas.

``pyarrow.array`` on a Python list first asks pandas whether the list is one of its array
types, which imports pandas (a quarter of a second of a ``claimflow parse`` run), and then
converts element by element. Here the Arrow buffers are put together with numpy instead:
strings as one joined buffer plus offsets, integers and booleans as numpy arrays, and
decimals once per distinct value (remittance amounts repeat: ``0``, ``50``, ``105``...)
then gathered by index. A value these builders do not take (a decimal needing more than
the column's 10 places, an object of another type) sends the column to ``pyarrow.array``,
which converts it or raises exactly as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from itertools import repeat
from operator import is_, is_not
from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["arrow_column"]

_INT32_MAX = 2**31 - 1
_DECIMAL_MAX = 10**38
_SEP = "\x1f"  # ASCII unit separator: never in X12 data (a control character)
_SEP_BYTE = 0x1F  # decimal128(38, s): at most 38 digits unscaled


def arrow_column(values: Sequence[Any], arrow_type: pa.DataType) -> pa.Array:
    """``values`` (a column of a row chunk; ``None`` is null) as an array of ``arrow_type``
    (string, int64, bool or decimal128): the same array ``pyarrow.array`` would make."""
    try:
        if pa.types.is_string(arrow_type):
            return _strings(values)
        if pa.types.is_decimal128(arrow_type):
            return _decimals(values, arrow_type)
        if pa.types.is_int64(arrow_type):
            return _integers(values)
        if pa.types.is_boolean(arrow_type):
            return _booleans(values)
    except (TypeError, ValueError, OverflowError, UnicodeError):
        pass  # not what the fast builders take: pyarrow's converter decides
    return pa.array(values, type=arrow_type)


def _validity(values: Sequence[Any], nulls: int) -> pa.Buffer | None:
    """The Arrow validity bitmap of ``values`` (``None`` when nothing is null)."""
    if not nulls:
        return None
    valid = np.fromiter(map(is_not, values, repeat(None)), dtype=np.bool_, count=len(values))
    return pa.py_buffer(np.packbits(valid, bitorder="little"))


def _strings(values: Sequence[Any]) -> pa.Array:
    size = len(values)
    try:
        # One join with a separator no value holds, then numpy finds the cuts and drops
        # the separators: no per-value work in Python (ASCII, no unit separator inside).
        joined = _SEP.join(values)
        nulls, bitmap = 0, None
    except TypeError:  # a None (null), or a non-string: pyarrow's converter decides
        nulls = sum(map(is_, values, repeat(None)))
        if not nulls:
            raise
        if nulls == size:
            return pa.nulls(size, pa.string())
        bitmap = _validity(values, nulls)
        values = ["" if v is None else v for v in values]
        joined = _SEP.join(values)
    if joined.isascii() and joined.count(_SEP) == size - 1:
        raw = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
        cut = raw == _SEP_BYTE
        data = raw[~cut]
        offsets = np.empty(size + 1, dtype=np.int64)
        offsets[0], offsets[-1] = 0, len(data)
        offsets[1:-1] = np.flatnonzero(cut)
        offsets[1:-1] -= np.arange(size - 1)
    else:
        encoded = [v.encode() for v in values]
        data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        offsets = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=size), out=offsets[1:])
    if len(data) > _INT32_MAX:
        raise OverflowError("column too large for 32-bit offsets")
    buffers = [bitmap, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)]
    return pa.Array.from_buffers(pa.string(), size, buffers, null_count=nulls)


def _integers(values: Sequence[Any]) -> pa.Array:
    size = len(values)
    nulls = values.count(None)
    if nulls == size:
        return pa.nulls(size, pa.int64())
    bitmap = _validity(values, nulls)
    if nulls:
        values = [0 if v is None else v for v in values]
    if not set(map(type, values)) <= {int}:
        raise TypeError("not all ints")  # numpy would truncate floats; pyarrow refuses them
    data = np.fromiter(values, dtype=np.int64, count=size)
    return pa.Array.from_buffers(pa.int64(), size, [bitmap, pa.py_buffer(data)], null_count=nulls)


def _booleans(values: Sequence[Any]) -> pa.Array:
    size = len(values)
    nulls = values.count(None)
    if nulls == size:
        return pa.nulls(size, pa.bool_())
    if not all(v is None or type(v) is bool for v in values):
        raise TypeError("not all bools")
    bitmap = _validity(values, nulls)
    truth = np.fromiter(map(is_not, values, repeat(False)), dtype=np.bool_, count=size)
    if nulls:
        truth &= np.fromiter(map(is_not, values, repeat(None)), dtype=np.bool_, count=size)
    data = pa.py_buffer(np.packbits(truth, bitorder="little"))
    return pa.Array.from_buffers(pa.bool_(), size, [bitmap, data], null_count=nulls)


def _decimals(values: Sequence[Any], arrow_type: pa.Decimal128Type) -> pa.Array:
    size = len(values)
    scale = 10**arrow_type.scale
    limit = min(_DECIMAL_MAX, 10**arrow_type.precision)
    # Distinct objects by identity (the parser shares one Decimal per amount text): no
    # Decimal is hashed or compared per value, and each distinct one is converted once.
    ids = np.fromiter(map(id, values), dtype=np.uintp, count=size)
    _, first, index = np.unique(ids, return_index=True, return_inverse=True)
    words = bytearray()
    valid = bytearray()
    for position in first.tolist():
        value = values[position]
        if value is None:
            unscaled = 0
        else:
            if type(value) is not Decimal:
                raise TypeError("not a Decimal")
            numerator, denominator = value.as_integer_ratio()  # ValueError/Overflow if NaN/inf
            if scale % denominator:
                raise ValueError("more decimal places than the column keeps")
            unscaled = numerator * (scale // denominator)
            if not -limit < unscaled < limit:
                raise OverflowError("too many digits for the column")
        words += unscaled.to_bytes(16, "little", signed=True)
        valid.append(value is not None)
    table = np.frombuffer(bytes(words), dtype=np.int64).reshape(-1, 2)
    data = pa.py_buffer(np.ascontiguousarray(table[index]))
    bitmap, nulls = None, 0
    if not all(valid):
        present = np.frombuffer(bytes(valid), dtype=np.bool_)[index]
        nulls = size - int(np.count_nonzero(present))
        bitmap = pa.py_buffer(np.packbits(present, bitorder="little"))
    return pa.Array.from_buffers(arrow_type, size, [bitmap, data], null_count=nulls)
