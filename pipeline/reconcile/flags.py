"""One finding of reconciliation: a typed row of the ``flags`` table (DESIGN.md § Reconciliation).

The dataclass *is* the column list: :data:`FLAG_COLUMNS` are its fields, in order, the DESIGN
columns first. :class:`Flag` rows become dicts only at the table boundary (:meth:`Flag.row`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Any

__all__ = ["FLAG_COLUMNS", "FLAG_NAMES", "Flag"]

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
