"""The one entry point the flows call: :func:`reconcile` → :class:`ReconcileResult`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.heap import release_memory
from pipeline.reconcile.aging import ar_aging, ar_claims, patient_aging
from pipeline.reconcile.appeals import (
    APPEAL_OUTCOME_COLUMNS,
    APPEAL_WORKLIST_COLUMNS,
    appeal_outcomes,
    appeal_worklist,
)
from pipeline.reconcile.eligibility_rows import EligibilityRows
from pipeline.reconcile.estimates import PATIENT_ESTIMATE_COLUMNS, patient_estimates
from pipeline.reconcile.flags import FLAG_ROW, FlagRow
from pipeline.reconcile.frames import drain, frame_from_rows
from pipeline.reconcile.inputs import (
    ELIGIBILITY_SUMMARY,
    Submitted,
    as_decimal,
    check_columns,
    empty_frame,
    iter_records,
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
from pipeline.reconcile.period import (
    ACTIVITY_TABLES,
    Period,
    activity_in,
    restrict_remittance,
    restrict_submitted,
)
from pipeline.reconcile.posting import (
    claim_recoupments,
    deposits,
    duplicate_remittance,
    payment_balance,
    payment_posting,
    pms_posting,
    provider_adjustments,
)
from pipeline.reconcile.reference import (
    CodeBook,
    FeeSchedule,
    PayerProfile,
    load_code_book,
    load_fee_schedule,
    load_payers,
)
from pipeline.reconcile.rules import (
    RECONCILIATION_ROW,
    Thresholds,
    evaluate_rows,
    recon_dicts,
)

__all__ = ["TABLES", "ReconcileResult", "TableSink", "reconcile"]

ZERO = Decimal(0)
# Export order (one CSV/Parquet each, one workbook sheet each).
TABLES = (
    "deposits",
    "payment_posting",
    "pms_posting",
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
    "patient_ar_aging",
    "ar_claims",
    "duplicate_remittance",
    "provider_adjustments",
    "review_items",
    "unmatched",
    "held_claims",
    "eligibility_summary",
    "patient_estimates",
)
HELD_COLUMNS = (
    "patient_control_number",
    "payer_id",
    "payer_name",
    "service_date",
    "charge_amount",
    "reason",
)
REVIEW_COLUMNS = (
    "kind",
    "patient_control_number",
    "claim_key",
    "trace_number",
    "payment_date",
    "payer_id",
    "amount",
    "reason",
    "action",
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
    period: Period = field(default_factory=Period)
    handed_over: list[str] = field(default_factory=list)  # to the sink, so not in ``tables``


TableSink = Callable[[str, pd.DataFrame], None]
"""Where :func:`reconcile` hands a finished table it does not keep (the exports' writer)."""


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
    refused: Mapping[str, str] | None = None,
    held: pd.DataFrame | None = None,
    period: Period | None = None,
    nsa_reference: NsaReference | Path | None = None,
    case_events: Sequence[Any] = (),
    sink: TableSink | None = None,
) -> ReconcileResult:
    """Match, post, compute expected amounts, flag, build the worklist and the exports' tables.

    ``remit``: the five remittance tables (DESIGN names). ``submitted``: claims and lines as
    sent (:mod:`pipeline.reconcile.inputs`). Reference data defaults to ``mappings/``;
    thresholds to the settings. ``practice``: billing provider facts for the letters (name,
    npi, tax_id, address, phone, state). ``refused``: claim_key → why the ledger refused to
    post that CLP (a duplicate payment; see :func:`~pipeline.reconcile.matching.match_remittance`).
    ``held``: claims the scrubber held (:data:`HELD_COLUMNS`). ``period``: reconcile as of its
    end and keep the activity dated inside it (:mod:`pipeline.reconcile.period`).
    ``nsa_reference``: ``mappings/nsa`` by default; ``case_events``: the ledger's case events
    (``Ledger.case_events()``: remittance receipt dates, NSA case and appeal events) — the NSA
    clocks and the worklist status start there. ``sink``: given, the tables nothing here
    reads again go to it as soon as they are made, in an order of their own, and are left
    out of the result's ``tables`` (named in ``handed_over``).
    """
    period = period or Period()
    as_of = as_of or period.end or date.today()
    if period.end is not None and as_of > period.end:
        as_of = period.end  # the books at the close
    if period.end is not None:
        remit = restrict_remittance(remit_tables(remit), period.end)
        submitted = restrict_submitted(submitted, period.end)
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
    elig = _eligibility_amounts(_eligibility_frame(eligibility))
    del eligibility  # its replaced text amounts go, when the caller handed it over
    nsa_ref = (
        nsa_reference
        if isinstance(nsa_reference, NsaReference)
        else load_nsa_reference(nsa_reference or _mappings_dir() / "nsa")
    )
    nsa = _nsa_context(nsa_ref, case_events, practice or {})
    appeal_events: dict[str, list[Any]] = {}
    for event in case_events:
        if event.kind == "appeal":
            appeal_events.setdefault(event.case_id, []).append(event)
    # The receipt dates and the NSA and appeal events are kept above; the other events (one
    # per 835 claim) go before matching, when the caller handed them over.
    del case_events
    match = match_remittance(remit_tables(remit), submitted, refused)
    # Read by matching only: their frames go here when the caller handed them over (passed
    # them without keeping a reference, as ``reconcile_and_export`` does).
    del submitted, remit
    release_memory(collect=False)
    _name_payers(match, profiles)
    elig_rows = EligibilityRows(elig)  # read-only views of the frame's rows, no dict each
    elig_by_member = elig_rows.by_member()
    typed, recon = evaluate_rows(
        match, profiles, fees, book, thresholds, as_of, elig_by_member, nsa
    )  # recon: tuples by RECONCILIATION_ROW (payer_name included)
    del elig_by_member  # read by the rules only
    out = _Tables(period, sink)
    # The estimates are the last reader of the 271 rows: the summary goes to the sink now.
    out.add(
        "patient_estimates",
        patient_estimates(appointments, elig, fees, profiles, eligibility_rows=elig_rows)
        if appointments is not None
        else empty_frame(PATIENT_ESTIMATE_COLUMNS),
    )
    del elig_rows, appointments
    out.add("eligibility_summary", elig, final=True)
    del elig
    flags = [FlagRow(f, _payer_name(profiles, f.payer)) for f in typed]
    states = {pcn: c.extras.get("ledger_state", "") for pcn, c in match.claims.items()}
    cases = _nsa_states(flags, match, nsa, as_of)
    worklist = appeal_worklist(flags, states, as_of, appeal_events, cases)
    del states, appeal_events
    case_rows, idr_rows = _nsa_tables(
        flags, recon_dicts(recon, pcns=cases), match, profiles, nsa, cases, practice, as_of
    )
    del nsa  # the clocks are in the case rows (the letters read ``nsa_ref`` for the contact)
    nsa_cases = pd.DataFrame(case_rows, columns=list(NSA_CASE_COLUMNS))
    idr_initiation = pd.DataFrame(idr_rows, columns=list(IDR_INITIATION_COLUMNS))
    del case_rows, idr_rows  # a dict per case: the frames hold their cells
    # The letters read the appealed findings and their lines; every other row goes into the
    # frames (the reconciliation rows leave their list as the frame fills), and the row lists
    # before the posting tables are built.
    appealed = [f for f in flags if "appeal_id" in f and period.holds(f["payment_date"])]
    by_line = {
        (r["claim_key"], r["line_control_number"]): r
        for r in recon_dicts(recon, claim_keys={f["claim_key"] for f in appealed})
    }
    flag_frame = frame_from_rows((f.cells() for f in flags), FLAG_ROW)
    recon_frame = frame_from_rows(drain(recon), RECONCILIATION_ROW)
    del flags, recon
    release_memory(collect=False)
    # Tables made from others read them whole, before the period keeps its activity.
    out.add("underpayments", _underpayments(flag_frame, recon_frame))
    by_payer = _payer_totals(out.add("reconciliation", recon_frame, final=True))
    del recon_frame
    out.add("flags", flag_frame)
    out.add("denials", _denials(flag_frame))
    out.add("denial_trends", _denial_trends(flag_frame))
    del flag_frame
    out.add("appeal_worklist", pd.DataFrame(worklist, columns=list(APPEAL_WORKLIST_COLUMNS)))
    out.add("nsa_cases", nsa_cases)
    out.add("idr_initiation", idr_initiation)
    out.add(
        "appeal_outcomes",
        pd.DataFrame(appeal_outcomes(worklist), columns=list(APPEAL_OUTCOME_COLUMNS)),
    )
    del nsa_cases, idr_initiation
    recouped = claim_recoupments(match)
    claims_ar = ar_claims(match, typed, as_of, book, recouped)
    del typed, recouped
    out.add("ar_aging", ar_aging(claims_ar))
    out.add("patient_ar_aging", patient_aging(claims_ar, as_of))
    out.add("ar_claims", claims_ar, final=True)
    del claims_ar
    facts = dict(practice or {})
    letters = letter_contexts(
        [w for w in worklist if period.holds(w.get("payment_date"))],
        appealed,
        by_line,
        match,
        profiles,
        fees,
        book,
        as_of=as_of,
        practice=facts,
        nsa_cases=cases,
        nsa_contact=nsa_ref.policy.contact,
    )
    counts = _match_counts(match)
    del appealed, by_line
    # The claims as sent were read last by the letters: the posting tables read the
    # remittance alone, so the claims go before those are built. (This match is
    # reconcile's own; nothing outside ever sees it.)
    match.claims = {}
    out.add("deposits", deposits(match, period.holds))
    out.add("payment_posting", payment_posting(match), final=True)
    out.add("pms_posting", pms_posting(match), final=True)
    out.add("payment_balance", payment_balance(match))
    out.add("duplicate_remittance", duplicate_remittance(match))
    out.add("provider_adjustments", provider_adjustments(match))
    out.add("review_items", _review_items(match))
    out.add("unmatched", match.unmatched)
    del match
    release_memory(collect=False)
    out.add(
        "held_claims",
        check_columns(held, "held_claims", HELD_COLUMNS)
        if held is not None
        else empty_frame(HELD_COLUMNS),
    )
    tables = out.tables()
    result = ReconcileResult(
        as_of=as_of, tables=tables, practice=facts, period=period, handed_over=out.handed_over
    )
    result.letters = letters
    result.summary = _summary(tables, counts, by_payer)
    return result


