"""Accounts receivable per claim and aged by payer.

Per claim: A/R = charges − payments − adjustments, where payments are Σ CLP04 and adjustments
Σ CAS (claim and line, every group) over every 835 claim for the PCN, reversals included — so a
reversed payment returns to A/R and a claim not yet answered carries its whole charge. Age is
counted from the date of service (the first line's date when the claim has none).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd

from pipeline.reconcile.matching import MatchResult

__all__ = [
    "AGING_BUCKETS",
    "AR_AGING_COLUMNS",
    "AR_CLAIM_COLUMNS",
    "ar_aging",
    "ar_claims",
    "bucket",
]

ZERO = Decimal(0)
AGING_BUCKETS = ("0_30", "31_60", "61_90", "91_120", "120_plus")
AR_CLAIM_COLUMNS = (
    "patient_control_number",
    "payer_id",
    "service_date",
    "age_days",
    "bucket",
    "charge_amount",
    "paid_amount",
    "adjustment_amount",
    "patient_responsibility",
    "ar_balance",
    "remittances",
)
AR_AGING_COLUMNS = ("payer_id", "claims", *AGING_BUCKETS, "total")


def bucket(age_days: int) -> str:
    if age_days <= 30:
        return "0_30"
    if age_days <= 60:
        return "31_60"
    if age_days <= 90:
        return "61_90"
    if age_days <= 120:
        return "91_120"
    return "120_plus"


def ar_claims(match: MatchResult, as_of: date) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for pcn, claim in match.claims.items():
        remits = [r for r in match.remits if r.matched_claim == pcn]
        paid = sum((r.paid_amount for r in remits), ZERO)
        adjs = [a for r in remits for a in r.all_adjustments()]
        adjusted = sum((a.amount for a in adjs), ZERO)
        patient = sum((a.amount for a in adjs if a.group_code == "PR"), ZERO)
        dos = claim.service_date_start or min(
            (ln.service_date for ln in claim.lines if ln.service_date), default=as_of
        )
        age = max((as_of - dos).days, 0)
        rows.append(
            {
                "patient_control_number": pcn,
                "payer_id": claim.payer_id,
                "service_date": dos,
                "age_days": age,
                "bucket": bucket(age),
                "charge_amount": claim.charge_amount,
                "paid_amount": paid,
                "adjustment_amount": adjusted,
                "patient_responsibility": patient,
                "ar_balance": claim.charge_amount - paid - adjusted,
                "remittances": len(remits),
            }
        )
    return pd.DataFrame(rows, columns=list(AR_CLAIM_COLUMNS))


def ar_aging(claims: pd.DataFrame) -> pd.DataFrame:
    """Open balances (≠ 0) by payer and age bucket; a ``TOTAL`` row at the end."""
    by_payer: dict[str, dict[str, Any]] = {}
    for row in claims.to_dict("records"):
        if row["ar_balance"] == ZERO:
            continue
        entry = by_payer.setdefault(
            row["payer_id"],
            {"payer_id": row["payer_id"], "claims": 0, **dict.fromkeys(AGING_BUCKETS, ZERO)},
        )
        entry["claims"] += 1
        entry[row["bucket"]] += row["ar_balance"]
    rows = [by_payer[k] for k in sorted(by_payer)]
    for r in rows:
        r["total"] = sum((r[b] for b in AGING_BUCKETS), ZERO)
    total: dict[str, Any] = {"payer_id": "TOTAL", "claims": sum(r["claims"] for r in rows)}
    for col in (*AGING_BUCKETS, "total"):
        total[col] = sum((r[col] for r in rows), ZERO)
    return pd.DataFrame([*rows, total], columns=list(AR_AGING_COLUMNS))
