"""A reporting period (month-end close): what had happened by its end, and what happened in it.

Reconciliation for a period runs on the world *as of its last day*: remittances paid after it
and claims sent after it are left out, so A/R is the balance at the close. The activity tables
(posting, deposits, flags of payments…) then keep the rows dated inside the period; balances
(A/R) and open items without a payment date (no_response, rejected) stay whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import pandas as pd

from pipeline.reconcile.inputs import Submitted, as_date

__all__ = ["ACTIVITY_TABLES", "Period", "activity_in", "restrict_remittance", "restrict_submitted"]

# Tables of dated activity (their ``payment_date`` decides), filtered to the period.
ACTIVITY_TABLES = (
    "payment_posting",
    "pms_posting",
    "payment_balance",
    "reconciliation",
    "flags",
    "underpayments",
    "denials",
    "duplicate_remittance",
    "provider_adjustments",
    "unmatched",
)


@dataclass(frozen=True)
class Period:
    start: date | None = None
    end: date | None = None

    def __post_init__(self) -> None:
        if self.start and self.end and self.start > self.end:
            from pipeline.errors import ReconcileInputError

            raise ReconcileInputError(f"period: --from {self.start} is after --to {self.end}")

    def holds(self, day: date | None) -> bool:
        if day is None:
            return True
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)

    def label(self) -> str:
        if self.start is None and self.end is None:
            return ""
        return f"{self.start or '…'} to {self.end or '…'}"


def restrict_remittance(tables: Mapping[str, pd.DataFrame], end: date) -> dict[str, pd.DataFrame]:
    """The remittance tables without the payments (and their claims, lines, adjustments and PLB)
    dated after ``end``."""
    payments = tables.get("remit_payments")
    if payments is None or payments.empty:
        return dict(tables)
    late = {
        str(t)
        for t, d in zip(payments["trace_number"], payments["payment_date"], strict=True)
        if (as_date(d) or date.min) > end
    }
    out = dict(tables)
    out["remit_payments"] = payments[~payments["trace_number"].astype(str).isin(late)]
    for name in ("remit_claims", "remit_provider_adjustments"):
        frame = tables.get(name)
        if frame is not None and not frame.empty:
            out[name] = frame[~frame["trace_number"].astype(str).isin(late)]
    claims = out.get("remit_claims")
    keys = set() if claims is None else set(claims["claim_key"].astype(str))
    for name in ("remit_service_lines", "remit_adjustments"):
        frame = tables.get(name)
        if frame is not None and not frame.empty:
            out[name] = frame[frame["claim_key"].astype(str).isin(keys)]
    return out


def restrict_submitted(submitted: Submitted, end: date) -> Submitted:
    """Claims sent by ``end`` (by submitted date, else date of service)."""
    claims = submitted.claims
    keep = [
        (as_date(sent) or as_date(dos) or date.min) <= end
        for sent, dos in zip(claims["submitted_date"], claims["service_date_start"], strict=True)
    ]
    kept = claims[keep]
    pcns = set(kept["patient_control_number"].astype(str))
    lines = submitted.lines[submitted.lines["patient_control_number"].astype(str).isin(pcns)]
    return Submitted(claims=kept, lines=lines)


def activity_in(frame: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Rows whose ``payment_date`` is in the period (rows without one stay)."""
    column = "deposit_date" if "deposit_date" in frame.columns else "payment_date"
    if period.start is None or column not in frame.columns or frame.empty:
        return frame
    mask = [period.holds(as_date(d)) for d in frame[column]]
    return frame[mask].reset_index(drop=True)