class _Tables:
    """The result's tables as they are made, each kept to the period's activity. With a
    ``sink``, a table added ``final`` (nothing in reconciliation or the report reads it
    again) goes to the sink at once instead of being held until the exports are written:
    at 100k claims the postings, the reconciliation, the 271 summary and the claims' A/R
    are about 200 MiB of cells."""

    def __init__(self, period: Period, sink: TableSink | None) -> None:
        self._period = period
        self._sink = sink
        self._kept: dict[str, pd.DataFrame] = {}
        self.handed_over: list[str] = []

    def add(self, name: str, frame: pd.DataFrame, *, final: bool = False) -> pd.DataFrame:
        if name in ACTIVITY_TABLES:
            frame = activity_in(frame, self._period)
        if final and self._sink is not None:
            self._sink(name, frame)
            self.handed_over.append(name)
        else:
            self._kept[name] = frame
        return frame

    def tables(self) -> dict[str, pd.DataFrame]:
        """Those kept, in :data:`TABLES` order."""
        return {name: self._kept[name] for name in TABLES if name in self._kept}


# The DESIGN amounts of ``eligibility_summary`` (other columns, e.g. copays by service type,
# are text).
_ELIGIBILITY_AMOUNTS = tuple(
    c for c in ELIGIBILITY_SUMMARY if any(w in c for w in ("deductible", "oop", "copay", "coins"))
)


