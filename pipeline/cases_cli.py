"""``claimflow nsa ...`` and ``claimflow appeal ...``: what billers record as a case moves.

Each command appends one event to the ledger (``pipeline.ledger.cases``) with the business
date it happened (``--date``); the NSA clocks and the appeal worklist read them on the next
reconciliation. Only Typer is imported here (``claimflow --help`` stays fast); a bad date or
an event out of order is one line on stderr and exit 2, never a traceback.
"""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pipeline.cli_types import DATE_METAVAR, parse_date
from pipeline.errors import ClaimflowError

if TYPE_CHECKING:
    from pipeline.ledger import Ledger
    from pipeline.ledger.cases import CaseEventRecord

__all__ = ["appeal_app", "nsa_app", "register"]

nsa_app = typer.Typer(
    help="No Surprises Act cases: record notices, answers and IDR steps; show the clocks.",
    no_args_is_help=True,
)
appeal_app = typer.Typer(help="Appeal worklist: record status changes.", no_args_is_help=True)

Pcn = Annotated[str, typer.Argument(help="Patient control number (CLM01) of the claim.")]


def _date_option(option: str, help_text: str) -> Any:
    return typer.Option(option, help=help_text, parser=parse_date, metavar=DATE_METAVAR)


Day = Annotated[date, _date_option("--date", "When it happened.")]
Amount = Annotated[
    str | None, typer.Option("--amount", help="Dollars, e.g. 552.00.", metavar="DOLLARS")
]
Note = Annotated[str | None, typer.Option("--note", help="Free text kept with the event.")]
Reference = Annotated[
    str | None, typer.Option("--reference", help="Dispute number, tracking or PWK number.")
]


def register(app: typer.Typer) -> None:
    """Add the ``nsa`` and ``appeal`` sub-commands to the ``claimflow`` app."""
    app.add_typer(nsa_app, name="nsa")
    app.add_typer(appeal_app, name="appeal")


def _amount(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text.replace("$", "").replace(",", ""))
    except InvalidOperation as exc:
        raise typer.BadParameter(f"{text!r} is not an amount") from exc


def _ledger() -> Ledger:
    from pipeline.ledger import Ledger
    from pipeline.settings import get_settings

    return Ledger(get_settings().ledger_url)


def _fail(message: str) -> None:
    print(f"claimflow: error: {message}", file=sys.stderr)
    raise typer.Exit(2)


def _record_nsa(
    pcn: str,
    event: str,
    on: date,
    *,
    method: str | None = None,
    amount: str | None = None,
    reference: str | None = None,
    note: str | None = None,
) -> None:
    from pipeline.ledger.cases import NewCaseEvent, nsa_case_id

    day = on
    try:
        with _ledger() as ledger:
            if ledger.claim(pcn) is None:
                _fail(f"claim {pcn}: not in the ledger")
            _check_nsa(ledger, pcn, event, day)
            saved = ledger.record_case_event(
                NewCaseEvent(
                    nsa_case_id(pcn),
                    pcn,
                    "nsa",
                    event,
                    day,
                    method=method,
                    amount=_amount(amount),
                    reference=reference,
                    note=note,
                )
            )
            _show_nsa(ledger, pcn, day)
    except ClaimflowError as exc:
        _fail(str(exc))
    if saved.replayed:
        print("(already recorded)")


def _received(ledger: Ledger, pcn: str) -> date | None:
    from pipeline.ledger.cases import nsa_case_id

    own = [e for e in ledger.case_events(case_id=nsa_case_id(pcn)) if e.event == "payment_received"]
    if own:
        return own[-1].on
    posted = ledger.case_events(case_id=pcn, kind="remittance")
    return posted[0].on if posted else None


def _check_nsa(ledger: Ledger, pcn: str, event: str, day: date) -> None:
    """The dates the regulation fixes: no notice before the payment, no IDR outside its
    4-business-day window (premature or late filings are ineligible)."""
    from pipeline.ledger.cases import nsa_case_id
    from pipeline.reconcile.calendar import negotiation_clock

    received = _received(ledger, pcn)
    if event == "notice_sent":
        if received is None:
            _fail(f"claim {pcn}: no initial payment or denial recorded yet")
        elif day < received:
            _fail(f"claim {pcn}: notice dated {day} is before the payment received {received}")
    if event == "idr_initiated":
        sent = [e for e in ledger.case_events(case_id=nsa_case_id(pcn)) if e.event == "notice_sent"]
        if not sent:
            _fail(f"claim {pcn}: no open negotiation notice recorded")
            return
        clock = negotiation_clock(sent[0].on)
        if not clock.idr_window_open(day):
            _fail(
                f"claim {pcn}: the federal IDR may be initiated only {clock.idr_window_start} to "
                f"{clock.idr_window_end} (notice sent {sent[0].on})"
            )


def _show_nsa(ledger: Ledger, pcn: str, as_of: date) -> None:
    from pipeline.ledger.cases import nsa_case_id
    from pipeline.reconcile.nsa_cases import case_state

    events = ledger.case_events(case_id=nsa_case_id(pcn))
    state = case_state(events, _received(ledger, pcn), as_of)
    _print_events(events)
    print(f"status {state.status} on {as_of}; next deadline {state.next_deadline or '-'}")
    print(state.next_step)


def _print_events(events: list[CaseEventRecord]) -> None:
    for e in events:
        extra = " ".join(
            x
            for x in (
                e.method or "",
                f"${e.amount}" if e.amount is not None else "",
                e.reference or "",
                e.note or "",
            )
            if x
        )
        print(f"  {e.on}  {e.event:<20} {extra}".rstrip())


