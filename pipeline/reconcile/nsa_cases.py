"""No Surprises Act cases: status and next deadline from recorded events, the case list and
the federal IDR initiation data (45 CFR 149.510; DOMAIN.md §9.4).

A case is one claim's payment dispute with one plan (``<PCN>-nsa``). Its clocks start only
from recorded events: the day the initial payment or notice of denial was received (posted
835, or corrected by ``claimflow nsa payment-received``), the day the open negotiation notice
was sent (``claimflow nsa notice-sent``), the IDR initiation and entity selection. Until the
notice is sent, the dates shown after it are what they would be if it went out on the draft's
date (``notice_planned``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from pipeline.reconcile.calendar import (
    NegotiationClock,
    idr_clock,
    negotiation_clock,
    notice_deadline,
    nth_business_day,
)

__all__ = [
    "IDR_INITIATION_COLUMNS",
    "NSA_CASE_COLUMNS",
    "CaseEventLike",
    "CaseState",
    "case_head",
    "case_row",
    "case_state",
    "idr_batches",
    "idr_items",
]

ZERO = Decimal(0)


class CaseEventLike(Protocol):
    """What the clocks read from a ledger case event (``pipeline.ledger.cases``)."""

    @property
    def event(self) -> str: ...
    @property
    def on(self) -> date: ...
    @property
    def method(self) -> str | None: ...
    @property
    def amount(self) -> Decimal | None: ...
    @property
    def reference(self) -> str | None: ...


@dataclass(frozen=True)
class CaseState:
    status: str
    received_on: date | None
    notice_deadline: date | None
    notice_sent_on: date | None
    notice_method: str
    notice_date: date | None  # sent, or planned (the draft's date)
    negotiation_end: date | None
    idr_window_start: date | None
    idr_window_end: date | None
    idr_initiated_on: date | None
    idr_reference: str
    entity_selected_on: date | None
    entity_selection_deadline: date | None
    offer_deadline: date | None
    determination_deadline: date | None
    payment_due: date | None
    payer_response: Decimal | None
    settled_amount: Decimal | None
    determination_amount: Decimal | None
    next_deadline: date | None
    next_step: str


def _last(events: Sequence[CaseEventLike], name: str) -> CaseEventLike | None:
    found = [e for e in events if e.event == name]
    return found[-1] if found else None


def _first(events: Sequence[CaseEventLike], name: str) -> CaseEventLike | None:
    return next((e for e in events if e.event == name), None)


def _d(day: date | None) -> str:
    return "" if day is None else day.isoformat()


def case_state(
    events: Sequence[CaseEventLike],
    remittance_received: date | None,
    as_of: date,
    state_law: str = "",
) -> CaseState:
    """The case's status and next deadline on ``as_of`` from its recorded events."""
    corrected = _last(events, "payment_received")
    received = corrected.on if corrected is not None else remittance_received
    deadline = notice_deadline(received) if received else None
    sent = _first(events, "notice_sent")  # the first sending starts the period
    planned = sent.on if sent else max(as_of, received) if received else None
    clock = negotiation_clock(planned) if planned else None
    initiated = _first(events, "idr_initiated")
    selected = _first(events, "idr_entity_selected")
    decided = _last(events, "idr_decided")
    idr = (
        idr_clock(initiated.on, selected.on if selected else None, decided.on if decided else None)
        if initiated
        else None
    )
    responded = _last(events, "payer_responded")
    settled = _last(events, "settled")
    status, next_deadline, step = _status(
        events, as_of, state_law, deadline, sent, clock, idr, received
    )
    return CaseState(
        status=status,
        received_on=received,
        notice_deadline=deadline,
        notice_sent_on=sent.on if sent else None,
        notice_method=(sent.method or "") if sent else "",
        notice_date=planned,
        negotiation_end=clock.negotiation_end if clock else None,
        idr_window_start=clock.idr_window_start if clock else None,
        idr_window_end=clock.idr_window_end if clock else None,
        idr_initiated_on=initiated.on if initiated else None,
        idr_reference=(initiated.reference or "") if initiated else "",
        entity_selected_on=selected.on if selected else None,
        entity_selection_deadline=idr.joint_selection_deadline if idr else None,
        offer_deadline=idr.offer_deadline if idr else None,
        determination_deadline=idr.determination_deadline if idr else None,
        payment_due=idr.payment_due if idr else None,
        payer_response=responded.amount if responded else None,
        settled_amount=settled.amount if settled else None,
        determination_amount=decided.amount if decided else None,
        next_deadline=next_deadline,
        next_step=step,
    )