def _eligibility_frame(frame: pd.DataFrame | None) -> pd.DataFrame:
    """``eligibility_summary`` with every DESIGN column (an absent one empty, in DESIGN order)
    for :func:`_eligibility_amounts` to change: a shallow copy, whose new and replaced
    columns never reach the caller's frame, and whose others share its arrays (not a second
    array of a night's 271 cells, as ``check_columns``' deep copy made)."""
    if frame is None:
        return empty_frame(ELIGIBILITY_SUMMARY)
    out = frame.copy(deep=False)
    for column in ELIGIBILITY_SUMMARY:
        if column not in out.columns:
            out[column] = None
    return out


def _eligibility_amounts(frame: pd.DataFrame) -> pd.DataFrame:
    """271 amounts as Decimals (a ledger keeps them as text), as new columns of ``frame``
    itself: reconcile's own (shallow) copy, so no third copy of a night's 271s."""
    for column in _ELIGIBILITY_AMOUNTS:
        if column in frame.columns:
            frame[column] = pd.Series(
                _decimals(frame[column], f"eligibility_summary.{column}"),
                index=frame.index,
                dtype=object,
            )
    return frame


def _decimals(cells: Iterable[object], where: str) -> list[Decimal | None]:
    """``as_decimal`` of each cell, each distinct text converted once (a column repeats a
    few plan amounts thousands of times). Only text is remembered: equal numbers of other
    types (1, 1.0, Decimal("1.00")) must keep their own form."""
    seen: dict[str, Decimal | None] = {}
    out: list[Decimal | None] = []
    for v in cells:
        if type(v) is not str:
            out.append(as_decimal(v, where=where))
            continue
        if v not in seen:
            seen[v] = as_decimal(v, where=where)
        out.append(seen[v])
    return out