@nsa_app.command("show")
def nsa_show(pcn: Pcn, on: Day) -> None:
    """Recorded events, status and next deadline of a claim's NSA case on a date."""
    try:
        with _ledger() as ledger:
            _show_nsa(ledger, pcn, on)
    except ClaimflowError as exc:
        _fail(str(exc))


@nsa_app.command("clock")
def nsa_clock(
    received: Annotated[date, _date_option("--received", "Initial payment/denial day.")],
    sent: Annotated[date | None, _date_option("--sent", "Notice sent day.")] = None,
    initiated: Annotated[date | None, _date_option("--initiated", "IDR day.")] = None,
    selected: Annotated[date | None, _date_option("--selected", "Entity selected.")] = None,
) -> None:
    """Every NSA deadline from the dates given (federal business days; no ledger needed)."""
    from pipeline.reconcile.calendar import idr_clock, negotiation_clock, notice_deadline

    print(f"open negotiation notice due by  {notice_deadline(received)}")
    if sent:
        clock = negotiation_clock(sent)
        print(f"open negotiation ends           {clock.negotiation_end}")
        print(f"federal IDR initiation window   {clock.idr_window_start} to {clock.idr_window_end}")
    if initiated:
        idr = idr_clock(initiated, selected)
        print(f"IDR entity selected jointly by  {idr.joint_selection_deadline}")
        print(f"  else the Departments select by {idr.departments_selection_deadline}")
        if idr.offer_deadline:
            print(f"offers due by                   {idr.offer_deadline}")
            print(f"determination due by            {idr.determination_deadline}")


@nsa_app.command("payment-received")
def nsa_payment_received(pcn: Pcn, on: Day, note: Note = None) -> None:
    """Correct the day the initial payment or notice of denial was received (default: the
    835's payment date)."""
    _record_nsa(pcn, "payment_received", on, note=note)


@nsa_app.command("notice-sent")
def nsa_notice_sent(
    pcn: Pcn,
    on: Day,
    method: Annotated[str, typer.Option("--method", help="mail, email, fax or portal.")],
    amount: Annotated[str | None, typer.Option("--offer", help="Offer in the notice.")] = None,
    note: Note = None,
) -> None:
    """The open negotiation notice went out: the 30-business-day negotiation starts."""
    _record_nsa(pcn, "notice_sent", on, method=method, amount=amount, note=note)


@nsa_app.command("payer-response")
def nsa_payer_response(pcn: Pcn, on: Day, amount: Amount = None, note: Note = None) -> None:
    """The plan answered (counteroffer amount, or a note)."""
    _record_nsa(pcn, "payer_responded", on, amount=amount, note=note)


@nsa_app.command("settled")
def nsa_settled(pcn: Pcn, on: Day, amount: Amount = None, note: Note = None) -> None:
    """Agreement on the total out-of-network rate."""
    _record_nsa(pcn, "settled", on, amount=amount, note=note)


@nsa_app.command("idr-initiated")
def nsa_idr_initiated(pcn: Pcn, on: Day, reference: Reference = None) -> None:
    """Federal IDR initiated on the portal (refused outside the 4-business-day window)."""
    _record_nsa(pcn, "idr_initiated", on, reference=reference)


@nsa_app.command("entity-selected")
def nsa_entity_selected(pcn: Pcn, on: Day, reference: Reference = None) -> None:
    """The certified IDR entity was selected (offers are due 10 business days later)."""
    _record_nsa(pcn, "idr_entity_selected", on, reference=reference)


@nsa_app.command("offer-submitted")
def nsa_offer_submitted(pcn: Pcn, on: Day, amount: Amount = None) -> None:
    """Our offer and supporting information went to the IDR entity."""
    _record_nsa(pcn, "offer_submitted", on, amount=amount)


@nsa_app.command("decided")
def nsa_decided(pcn: Pcn, on: Day, amount: Amount = None, note: Note = None) -> None:
    """The IDR entity's determination (the out-of-network rate it chose)."""
    _record_nsa(pcn, "idr_decided", on, amount=amount, note=note)


@nsa_app.command("closed")
def nsa_closed(pcn: Pcn, on: Day, note: Note = None) -> None:
    """Nothing more to do on the case."""
    _record_nsa(pcn, "closed", on, note=note)


@appeal_app.command("status")
def appeal_status(
    appeal_id: Annotated[str, typer.Argument(help="The worklist's appeal_id, e.g. X-prior_auth.")],
    event: Annotated[
        str, typer.Argument(help="drafted, sent, payer_responded, won, lost or closed.")
    ],
    on: Day,
    method: Annotated[str | None, typer.Option("--method", help="mail, fax, portal...")] = None,
    amount: Amount = None,
    reference: Reference = None,
    note: Note = None,
) -> None:
    """Record an appeal's status change (``won``: ``--amount`` = recovered)."""
    from pipeline.ledger.cases import NewCaseEvent

    pcn = appeal_id.rsplit("-", 1)[0]
    try:
        with _ledger() as ledger:
            if ledger.claim(pcn) is None:
                _fail(f"claim {pcn}: not in the ledger")
            saved = ledger.record_case_event(
                NewCaseEvent(
                    appeal_id,
                    pcn,
                    "appeal",
                    event.replace("-", "_"),
                    on,
                    method=method,
                    amount=_amount(amount),
                    reference=reference,
                    note=note,
                )
            )
            _print_events(ledger.case_events(case_id=appeal_id))
    except ClaimflowError as exc:
        _fail(str(exc))
    if saved.replayed:
        print("(already recorded)")
