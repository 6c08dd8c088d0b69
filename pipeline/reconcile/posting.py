"""Payment posting, the per-trace check, the deposits that tie to the bank, duplicates and PLB.

- ``payment_posting``: one row per 835 line (and claim-level residual) of every CLP that is not
  a duplicate, plus one row per PLB amount (``paid_amount`` = −PLB: positive PLB reduces the
  payment). A claim paid again that the ledger refused, or an ERA received twice, is never
  posted: it goes to ``duplicate_remittance`` for a person to refund or wait for the recoupment.
- ``deposits``: per trace, BPR02 (what reached the bank) against claims paid − PLB, with the
  duplicates that were in the deposit but not posted; difference and a TOTAL row. It ties
  when every difference is 0.00.
- ``pms_posting``: the posting file a practice-management system imports (layout below).
- ``provider_adjustments``: each PLB amount, the claim its reference names (CLP07 or PCN), and
  what it is: a recoupment applied to that claim (it reduces the claim's net paid and opens a
  review item), interest income (L6), a balance forwarded (FB, offset by its pair), or an open
  receivable (positive: the payer kept money it has not explained) / payable (negative).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from pipeline.reconcile.frames import frame_from_rows
from pipeline.reconcile.matching import Adjustment, MatchResult, RemitClaim
from pipeline.reconcile.sharing import Amounts

__all__ = [
    "DEPOSIT_COLUMNS",
    "DUPLICATE_COLUMNS",
    "PMS_POSTING_COLUMNS",
    "POSTING_COLUMNS",
    "PROVIDER_ADJUSTMENT_COLUMNS",
    "claim_recoupments",
    "deposits",
    "duplicate_remittance",
    "payment_balance",
    "payment_posting",
    "pms_posting",
    "provider_adjustments",
]

ZERO = Decimal(0)
POSTING_COLUMNS = (
    "trace_number",
    "payment_date",
    "payer_id",
    "claim_key",
    "patient_control_number",
    "claim_status_code",
    "payer_claim_control_number",
    "entry",  # line | claim_adjustment | provider_adjustment
    "line_control_number",
    "procedure_code",
    "charge_amount",
    "allowed_amount",
    "paid_amount",
    "deductible",
    "coinsurance",
    "copay",
    "patient_responsibility",
    "contractual",
    "payer_initiated",
    "other_adjustment",
    "matched",
    "match_method",
    "effective",
    "payer_name",
)
_SPLIT = (
    "deductible",
    "coinsurance",
    "copay",
    "patient_responsibility",
    "contractual",
    "payer_initiated",
    "other_adjustment",
)
BALANCE_COLUMNS = (
    "trace_number",
    "payer_id",
    "payment_date",
    "payment_method",
    "payment_amount",
    "claims_paid",
    "held_unmatched",
    "provider_adjustments",
    "posted_amount",
    "difference",
    "balanced",
    "payer_name",
    "duplicates_not_posted",
)
DEPOSIT_COLUMNS = (
    "trace_number",
    "payer_id",
    "payer_name",
    "payment_date",
    "payment_method",
    "deposit_amount",
    "claims_paid",
    "provider_adjustments",
    "posted_total",
    "duplicates_not_posted",
    "difference",
)
DUPLICATE_COLUMNS = (
    "trace_number",
    "payment_date",
    "payer_id",
    "payer_name",
    "claim_key",
    "patient_control_number",
    "payer_claim_control_number",
    "claim_status_code",
    "charge_amount",
    "paid_amount",
    "reason",
    "action",
)
PROVIDER_ADJUSTMENT_COLUMNS = (
    "trace_number",
    "payment_date",
    "payer_id",
    "payer_name",
    "reason_code",
    "reference_id",
    "amount",
    "patient_control_number",
    "claim_key",
    "kind",
    "status",
    "action",
)
# PLB03-1 codes that take back (or give back) money of the claim their reference names.
_RECOUPMENT = frozenset({"WO", "72", "B2", "J1", "CS", "50", "51"})


# PR reasons with their own column (deductible, coinsurance, copay), as indexes of _SPLIT.
_PR_PART = {"1": 0, "2": 1, "3": 2}
_NO_SPLIT = (ZERO,) * len(_SPLIT)
# A cell no row dict would have had: what ``pd.DataFrame(list_of_dicts)`` put there.
_ABSENT = np.nan


def _split(adjs: Iterable[Adjustment], share: Amounts) -> tuple[Decimal, ...]:
    """The :data:`_SPLIT` amounts (in that order) of CAS amounts; equal sums share one object."""
    out = list(_NO_SPLIT)
    for a in adjs:
        if a.group_code == "PR":
            out[3] += a.amount
            part = _PR_PART.get(a.reason_code)
            if part is not None:
                out[part] += a.amount
        elif a.group_code == "CO":
            out[4] += a.amount
        elif a.group_code == "PI":
            out[5] += a.amount
        else:
            out[6] += a.amount
    return tuple(v if v is ZERO else share(v) for v in out)


def _claim_rows(r: RemitClaim, payer_name: str, share: Amounts) -> Iterator[tuple[Any, ...]]:
    """The CLP's posting rows, as tuples in :data:`POSTING_COLUMNS` order (a dict per row
    held until the frame is built was most of this table's peak)."""
    head = (
        r.trace_number,
        r.payment_date,
        r.payer_id,
        r.claim_key,
        r.patient_control_number,
        r.claim_status_code,
        r.payer_claim_control_number,
    )
    effective = r.effective
    for line in r.lines:
        yield (
            *head,
            "line",
            line.matched_line or line.line_control_number,
            line.procedure_code,
            line.charge_amount,
            line.allowed_amount,
            line.paid_amount,
            *(_split(line.adjustments, share) if line.adjustments else _NO_SPLIT),
            bool(r.matched_claim and line.matched_line),
            line.match_method,
            effective,
            payer_name,
        )
    # CLP04 − ΣSVC03: what claim-level CAS took (or a claim sent without lines).
    residual = r.paid_amount - sum((ln.paid_amount for ln in r.lines), ZERO)
    residual_charge = r.charge_amount - sum((ln.charge_amount for ln in r.lines), ZERO)
    if residual or r.adjustments or residual_charge or not r.lines:
        yield (
            *head,
            "claim_adjustment",
            "",
            "",
            share(residual_charge),
            None,
            share(residual),
            *_split(r.adjustments, share),
            bool(r.matched_claim),
            "clp01" if r.matched_claim else "",
            effective,
            payer_name,
        )