def _status(
    events: Sequence[CaseEventLike],
    as_of: date,
    state_law: str,
    deadline: date | None,
    sent: CaseEventLike | None,
    clock: NegotiationClock | None,
    idr: Any,
    received: date | None,
) -> tuple[str, date | None, str]:
    done = {e.event for e in events}
    if state_law:
        return "state_process", None, f"The {state_law} applies: use the state's process"
    if "closed" in done:
        return "closed", None, "Closed"
    if "settled" in done:
        return "settled", None, "Settled in open negotiation: post the agreed payment"
    if idr is not None:
        return _idr_status(done, as_of, idr)
    if sent is not None and clock is not None:
        return _negotiation_status(as_of, clock)
    if deadline is None or received is None:
        return "awaiting_payment", None, "Wait for the initial payment or notice of denial"
    if as_of > deadline:
        return (
            "notice_window_missed",
            None,
            (
                f"The 30 business days to send the open negotiation notice ended {_d(deadline)}: "
                "the federal IDR is no longer available"
            ),
        )
    assert clock is not None
    return (
        "notice_due",
        deadline,
        (
            f"Send the open negotiation notice by {_d(deadline)}; sent on "
            f"{_d(clock.notice_sent_on)} the negotiation ends {_d(clock.negotiation_end)} and the "
            f"federal IDR may be initiated {_d(clock.idr_window_start)} to "
            f"{_d(clock.idr_window_end)}"
        ),
    )


def _negotiation_status(as_of: date, clock: NegotiationClock) -> tuple[str, date | None, str]:
    window = f"{_d(clock.idr_window_start)} to {_d(clock.idr_window_end)}"
    if as_of <= clock.negotiation_end:
        return (
            "negotiating",
            clock.negotiation_end,
            (
                f"Negotiate until {_d(clock.negotiation_end)}; if no agreement, initiate the "
                f"federal IDR {window} (not earlier)"
            ),
        )
    if as_of <= clock.idr_window_end:
        return (
            "idr_window_open",
            clock.idr_window_end,
            (f"Initiate the federal IDR on the portal {window}"),
        )
    return "idr_window_missed", None, f"The IDR initiation window ({window}) has passed"


def _idr_status(done: set[str], as_of: date, idr: Any) -> tuple[str, date | None, str]:
    if "idr_decided" in done:
        return (
            "idr_decided",
            idr.payment_due,
            (f"Payment of any amount owed is due by {_d(idr.payment_due)}"),
        )
    if "offer_submitted" in done:
        return (
            "offer_submitted",
            idr.determination_deadline,
            (f"The IDR entity decides by {_d(idr.determination_deadline)}"),
        )
    if "idr_entity_selected" in done:
        return (
            "idr_entity_selected",
            idr.offer_deadline,
            (f"Submit the offer and supporting information by {_d(idr.offer_deadline)}"),
        )
    return (
        "idr_initiated",
        idr.joint_selection_deadline,
        (
            f"Select the certified IDR entity jointly by {_d(idr.joint_selection_deadline)} "
            f"(else the Departments select by {_d(idr.departments_selection_deadline)})"
        ),
    )


