"""Accounts receivable per claim chain — insurance and patient — and aged.

A *chain* is a claim and the versions that replace or void it: the same PCN (the ledger's claim
versions), or a replacement/void (frequency 7/8) whose REF*F8 names an earlier claim's payer
claim control number (CLP07). The chain's charge is its current version's (0 once voided: a
void closes the original at 0). Per chain, every dollar of the charge is in exactly one place:

    charge = prior payers' paid + their adjustments          (secondary claims, from 2320:
                                                              prior_*_amount columns)
           + paid (Σ CLP04 − PLB recouped from the claim)
           + adjustments (write-offs)
           + patient_responsibility (patient A/R: what the patient is billed)
           + ar_balance (insurance A/R)

Only money in these books counts: duplicates are never posted, and a reversal whose original
predates the ledger (it reverses a payment never posted here) is left out. Insurance A/R is the
charge not yet adjudicated (a rejected claim included), a denial that is being appealed (kept
in the ``denied_in_appeal`` bucket, not written off), a recoupment not yet explained, and a
credit balance (negative: a payer paid more than was owed). Insurance A/R is aged from the date
of service, patient A/R from the payment that made it the patient's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd

from pipeline.reconcile.flags import Flag
from pipeline.reconcile.frames import frame_from_rows
from pipeline.reconcile.matching import MatchResult, RemitClaim, SubClaim
from pipeline.reconcile.reference import CodeBook
from pipeline.reconcile.sharing import Amounts

__all__ = [
    "AGING_BUCKETS",
    "AR_AGING_COLUMNS",
    "AR_CLAIM_COLUMNS",
    "PATIENT_AGING_COLUMNS",
    "ar_aging",
    "ar_claims",
    "bucket",
    "chains",
    "patient_aging",
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
    "patient_responsibility",  # patient A/R
    "ar_balance",  # insurance A/R (in_appeal and credit balances included)
    "remittances",
    "chain",  # every PCN of the chain, oldest first
    "status",
    "payer_name",
    "responsibility",  # SBR01 of this payer: P, S, T
    "prior_paid_amount",
    "prior_adjustment_amount",
    "in_appeal_amount",
    "recouped_amount",
    "patient_since",
    "patient_name",
)
AR_AGING_COLUMNS = (
    "payer_id",
    "claims",
    *AGING_BUCKETS,
    "total",
    "payer_name",
    "denied_in_appeal",
    "credit_balance",
)
PATIENT_AGING_COLUMNS = ("patient_name", "claims", *AGING_BUCKETS, "total")
_IN_APPEAL_STATES = frozenset({"appeal_due", "appealed"})
_PATIENT_FLAGS = frozenset({"patient_responsibility", "paid_to_patient"})


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


def chains(match: MatchResult) -> list[list[str]]:
    """PCNs grouped into chains (oldest first): a replacement/void joins the claim whose
    CLP07 its REF*F8 names."""
    icn_owner = {
        r.payer_claim_control_number: r.matched_claim
        for r in match.remits
        if r.matched_claim and r.payer_claim_control_number and not r.is_reversal
    }
    parent: dict[str, str] = {}
    for pcn, claim in match.claims.items():
        original = claim.extras.get("payer_claim_control_number", "")
        owner = icn_owner.get(original) if claim.frequency_code in ("7", "8") else None
        if owner and owner != pcn:
            parent[pcn] = owner

    def root(pcn: str) -> str:
        seen = set()
        while pcn in parent and pcn not in seen:
            seen.add(pcn)
            pcn = parent[pcn]
        return pcn

    groups: dict[str, list[str]] = {}
    for pcn in match.claims:
        groups.setdefault(root(pcn), []).append(pcn)
    return [
        sorted(g, key=lambda p: (p != r, _order(match.claims[p]), p)) for r, g in groups.items()
    ]


def _order(claim: SubClaim) -> date:
    return claim.submitted_date or claim.service_date_start or date.min


@dataclass
class _Chain:
    pcns: list[str]
    current: SubClaim
    remits: list[RemitClaim] = field(default_factory=list)

    @property
    def charge(self) -> Decimal:
        return ZERO if self.current.void else self.current.charge_amount

    @property
    def effective(self) -> list[RemitClaim]:
        return [r for r in self.remits if r.effective]


def ar_claims(
    match: MatchResult,
    flags: Iterable[Flag],
    as_of: date,
    codes: CodeBook,
    recoupments: Mapping[str, Decimal] | None = None,
) -> pd.DataFrame:
    """One row per chain (keyed by its current version's PCN); see the module docstring."""
    return frame_from_rows(_ar_rows(match, flags, as_of, codes, recoupments), AR_CLAIM_COLUMNS)


def _ar_rows(
    match: MatchResult,
    flags: Iterable[Flag],
    as_of: date,
    codes: CodeBook,
    recoupments: Mapping[str, Decimal] | None,
) -> Iterator[tuple[Any, ...]]:
    by_claim: dict[str, list[Flag]] = {}
    for f in flags:
        by_claim.setdefault(f.patient_control_number, []).append(f)
    share = Amounts()
    for pcns in chains(match):
        current = match.claims[pcns[-1]]
        chain = _Chain(pcns, current, [r for p in pcns for r in match.remits_of(p)])
        chain_flags = [f for p in pcns for f in by_claim.get(p, [])]
        yield _row(chain, chain_flags, as_of, codes, recoupments or {}, share)


def _row(
    chain: _Chain,
    flags: list[Flag],
    as_of: date,
    codes: CodeBook,
    recoupments: Mapping[str, Decimal],
    share: Amounts,
) -> tuple[Any, ...]:
    """The chain's row in :data:`AR_CLAIM_COLUMNS` order (a tuple: a dict per row held until
    the frame is built cost more than the frame); equal amounts share one object."""
    claim = chain.current
    books = [r for r in chain.remits if r.in_books]
    effective = {r.claim_key for r in chain.effective}
    recouped = sum((recoupments.get(p, ZERO) for p in chain.pcns), ZERO)
    paid = sum((r.paid_amount for r in books), ZERO) - recouped
    patient = sum(
        (
            f.amount_at_stake or ZERO
            for f in flags
            if f.flag in _PATIENT_FLAGS and f.claim_key in effective
        ),
        ZERO,
    )
    in_appeal = _in_appeal(chain, flags, codes, as_of)
    prior_adj = claim.prior_adjustments if claim.secondary else ZERO
    prior_paid = claim.prior_paid if claim.secondary else ZERO
    if claim.secondary and chain.effective:
        # This payer answers for the prior payers' patient share only; past it, a credit.
        owed = (claim.prior_patient_responsibility or ZERO) - paid - patient - in_appeal
        adjusted = max(owed, ZERO)
        insurance = min(owed, ZERO) + in_appeal
    else:
        cas = sum((a.amount for r in books for a in r.all_adjustments()), ZERO)
        base = chain.charge - prior_paid - prior_adj
        if claim.secondary:  # nothing adjudicated yet: the prior payers' share is open
            cas = ZERO
        adjusted = cas - patient - in_appeal
        insurance = base - sum((r.paid_amount for r in books), ZERO) - cas + in_appeal + recouped
        if not books:
            adjusted = ZERO
    dos = claim.service_date_start or min(
        (ln.service_date for ln in claim.lines if ln.service_date), default=as_of
    )
    age = max((as_of - dos).days, 0)
    paid_on = max((r.payment_date for r in chain.effective if r.payment_date), default=None)
    return (
        claim.patient_control_number,
        claim.payer_id,
        dos,
        age,
        bucket(age),
        chain.charge,
        share(paid),
        share(adjusted),
        share(patient),
        share(insurance),
        len(books),
        " ".join(chain.pcns),
        _status(chain, insurance, in_appeal, recouped),
        claim.extras.get("payer_name", ""),
        claim.responsibility,
        prior_paid,
        prior_adj,
        share(in_appeal),
        share(recouped),
        paid_on,
        claim.extras.get("patient_name", ""),
    )


def _in_appeal(chain: _Chain, flags: list[Flag], codes: CodeBook, as_of: date) -> Decimal:
    """Denied amounts (non-PR denial CAS) of an adjudication whose denial is on the appeal
    worklist (an appealable flag still in time) or that the ledger says is being appealed."""
    state = chain.current.extras.get("ledger_state", "")
    total = ZERO
    for remit in chain.effective:
        appealable = any(
            f.flag == "denied_appealable"
            and f.claim_key == remit.claim_key
            and (f.deadline is None or f.deadline >= as_of)
            for f in flags
        )
        if not (appealable or state in _IN_APPEAL_STATES):
            continue
        total += sum(
            (
                a.amount
                for a in remit.all_adjustments()
                if a.group_code != "PR"
                and codes.carc_action(a.group_code, a.reason_code).denial_flag
            ),
            ZERO,
        )
    return total


def _status(chain: _Chain, insurance: Decimal, in_appeal: Decimal, recouped: Decimal) -> str:
    claim = chain.current
    if claim.void and not chain.effective:
        return "void"
    if claim.extras.get("ledger_state", "") == "rejected" and not chain.effective:
        return "rejected"
    if not chain.effective:
        return "reversed" if chain.remits else "awaiting_remittance"
    if insurance < ZERO:
        return "credit_balance"
    if in_appeal:
        return "denied_in_appeal"
    if recouped:
        return "recouped"
    return "open" if insurance else "adjudicated"


def ar_aging(claims: pd.DataFrame) -> pd.DataFrame:
    """Insurance A/R (≠ 0) by payer: ordinary open balances by age bucket, the denials being
    appealed and the credit balances beside them; a ``TOTAL`` row at the end."""
    by_payer: dict[str, dict[str, Any]] = {}
    columns = ("ar_balance", "payer_id", "payer_name", "in_appeal_amount", "bucket")
    for balance, payer_id, payer_name, in_appeal, age in _cells(claims, columns):
        if balance == ZERO:
            continue
        entry = by_payer.setdefault(
            payer_id,
            {
                "payer_id": payer_id,
                "payer_name": payer_name or "",
                "claims": 0,
                **dict.fromkeys((*AGING_BUCKETS, "denied_in_appeal", "credit_balance"), ZERO),
            },
        )
        entry["claims"] += 1
        appeal = in_appeal or ZERO
        if balance < ZERO:
            entry["credit_balance"] += balance
        else:
            entry["denied_in_appeal"] += appeal
            entry[age] += balance - appeal
    rows = [by_payer[k] for k in sorted(by_payer)]
    parts = (*AGING_BUCKETS, "denied_in_appeal", "credit_balance")
    for r in rows:
        r["total"] = sum((r[b] for b in parts), ZERO)
    total: dict[str, Any] = {
        "payer_id": "TOTAL",
        "payer_name": "",
        "claims": sum(r["claims"] for r in rows),
    }
    for col in (*parts, "total"):
        total[col] = sum((r[col] for r in rows), ZERO)
    return pd.DataFrame([*rows, total], columns=list(AR_AGING_COLUMNS))


def patient_aging(claims: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Patient A/R (≠ 0) by patient, aged from the payment that made it the patient's."""
    by_patient: dict[str, dict[str, Any]] = {}
    columns = ("patient_responsibility", "patient_name", "patient_control_number", "patient_since")
    for owed, patient_name, pcn, patient_since in _cells(claims, columns):
        if not owed:
            continue
        name = patient_name or pcn
        entry = by_patient.setdefault(
            name, {"patient_name": name, "claims": 0, **dict.fromkeys(AGING_BUCKETS, ZERO)}
        )
        since = patient_since or as_of
        entry["claims"] += 1
        entry[bucket(max((as_of - since).days, 0))] += owed
    rows = [by_patient[k] for k in sorted(by_patient)]
    for r in rows:
        r["total"] = sum((r[b] for b in AGING_BUCKETS), ZERO)
    total: dict[str, Any] = {"patient_name": "TOTAL", "claims": sum(r["claims"] for r in rows)}
    for col in (*AGING_BUCKETS, "total"):
        total[col] = sum((r[col] for r in rows), ZERO)
    return pd.DataFrame([*rows, total], columns=list(PATIENT_AGING_COLUMNS))


def _cells(frame: pd.DataFrame, columns: Iterable[str]) -> Iterator[tuple[Any, ...]]:
    """The named columns' cells row by row, as ``to_dict("records")`` gives them (plain
    Python values), without building a dict for every row of every column."""
    return zip(*(frame[c].tolist() for c in columns), strict=True)