def _payer_name(match: MatchResult, trace: str) -> str:
    return str(match.payments.get(trace, {}).get("payer_name", ""))


def payment_posting(match: MatchResult) -> pd.DataFrame:
    return frame_from_rows(_posting_rows(match), POSTING_COLUMNS)


def _posting_rows(match: MatchResult) -> Iterator[tuple[Any, ...]]:
    share = Amounts()
    for r in match.remits:
        if r.posted:
            yield from _claim_rows(r, _payer_name(match, r.trace_number), share)
    for p in match.provider_adjustments:
        pay = match.payments.get(p["trace_number"], {})
        yield (
            p["trace_number"],
            pay.get("payment_date"),
            pay.get("payer_id", ""),
            p["claim_key"],
            p["patient_control_number"],
            "",
            p["reference_id"],
            "provider_adjustment",
            "",
            f"PLB {p['reason_code']}",
            ZERO,
            None,
            -p["amount"],  # positive PLB reduces the payment
            *_NO_SPLIT,
            True,
            "plb",
            True,
            pay.get("payer_name", ""),
        )


def _traces(match: MatchResult) -> list[str]:
    return sorted(set(match.payments) | {r.trace_number for r in match.remits if r.posted})


def _trace_sums(match: MatchResult, trace: str) -> dict[str, Decimal]:
    in_trace = [r for r in match.remits if r.trace_number == trace]
    posted = [r for r in in_trace if r.posted]
    plb = sum((p["amount"] for p in match.provider_adjustments if p["trace_number"] == trace), ZERO)
    paid = sum((r.paid_amount for r in posted), ZERO)
    # A claim paid again inside a deposit that is itself new: the money is in the bank.
    again = sum((r.paid_amount for r in in_trace if r.duplicate and _same_deposit(r)), ZERO)
    return {
        "claims_paid": paid,
        "held_unmatched": sum((r.paid_amount for r in posted if not r.matched_claim), ZERO),
        "plb": plb,
        "posted": paid - plb,
        "again": again,
    }


def _same_deposit(r: RemitClaim) -> bool:
    return not r.duplicate.startswith("the remittance of trace")


def payment_balance(match: MatchResult) -> pd.DataFrame:
    """Per trace: Σ CLP04 posted − Σ PLB (+ duplicates held) = BPR02."""
    rows = []
    for trace in _traces(match):
        pay = match.payments.get(trace, {})
        sums = _trace_sums(match, trace)
        bpr02 = pay.get("payment_amount")
        difference = None if bpr02 is None else bpr02 - sums["posted"] - sums["again"]
        rows.append(
            {
                "trace_number": trace,
                "payer_id": pay.get("payer_id", ""),
                "payer_name": pay.get("payer_name", ""),
                "payment_date": pay.get("payment_date"),
                "payment_method": pay.get("payment_method", ""),
                "payment_amount": bpr02,
                "claims_paid": sums["claims_paid"],
                "held_unmatched": sums["held_unmatched"],
                "provider_adjustments": sums["plb"],
                "posted_amount": sums["posted"],
                "duplicates_not_posted": sums["again"],
                "difference": difference,
                "balanced": difference == ZERO,
            }
        )
    return pd.DataFrame(rows, columns=list(BALANCE_COLUMNS))


