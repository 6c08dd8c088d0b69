"""Reconciliation: match 835s to claims, post, expected amounts, flags, NSA clocks, appeals.

Entry point: :func:`reconcile` (``pipeline.reconcile.engine``); inputs are documented in
:mod:`pipeline.reconcile.inputs`. This package imports pandas: import it lazily from the CLI.
"""

from __future__ import annotations

from pipeline.reconcile.engine import TABLES, ReconcileResult, reconcile
from pipeline.reconcile.inputs import Submitted, submitted_from_practice, submitted_from_records
from pipeline.reconcile.reference import (
    load_code_book,
    load_fee_schedule,
    load_payers,
)
from pipeline.reconcile.rules import Thresholds

__all__ = [
    "TABLES",
    "ReconcileResult",
    "Submitted",
    "Thresholds",
    "load_code_book",
    "load_fee_schedule",
    "load_payers",
    "reconcile",
    "submitted_from_practice",
    "submitted_from_records",
]