def _payer_name(profiles: Mapping[str, PayerProfile], payer_id: str) -> str:
    profile = profiles.get(payer_id)
    return profile.name if profile else ""


def _name_payers(match: MatchResult, profiles: Mapping[str, PayerProfile]) -> None:
    """The 835's N1*PR name, else the payer profile's, beside every payer ID."""
    for pay in match.payments.values():
        pay["payer_name"] = pay.get("payer_name") or _payer_name(profiles, pay["payer_id"])
    for claim in match.claims.values():
        if not claim.extras.get("payer_name"):
            claim.extras["payer_name"] = _payer_name(profiles, claim.payer_id)


def _review_items(match: MatchResult) -> pd.DataFrame:
    """What a person must look at: PLB amounts naming a claim or left open, and reversals of
    payments these books never held."""
    rows: list[dict[str, Any]] = []
    frame = provider_adjustments(match)
    for p in records(frame):
        if p["status"] in ("income", "offset"):
            continue
        rows.append(
            {
                "kind": "plb_recoupment" if p["status"] == "applied_to_claim" else "plb_open",
                "patient_control_number": p["patient_control_number"],
                "claim_key": p["claim_key"],
                "trace_number": p["trace_number"],
                "payment_date": p["payment_date"],
                "payer_id": p["payer_id"],
                "amount": p["amount"],
                "reason": f"PLB {p['reason_code']} {p['reference_id']} {p['amount']:.2f}",
                "action": p["action"],
            }
        )
    for r in match.remits:
        if r.before_ledger and r.matched_claim and r.posted:
            rows.append(
                {
                    "kind": "reversal_before_ledger",
                    "patient_control_number": r.matched_claim,
                    "claim_key": r.claim_key,
                    "trace_number": r.trace_number,
                    "payment_date": r.payment_date,
                    "payer_id": r.payer_id,
                    "amount": r.paid_amount,
                    "reason": (
                        f"CLP02 22 reverses payer claim {r.payer_claim_control_number}, which "
                        "was never posted here; left out of A/R"
                    ),
                    "action": "Check the original payment in the old system and net it there",
                }
            )
    return pd.DataFrame(rows, columns=list(REVIEW_COLUMNS))


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


def _match_counts(match: MatchResult) -> dict[str, Any]:
    """What the report's summary reads of the match (taken before the match is let go)."""
    return {
        "claims": len(match.claims),
        "remittance_claims": sum(1 for r in match.remits if r.posted),
        "charges": sum((c.charge_amount for c in match.claims.values()), ZERO),
    }