def deposits(match: MatchResult, keep: Callable[[date | None], bool] | None = None) -> pd.DataFrame:
    """What reached the bank per trace (BPR02; a debit is negative) against what was posted;
    ``keep``: which payment dates to show (a period), the TOTAL row adding those."""
    rows: list[dict[str, Any]] = []
    for trace in _traces(match):
        pay = match.payments.get(trace, {})
        if keep is not None and not keep(pay.get("payment_date")):
            continue
        sums = _trace_sums(match, trace)
        amount = pay.get("payment_amount")
        deposit = (
            None if amount is None else (-amount if pay.get("credit_debit") == "D" else amount)
        )
        rows.append(
            {
                "trace_number": trace,
                "payer_id": pay.get("payer_id", ""),
                "payer_name": pay.get("payer_name", ""),
                "payment_date": pay.get("payment_date"),
                "payment_method": pay.get("payment_method", ""),
                "deposit_amount": deposit,
                "claims_paid": sums["claims_paid"],
                "provider_adjustments": -sums["plb"],
                "posted_total": sums["posted"],
                "duplicates_not_posted": sums["again"],
                "difference": None if deposit is None else deposit - sums["posted"] - sums["again"],
            }
        )
    total: dict[str, Any] = dict.fromkeys(DEPOSIT_COLUMNS, "")
    total.update(trace_number="TOTAL", payment_date=None)
    for column in (
        "deposit_amount",
        "claims_paid",
        "provider_adjustments",
        "posted_total",
        "duplicates_not_posted",
        "difference",
    ):
        total[column] = sum((r[column] for r in rows if r[column] is not None), ZERO)
    return pd.DataFrame([*rows, total], columns=list(DEPOSIT_COLUMNS))


def duplicate_remittance(match: MatchResult) -> pd.DataFrame:
    rows = []
    for r in match.remits:
        if not r.duplicate:
            continue
        same_era = not _same_deposit(r)
        rows.append(
            {
                "trace_number": r.trace_number,
                "payment_date": r.payment_date,
                "payer_id": r.payer_id,
                "payer_name": r.payer_name,
                "claim_key": r.claim_key,
                "patient_control_number": r.patient_control_number,
                "payer_claim_control_number": r.payer_claim_control_number,
                "claim_status_code": r.claim_status_code,
                "charge_amount": r.charge_amount,
                "paid_amount": r.paid_amount,
                "reason": r.duplicate,
                "action": "Nothing to post: the same ERA and deposit were counted already"
                if same_era
                else (
                    f"Do not post: credit balance of {r.paid_amount:.2f}; refund "
                    f"{r.payer_id} or expect a recoupment (PLB WO)"
                ),
            }
        )
    return pd.DataFrame(rows, columns=list(DUPLICATE_COLUMNS))


def _plb_kind(p: Mapping[str, Any], offset: set[str]) -> tuple[str, str, str]:
    code, amount, pcn = p["reason_code"], p["amount"], p["patient_control_number"]
    if code == "L6":
        return "interest", "income", "Book as interest income"
    if code == "FB":
        if p["reference_id"] in offset:
            return "forward_balance", "offset", "Offset by its FB pair: nothing open"
        return (
            "forward_balance",
            "open_payable" if amount < 0 else "open_receivable",
            f"Track the forwarded balance {p['reference_id']} until the payer offsets it",
        )
    if pcn and code in _RECOUPMENT:
        verb = "recouped from" if amount > 0 else "returned to"
        return (
            "recoupment",
            "applied_to_claim",
            f"Review: {abs(amount):.2f} {verb} claim {pcn}; post the correction or appeal",
        )
    return (
        "other",
        "open_receivable" if amount > 0 else "open_payable",
        f"Ask the payer what PLB {code} {p['reference_id']} is for; keep it open until explained",
    )


def _offset_references(plb: list[dict[str, Any]]) -> set[str]:
    sums: dict[str, Decimal] = {}
    for p in plb:
        if p["reason_code"] == "FB":
            sums[p["reference_id"]] = sums.get(p["reference_id"], ZERO) + p["amount"]
    counts = {ref: sum(1 for p in plb if p["reference_id"] == ref) for ref in sums}
    return {ref for ref, total in sums.items() if total == ZERO and counts[ref] > 1}


