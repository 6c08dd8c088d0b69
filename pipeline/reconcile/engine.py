"""The one entry point the flows call: :func:`reconcile` → :class:`ReconcileResult`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.reconcile.aging import ar_aging, ar_claims
from pipeline.reconcile.appeals import (
    APPEAL_OUTCOME_COLUMNS,
    APPEAL_WORKLIST_COLUMNS,
    appeal_outcomes,
    appeal_worklist,
)
from pipeline.reconcile.estimates import PATIENT_ESTIMATE_COLUMNS, patient_estimates
from pipeline.reconcile.inputs import (
    ELIGIBILITY_SUMMARY,
    Submitted,
    as_text,
    check_columns,
    empty_frame,
    records,
    remit_tables,
)
from pipeline.reconcile.letters import letter_contexts
from pipeline.reconcile.matching import MatchResult, match_remittance
from pipeline.reconcile.nsa import NsaContext
from pipeline.reconcile.nsa_cases import (
    IDR_INITIATION_COLUMNS,
    NSA_CASE_COLUMNS,
    CaseState,
    case_head,
    case_row,
    case_state,
    idr_batches,
    idr_items,
)
from pipeline.reconcile.nsa_reference import NsaReference, load_nsa_reference
from pipeline.reconcile.reference import (
    CodeBook,
    FeeSchedule,
    PayerProfile,
    load_code_book,
    load_fee_schedule,
    load_payers,
)
from pipeline.reconcile.rules import FLAG_COLUMNS, RECONCILIATION_COLUMNS, Thresholds, evaluate

__all__ = ["TABLES", "ReconcileResult", "reconcile"]

ZERO = Decimal(0)
# Export order (one CSV/Parquet each, one workbook sheet each).
TABLES = (
    "payment_posting",
    "payment_balance",
    "reconciliation",
    "flags",
    "underpayments",
    "denials",
    "denial_trends",
    "appeal_worklist",
    "nsa_cases",
    "idr_initiation",
    "appeal_outcomes",
    "ar_aging",
    "ar_claims",
    "unmatched",
    "eligibility_summary",
    "patient_estimates",
)


@dataclass
class ReconcileResult:
    """``tables`` by name (see :data:`TABLES`); ``letters`` = one template context per
    worklist item; ``summary`` = totals for the report."""

    as_of: date
    tables: dict[str, pd.DataFrame]
    letters: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    practice: dict[str, str] = field(default_factory=dict)


def _mappings_dir() -> Path:
    from pipeline.settings import get_settings

    return get_settings().mappings_dir


def reconcile(
    remit: Mapping[str, pd.DataFrame],
    submitted: Submitted,
    fee_schedule: FeeSchedule | Path | None = None,
    payers: Mapping[str, PayerProfile] | Path | None = None,
    as_of: date | None = None,
    eligibility: pd.DataFrame | None = None,
    appointments: pd.DataFrame | None = None,
    *,
    codes: CodeBook | Path | None = None,
    thresholds: Thresholds | None = None,
    practice: Mapping[str, str] | None = None,
    nsa_reference: NsaReference | Path | None = None,
    case_events: Sequence[Any] = (),
) -> ReconcileResult:
    """Match, post, compute expected amounts, flag, build the worklist and the exports' tables.

    ``remit``: the five remittance tables (DESIGN names). ``submitted``: claims and lines as
    sent (:mod:`pipeline.reconcile.inputs`). Reference data defaults to ``mappings/``;
    thresholds to the settings. ``practice``: billing provider facts for the letters (name,
    npi, tax_id, address, phone, state). ``nsa_reference``: ``mappings/nsa`` by default;
    ``case_events``: the ledger's case events (``Ledger.case_events()``: remittance receipt
    dates, NSA case and appeal events) — the NSA clocks and the worklist status start there.
    """
    as_of = as_of or date.today()
    fees = (
        fee_schedule
        if isinstance(fee_schedule, FeeSchedule)
        else load_fee_schedule(fee_schedule or _mappings_dir() / "fee_schedules")
    )
    profiles = (
        payers if isinstance(payers, Mapping) else load_payers(payers or _mappings_dir() / "payers")
    )
    book = (
        codes if isinstance(codes, CodeBook) else load_code_book(codes or _mappings_dir() / "codes")
    )
    if thresholds is None:
        from pipeline.settings import get_settings

        s = get_settings()
        thresholds = Thresholds(s.underpaid_threshold_amount, s.underpaid_threshold_percent)
    elig = (
        check_columns(eligibility, "eligibility_summary", ("member_id",), ELIGIBILITY_SUMMARY)
        if eligibility is not None
        else empty_frame(ELIGIBILITY_SUMMARY)
    )
    nsa_ref = (
        nsa_reference
        if isinstance(nsa_reference, NsaReference)
        else load_nsa_reference(nsa_reference or _mappings_dir() / "nsa")
    )
    nsa = _nsa_context(nsa_ref, case_events, practice or {})
    match = match_remittance(remit_tables(remit), submitted)
    elig_by_member = {as_text(r.get("member_id")): r for r in records(elig)}
    flags, recon = evaluate(match, profiles, fees, book, thresholds, as_of, elig_by_member, nsa)
    states = {pcn: c.extras.get("ledger_state", "") for pcn, c in match.claims.items()}
    cases = _nsa_states(flags, match, nsa, as_of)
    appeal_events: dict[str, list[Any]] = {}
    for event in case_events:
        if event.kind == "appeal":
            appeal_events.setdefault(event.case_id, []).append(event)
    worklist = appeal_worklist(flags, states, as_of, appeal_events, cases)
    case_rows, idr_rows = _nsa_tables(flags, recon, match, profiles, nsa, cases, practice, as_of)
    flag_frame = pd.DataFrame(flags, columns=[*FLAG_COLUMNS, "appeal_id"])
    recon_frame = pd.DataFrame(recon, columns=list(RECONCILIATION_COLUMNS))
    claims_ar = ar_claims(match, as_of)
    tables = {
        "payment_posting": match.posting,
        "payment_balance": match.payment_balance,
        "reconciliation": recon_frame,
        "flags": flag_frame,
        "underpayments": _underpayments(flag_frame, recon_frame),
        "denials": _denials(flag_frame),
        "denial_trends": _denial_trends(flag_frame),
        "appeal_worklist": pd.DataFrame(worklist, columns=list(APPEAL_WORKLIST_COLUMNS)),
        "nsa_cases": pd.DataFrame(case_rows, columns=list(NSA_CASE_COLUMNS)),
        "idr_initiation": pd.DataFrame(idr_rows, columns=list(IDR_INITIATION_COLUMNS)),
        "appeal_outcomes": pd.DataFrame(
            appeal_outcomes(worklist), columns=list(APPEAL_OUTCOME_COLUMNS)
        ),
        "ar_aging": ar_aging(claims_ar),
        "ar_claims": claims_ar,
        "unmatched": match.unmatched,
        "eligibility_summary": elig,
        "patient_estimates": patient_estimates(appointments, elig, fees, profiles)
        if appointments is not None
        else empty_frame(PATIENT_ESTIMATE_COLUMNS),
    }
    result = ReconcileResult(as_of=as_of, tables=tables, practice=dict(practice or {}))
    by_line = {(r["claim_key"], r["line_control_number"]): r for r in recon}
    result.letters = letter_contexts(
        worklist,
        flags,
        by_line,
        match,
        profiles,
        fees,
        book,
        as_of=as_of,
        practice=result.practice,
        nsa_cases=cases,
        nsa_contact=nsa_ref.policy.contact,
    )
    result.summary = _summary(tables, match)
    return result


def _underpayments(flags: pd.DataFrame, recon: pd.DataFrame) -> pd.DataFrame:
    picked = flags[flags["flag"].isin(["underpaid", "nsa_violation"])]
    detail = recon[
        [
            "patient_control_number",
            "line_control_number",
            "claim_key",
            "modifiers",
            "units",
            "service_date",
            "charge_amount",
            "rate",
            "mppr_percent",
            "expected_allowed",
            "allowed_amount",
            "cost_share",
        ]
    ]
    return picked.merge(
        detail, on=["patient_control_number", "line_control_number", "claim_key"], how="left"
    )


def _denials(flags: pd.DataFrame) -> pd.DataFrame:
    out = flags[flags["flag"].isin(["denied_appealable", "denied_correctable"])].copy()
    out["month"] = [d.strftime("%Y-%m") if d else "" for d in out["payment_date"]]
    return out.reset_index(drop=True)


def _denial_trends(flags: pd.DataFrame) -> pd.DataFrame:
    rows: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for f in records(_denials(flags)):
        key = (f["payer"], f["month"], f["group_code"] or "", f["carc"] or "")
        entry = rows.setdefault(
            key,
            {
                "payer": key[0],
                "month": key[1],
                "group_code": key[2],
                "carc": key[3],
                "description": str(f["reason"]).split(";")[0],
                "denials": 0,
                "amount_at_stake": ZERO,
            },
        )
        entry["denials"] += 1
        entry["amount_at_stake"] += f["amount_at_stake"] or ZERO
    columns = ["payer", "month", "group_code", "carc", "description", "denials", "amount_at_stake"]
    return pd.DataFrame([rows[k] for k in sorted(rows)], columns=columns)


def _dsum(frame: pd.DataFrame, column: str) -> Decimal:
    return sum((v for v in frame[column] if v is not None and v == v), ZERO)


def _summary(tables: Mapping[str, pd.DataFrame], match: MatchResult) -> dict[str, Any]:
    flags = tables["flags"]
    recon = tables["reconciliation"]
    aging = tables["ar_aging"]

    def at_stake(*names: str) -> Decimal:
        return _dsum(flags[flags["flag"].isin(names)], "amount_at_stake")

    by_payer: dict[str, dict[str, Any]] = {}
    for r in records(recon):
        entry = by_payer.setdefault(
            r["payer_id"], {"payer": r["payer_id"], "expected": ZERO, "paid": ZERO, "lines": 0}
        )
        entry["lines"] += 1
        entry["paid"] += r["paid_amount"] or ZERO
        entry["expected"] += r["expected_payment"] or ZERO
    balance = tables["payment_balance"]
    return {
        "claims": len(match.claims),
        "remittance_claims": len(match.remits),
        "payments": len(match.payments),
        "charges": sum((c.charge_amount for c in match.claims.values()), ZERO),
        "paid": sum((r.paid_amount for r in match.remits), ZERO),
        "payments_total": _dsum(balance, "payment_amount"),
        "unbalanced_traces": int((~balance["balanced"].astype(bool)).sum()),
        "unmatched": len(tables["unmatched"]),
        "underpaid": at_stake("underpaid"),
        "denied": at_stake("denied_appealable", "denied_correctable"),
        "nsa": at_stake("nsa_violation"),
        "payment_dispute": at_stake("payment_dispute"),
        "patient_responsibility": at_stake("patient_responsibility"),
        "paid_to_patient": at_stake("paid_to_patient"),
        "ar_total": aging.iloc[-1]["total"] if len(aging) else ZERO,
        "flag_counts": flags["flag"].value_counts().to_dict(),
        "by_payer": [by_payer[k] for k in sorted(by_payer)],
    }


def _nsa_context(
    ref: NsaReference, events: Sequence[Any], practice: Mapping[str, str]
) -> NsaContext:
    """The ledger's NSA events by PCN and the 835 receipt dates by claim_key."""
    by_pcn: dict[str, list[Any]] = {}
    received: dict[str, date] = {}
    for event in events:
        if event.kind == "nsa":
            by_pcn.setdefault(event.patient_control_number, []).append(event)
        elif event.kind == "remittance" and event.reference:
            received.setdefault(event.reference, event.on)
    return NsaContext(
        reference=ref, events=by_pcn, received=received, practice_state=practice.get("state", "")
    )