NSA_CASE_COLUMNS = (
    "case_id",
    "patient_control_number",
    "payer",
    "payer_claim_control_number",
    "category",
    "protection",
    "state_law",
    "service_date",
    "procedure_codes",
    "place_of_service",
    "location_state",
    "charge_amount",
    "allowed_amount",
    "paid_amount",
    "qpa_amount",
    "offer_amount",
    "amount_in_dispute",
    "status",
    "next_deadline",
    "next_step",
    "received_on",
    "notice_deadline",
    "notice_sent_on",
    "notice_method",
    "notice_date",
    "negotiation_end",
    "idr_window_start",
    "idr_window_end",
    "idr_initiated_on",
    "idr_reference",
    "entity_selected_on",
    "entity_selection_deadline",
    "offer_deadline",
    "determination_deadline",
    "payment_due",
    "payer_response",
    "settled_amount",
    "determination_amount",
    "letter_html",
)


def case_row(head: Mapping[str, Any], state: CaseState) -> dict[str, Any]:
    """One ``nsa_cases`` row: the claim's money (``head``) and the clock's state."""
    row = dict.fromkeys(NSA_CASE_COLUMNS)
    row.update({k: v for k, v in head.items() if k in row})
    row.update({k: v for k, v in state_fields(state).items() if k in row})
    return row


def state_fields(state: CaseState) -> dict[str, Any]:
    """``asdict(state)`` without its deep copies: the fields are text, amounts and dates."""
    return {f.name: getattr(state, f.name) for f in fields(state)}


IDR_INITIATION_COLUMNS = (
    "batch_id",
    "dispute_type",
    "initiating_party_type",
    "initiating_party_name",
    "initiating_party_npi",
    "initiating_party_tin",
    "initiating_party_contact",
    "initiating_party_email",
    "initiating_party_phone",
    "practice_size",
    "non_initiating_party_name",
    "non_initiating_party_payer_id",
    "non_initiating_party_email",
    "plan_type",
    "preferred_idr_entity",
    "claim_number",
    "patient_account_number",
    "service_date",
    "service_code",
    "modifiers",
    "place_of_service",
    "location_state",
    "item_service_type",
    "qpa_amount",
    "initial_payment_amount",
    "initial_payment_received_on",
    "open_negotiation_notice_sent_on",
    "open_negotiation_end",
    "idr_window_start",
    "idr_window_end",
    "status",
)