def _payer_totals(recon: pd.DataFrame) -> list[dict[str, Any]]:
    by_payer: dict[str, dict[str, Any]] = {}
    # The four columns read, one row's dict at a time: a dict of every row was its peak.
    for r in iter_records(recon[["payer_id", "payer_name", "paid_amount", "expected_payment"]]):
        entry = by_payer.setdefault(
            r["payer_id"],
            {
                "payer": r["payer_id"],
                "payer_name": r.get("payer_name") or "",
                "expected": ZERO,
                "paid": ZERO,
                "lines": 0,
            },
        )
        entry["lines"] += 1
        entry["paid"] += r["paid_amount"] or ZERO
        entry["expected"] += r["expected_payment"] or ZERO
    return [by_payer[k] for k in sorted(by_payer)]


def _summary(
    tables: Mapping[str, pd.DataFrame], counts: Mapping[str, Any], payers: list[dict[str, Any]]
) -> dict[str, Any]:
    flags = tables["flags"]
    aging = tables["ar_aging"]
    patient = tables["patient_ar_aging"]
    bank = tables["deposits"]

    def at_stake(*names: str) -> Decimal:
        return _dsum(flags[flags["flag"].isin(names)], "amount_at_stake")

    balance = tables["payment_balance"]
    total = records(bank)[-1] if len(bank) else {}
    return {
        "claims": counts["claims"],
        "remittance_claims": counts["remittance_claims"],
        "payments": len(bank) - 1 if len(bank) else 0,
        "charges": counts["charges"],
        # Paid by payers = Σ CLP04 posted in the deposits shown; with PLB and the duplicates
        # held it adds up to the deposits (the report shows the sum).
        "paid": total.get("claims_paid") or ZERO,
        "provider_adjustments": total.get("provider_adjustments") or ZERO,
        "duplicates_not_posted": total.get("duplicates_not_posted") or ZERO,
        "deposits": total.get("deposit_amount") or ZERO,
        "deposit_difference": total.get("difference") or ZERO,
        "payments_total": _dsum(balance, "payment_amount"),
        "unbalanced_traces": int((~balance["balanced"].astype(bool)).sum()),
        "unmatched": len(tables["unmatched"]),
        "duplicates": len(tables["duplicate_remittance"]),
        "review_items": len(tables["review_items"]),
        "held_claims": len(tables["held_claims"]),
        "underpaid": at_stake("underpaid"),
        "denied": at_stake("denied_appealable", "denied_correctable"),
        "nsa": at_stake("nsa_violation"),
        "overpayment": at_stake("overpayment"),
        "rejected": at_stake("rejected_correct_resubmit"),
        "payment_dispute": at_stake("payment_dispute"),
        "patient_responsibility": at_stake("patient_responsibility"),
        "paid_to_patient": at_stake("paid_to_patient"),
        "ar_total": aging.iloc[-1]["total"] if len(aging) else ZERO,
        "ar_in_appeal": aging.iloc[-1]["denied_in_appeal"] if len(aging) else ZERO,
        "patient_ar_total": patient.iloc[-1]["total"] if len(patient) else ZERO,
        "flag_counts": flags["flag"].value_counts().to_dict(),
        "by_payer": payers,
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
    flags: Sequence[Mapping[str, Any]], match: MatchResult, nsa: NsaContext, as_of: date
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
    flags: Sequence[Mapping[str, Any]],
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
    disputes_of: dict[str, list[Mapping[str, Any]]] = {}  # grouped once, not scanned per case
    lines_of: dict[str, list[dict[str, Any]]] = {}
    for f in flags if cases else ():
        if f["flag"] == "payment_dispute":
            disputes_of.setdefault(f["patient_control_number"], []).append(f)
    for r in recon if cases else ():
        lines_of.setdefault(r["patient_control_number"], []).append(r)
    for pcn, state in sorted(cases.items()):
        disputes = disputes_of.get(pcn, [])
        claim = match.claims[pcn]
        lines = lines_of.get(pcn, [])
        remit = match.remit(disputes[0]["claim_key"])
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