def provider_adjustments(match: MatchResult) -> pd.DataFrame:
    offset = _offset_references(match.provider_adjustments)
    rows = []
    for p in match.provider_adjustments:
        pay = match.payments.get(p["trace_number"], {})
        kind, status, action = _plb_kind(p, offset)
        rows.append(
            {
                "trace_number": p["trace_number"],
                "payment_date": pay.get("payment_date"),
                "payer_id": pay.get("payer_id", ""),
                "payer_name": pay.get("payer_name", ""),
                "reason_code": p["reason_code"],
                "reference_id": p["reference_id"],
                "amount": p["amount"],
                "patient_control_number": p["patient_control_number"],
                "claim_key": p["claim_key"],
                "kind": kind,
                "status": status,
                "action": action,
            }
        )
    return pd.DataFrame(rows, columns=list(PROVIDER_ADJUSTMENT_COLUMNS))


def claim_recoupments(match: MatchResult) -> dict[str, Decimal]:
    """PCN → PLB amounts recouped (+) or returned (−) against that claim's payment."""
    out: dict[str, Decimal] = {}
    for p in match.provider_adjustments:
        pcn = p["patient_control_number"]
        if pcn and p["reason_code"] in _RECOUPMENT:
            out[pcn] = out.get(pcn, ZERO) + p["amount"]
    return out


# The PMS import layout: one row per line payment or adjustment (docs/pms_posting.md).
PMS_POSTING_COLUMNS = (
    "record_type",  # PAY (SVC03 or claim-level residual) | ADJ (one CAS amount) | PLB
    "check_number",  # TRN02: EFT trace or check number
    "deposit_date",  # BPR16
    "payer_id",
    "payer_name",
    "patient_control_number",  # CLP01 = CLM01 (the PMS claim number)
    "line_control_number",  # REF*6R; empty at claim level
    "procedure_code",
    "service_date",
    "amount",  # positive = payment to / reduction of the line; reversals are negative
    "group_code",  # CAS01 for ADJ (CO, PR, OA, PI)
    "reason_code",  # CARC for ADJ, PLB03-1 for PLB
    "payer_claim_control_number",  # CLP07; PLB03-2 for PLB
    "claim_status_code",  # CLP02 (22 = reversal)
    "claim_key",
)


def _pms_rows(r: RemitClaim, payer_name: str) -> Iterator[tuple[Any, ...]]:
    """The CLP's PAY/ADJ rows as tuples in :data:`PMS_POSTING_COLUMNS` order (a PAY row has
    no group or reason code: ``_ABSENT``, filled in by :func:`pms_posting`)."""
    head = (
        r.trace_number,
        r.payment_date,
        r.payer_id,
        payer_name,
        r.matched_claim or r.patient_control_number,
    )
    tail = (r.payer_claim_control_number, r.claim_status_code, r.claim_key)
    for line in r.lines:
        where = (
            line.matched_line or line.line_control_number,
            line.procedure_code,
            line.service_date or r.service_date_start,
        )
        yield ("PAY", *head, *where, line.paid_amount, _ABSENT, _ABSENT, *tail)
        for a in line.adjustments:
            yield ("ADJ", *head, *where, a.amount, a.group_code, a.reason_code, *tail)
    residual = r.paid_amount - sum((ln.paid_amount for ln in r.lines), ZERO)
    claim_level = ("", "", None)
    if residual or not r.lines:
        yield ("PAY", *head, *claim_level, residual, _ABSENT, _ABSENT, *tail)
    for a in r.adjustments:
        yield ("ADJ", *head, *claim_level, a.amount, a.group_code, a.reason_code, *tail)


def pms_posting(match: MatchResult) -> pd.DataFrame:
    """Every posted CLP (duplicates never) as PAY/ADJ rows, then each PLB amount."""
    frame = frame_from_rows(_pms_posting_rows(match), PMS_POSTING_COLUMNS)
    for column in ("group_code", "reason_code", "line_control_number", "procedure_code"):
        frame[column] = frame[column].fillna("")
    return frame


def _pms_posting_rows(match: MatchResult) -> Iterator[tuple[Any, ...]]:
    for r in match.remits:
        if r.posted:
            yield from _pms_rows(r, _payer_name(match, r.trace_number))
    for p in match.provider_adjustments:
        pay = match.payments.get(p["trace_number"], {})
        yield (
            "PLB",
            p["trace_number"],
            pay.get("payment_date"),
            pay.get("payer_id", ""),
            pay.get("payer_name", ""),
            p["patient_control_number"],
            _ABSENT,
            _ABSENT,
            _ABSENT,
            -p["amount"],  # as paid to the practice
            _ABSENT,
            p["reason_code"],
            p["reference_id"],
            _ABSENT,
            p["claim_key"],
        )