def _nsa_states(
    flags: list[dict[str, Any]], match: MatchResult, nsa: NsaContext, as_of: date
) -> dict[str, CaseState]:
    """Every claim with a payment dispute (federal or state) or a recorded NSA event."""
    remits = {r.claim_key: r for r in match.remits}
    out: dict[str, CaseState] = {}
    for f in flags:
        if f["flag"] != "payment_dispute" or f["patient_control_number"] in out:
            continue
        remit = remits.get(f["claim_key"])
        received = nsa.received_on(remit) if remit else f["payment_date"]
        state_law = nsa.state_law(f["patient_control_number"])
        events = nsa.events.get(f["patient_control_number"], ())
        out[f["patient_control_number"]] = case_state(events, received, as_of, state_law)
    return out


def _nsa_tables(
    flags: list[dict[str, Any]],
    recon: list[dict[str, Any]],
    match: MatchResult,
    payers: Mapping[str, PayerProfile],
    nsa: NsaContext,
    cases: Mapping[str, CaseState],
    practice: Mapping[str, str] | None,
    as_of: date,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``nsa_cases`` (one row per case) and ``idr_initiation`` (batched portal rows)."""
    case_rows: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    facts = dict(practice or {})
    for pcn, state in sorted(cases.items()):
        disputes = [
            f
            for f in flags
            if f["patient_control_number"] == pcn and f["flag"] == "payment_dispute"
        ]
        claim = match.claims[pcn]
        lines = [r for r in recon if r["patient_control_number"] == pcn]
        remit = next((r for r in match.remits if r.claim_key == disputes[0]["claim_key"]), None)
        extras = {
            **claim.extras,
            "place_of_service": claim.place_of_service,
            "practice_state": facts.get("state", ""),
        }
        head = case_head(
            pcn,
            claim.payer_id,
            disputes,
            lines,
            extras,
            remit.payer_claim_control_number if remit else "",
        )
        row = case_row(head, state)
        row["state_law"] = nsa.state_law(pcn)
        row["letter_html"] = "" if row["state_law"] else f"letters/{pcn}-nsa_open_negotiation.html"
        case_rows.append(row)
        payer = payers.get(claim.payer_id)
        address = payer.appeal_address("nsa_open_negotiation") if payer else {}
        items += idr_items(
            row,
            lines,
            disputes,
            practice=facts,
            contact=nsa.reference.policy.contact,
            payer={
                "name": payer.name if payer else claim.payer_id,
                "payer_id": claim.payer_id,
                "email": address.get("email", ""),
                "plan_type": _plan_type(payer),
            },
            policy={
                "practice_size": nsa.reference.policy.practice_size,
                "preferred_idr_entity": nsa.reference.policy.preferred_idr_entity,
            },
            as_of=as_of,
        )
    return case_rows, idr_batches(items)


def _plan_type(payer: PayerProfile | None) -> str:
    return {
        "self_funded": "self-insured group health plan",
        "fully_insured": "fully insured group health plan",
    }.get(payer.plan_funding if payer else "", "")