def idr_batches(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Group IDR line items into disputes the rules allow to batch (45 CFR 149.510(c)(3)):
    same provider (TIN), same plan, same service code, same kind of service, furnished within
    one 30-business-day period — and, so they can be filed together, the same initiation
    window. Everything else is a single dispute."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for item in items:
        key = (
            item["initiating_party_tin"],
            item["non_initiating_party_payer_id"],
            item["service_code"],
            item["item_service_type"],
            item["idr_window_start"],
            item["idr_window_end"],
        )
        groups.setdefault(key, []).append(dict(item))
    rows: list[dict[str, Any]] = []
    for key in sorted(groups, key=lambda k: tuple(str(p) for p in k)):
        for period in _periods(sorted(groups[key], key=lambda r: r["service_date"])):
            batch_id = "-".join(
                [str(key[1]), str(key[2]), period[0]["service_date"].strftime("%Y%m%d")]
            )
            for item in period:
                item["batch_id"] = batch_id
                item["dispute_type"] = "batched" if len(period) > 1 else "single"
                rows.append(item)
    return rows


def _periods(items: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Split by date of service into runs that fit in 30 business days from their first."""
    runs: list[list[dict[str, Any]]] = []
    for item in items:
        if runs and item["service_date"] <= nth_business_day(runs[-1][0]["service_date"], 30):
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


def case_head(
    pcn: str,
    payer: str,
    disputes: Sequence[Mapping[str, Any]],
    recon: Sequence[Mapping[str, Any]],
    extras: Mapping[str, str],
    remit_icn: str,
) -> dict[str, Any]:
    """The money and the facts of one case, from its ``payment_dispute`` flags and the lines'
    reconciliation rows (recognized amount = lesser of QPA and charge)."""
    lcns = {str(f["line_control_number"]) for f in disputes}
    lines = [r for r in recon if str(r["line_control_number"]) in lcns]
    offer = sum((f["expected_amount"] or ZERO for f in disputes), ZERO)
    at_stake = sum((f["amount_at_stake"] or ZERO for f in disputes), ZERO)
    reason = str(disputes[0]["reason"]) if disputes else ""
    protection = reason[len("No Surprises Act (") : reason.find("):")] if "):" in reason else ""
    return {
        "case_id": f"{pcn}-nsa",
        "patient_control_number": pcn,
        "payer": payer,
        "payer_claim_control_number": remit_icn,
        "category": protection.split(" (")[0].split(";")[0],
        "protection": protection,
        "service_date": min((r["service_date"] for r in lines if r["service_date"]), default=None),
        "procedure_codes": " ".join(str(r["procedure_code"]) for r in lines),
        "charge_amount": sum((r["charge_amount"] or ZERO for r in lines), ZERO),
        "allowed_amount": offer - at_stake,
        "paid_amount": sum((f["paid_amount"] or ZERO for f in disputes), ZERO),
        "qpa_amount": sum(
            (r["expected_allowed"] or ZERO for r in lines if r["basis"] == "qpa"), ZERO
        ),
        "offer_amount": offer,
        "amount_in_dispute": at_stake,
        "place_of_service": extras.get("place_of_service", ""),
        "location_state": extras.get("facility_state") or extras.get("practice_state", ""),
    }


def idr_items(
    case: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]],
    disputes: Sequence[Mapping[str, Any]],
    *,
    practice: Mapping[str, str],
    contact: Mapping[str, str],
    payer: Mapping[str, str],
    policy: Mapping[str, str],
    as_of: date,
) -> list[dict[str, Any]]:
    """The federal IDR portal's initiation fields, one row per disputed line of a case whose
    open negotiation notice was sent (nothing can be initiated before that)."""
    if not case.get("notice_sent_on") or case["status"] in ("settled", "closed", "state_process"):
        return []
    by_lcn = {str(r["line_control_number"]): r for r in lines}
    window_open = case["idr_window_start"] <= as_of <= case["idr_window_end"]
    status = (
        "initiated"
        if case.get("idr_initiated_on")
        else "ready"
        if window_open
        else "too_early"
        if as_of < case["idr_window_start"]
        else "window_passed"
    )
    rows = []
    for f in disputes:
        line = by_lcn.get(str(f["line_control_number"]), {})
        rows.append(
            {
                "initiating_party_type": "provider",
                "initiating_party_name": practice.get("name", ""),
                "initiating_party_npi": practice.get("npi", ""),
                "initiating_party_tin": practice.get("tax_id", ""),
                "initiating_party_contact": contact.get("name", ""),
                "initiating_party_email": contact.get("email", ""),
                "initiating_party_phone": contact.get("phone", ""),
                "practice_size": policy.get("practice_size", ""),
                "non_initiating_party_name": payer.get("name", ""),
                "non_initiating_party_payer_id": payer.get("payer_id", ""),
                "non_initiating_party_email": payer.get("email", ""),
                "plan_type": payer.get("plan_type", ""),
                "preferred_idr_entity": policy.get("preferred_idr_entity", ""),
                "claim_number": case["payer_claim_control_number"],
                "patient_account_number": case["patient_control_number"],
                "service_date": line.get("service_date") or case["service_date"],
                "service_code": f["procedure_code"],
                "modifiers": line.get("modifiers", ""),
                "place_of_service": case["place_of_service"],
                "location_state": case["location_state"],
                "item_service_type": case["category"],
                "qpa_amount": line.get("expected_allowed"),
                "initial_payment_amount": f["paid_amount"],
                "initial_payment_received_on": case["received_on"],
                "open_negotiation_notice_sent_on": case["notice_sent_on"],
                "open_negotiation_end": case["negotiation_end"],
                "idr_window_start": case["idr_window_start"],
                "idr_window_end": case["idr_window_end"],
                "status": status,
            }
        )
    return rows
