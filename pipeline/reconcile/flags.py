"""One finding of reconciliation: a typed row of the ``flags`` table (DESIGN.md § Reconciliation).

The dataclass *is* the column list: :data:`FLAG_COLUMNS` are its fields, in order, the DESIGN
columns first. :class:`Flag` rows become dicts only at the table boundary (:meth:`Flag.row`);
reconcile reads them through :class:`FlagRow`, the flags table's row without a dict.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from operator import attrgetter
from typing import Any

import numpy as np

__all__ = ["FLAG_COLUMNS", "FLAG_NAMES", "FLAG_ROW", "Flag", "FlagRow"]

# Every flag this package writes (DESIGN.md names; ``misclassified_co45`` is DOMAIN.md §12
# step 8: CO-45 on an out-of-network claim with no contract behind it).
FLAG_NAMES = (
    "underpaid",
    "nsa_violation",
    "payment_dispute",
    "denied_appealable",
    "denied_correctable",
    "rejected_correct_resubmit",
    "overpayment",
    "misclassified_co45",
    "paid_to_patient",
    "patient_responsibility",
    "no_response",
)


@dataclass
class Flag:
    # DESIGN.md (fixed)
    patient_control_number: str
    line_control_number: str  # empty at claim level
    payer: str
    flag: str
    reason: str
    basis: str  # contract | ucr | qpa | carc | ""
    expected_amount: Decimal | None
    paid_amount: Decimal | None
    amount_at_stake: Decimal | None
    deadline: date | None
    action: str
    # more
    claim_key: str = ""
    trace_number: str = ""
    payment_date: date | None = None
    procedure_code: str = ""
    group_code: str = ""
    carc: str = ""
    rarc: str = ""
    letter: str = ""
    idr_window_start: date | None = None
    idr_window_end: date | None = None

    def row(self) -> dict[str, Any]:
        # The fields are text, amounts and dates: a plain copy (``asdict`` deep-copies each).
        return {name: getattr(self, name) for name in FLAG_COLUMNS}


FLAG_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Flag))


# The flags table's columns: the fields, then what reconcile adds (the worklist's appeal_id,
# the payer profile's name).
FLAG_ROW: tuple[str, ...] = (*FLAG_COLUMNS, "appeal_id", "payer_name")
_FIELDS = frozenset(FLAG_COLUMNS)
_CELLS = attrgetter(*FLAG_COLUMNS)
_NO_APPEAL = object()


class FlagRow(MutableMapping[str, Any]):
    """A finding as the worklist, the NSA tables and the letters read it: what
    ``flag.row() | {"payer_name": name}`` was (a 24-key dict per finding, most of reconcile's
    memory between the rules and the tables at 100k claims), as a view of the :class:`Flag`.

    Only ``appeal_id`` (set by the worklist; absent until then) and ``payer_name`` can be set:
    the finding itself is read-only here."""

    __slots__ = ("_appeal_id", "_flag", "_payer_name")

    def __init__(self, flag: Flag, payer_name: str) -> None:
        self._flag = flag
        self._payer_name = payer_name
        self._appeal_id: object = _NO_APPEAL

    def __getitem__(self, key: str) -> Any:
        if key in _FIELDS:
            return getattr(self._flag, key)
        if key == "payer_name":
            return self._payer_name
        if key == "appeal_id" and self._appeal_id is not _NO_APPEAL:
            return self._appeal_id
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        if key == "appeal_id":
            return self._appeal_id is not _NO_APPEAL
        return key in _FIELDS or key == "payer_name"

    def __setitem__(self, key: str, value: Any) -> None:
        if key == "appeal_id":
            self._appeal_id = value
        elif key == "payer_name":
            self._payer_name = value
        else:
            raise KeyError(f"{key}: a finding's own columns are read-only")

    def __delitem__(self, key: str) -> None:
        if key != "appeal_id" or self._appeal_id is _NO_APPEAL:
            raise KeyError(key)
        self._appeal_id = _NO_APPEAL

    def __iter__(self) -> Iterator[str]:
        yield from FLAG_COLUMNS
        yield "payer_name"
        if self._appeal_id is not _NO_APPEAL:
            yield "appeal_id"

    def __len__(self) -> int:
        return len(FLAG_COLUMNS) + 1 + (self._appeal_id is not _NO_APPEAL)

    def cells(self) -> tuple[Any, ...]:
        """The row in :data:`FLAG_ROW` order; no appeal: NaN, as ``pd.DataFrame(dicts)`` put
        a key a row did not have."""
        appeal_id = np.nan if self._appeal_id is _NO_APPEAL else self._appeal_id
        return (*_CELLS(self._flag), appeal_id, self._payer_name)
