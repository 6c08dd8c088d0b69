"""Case events the nightly steps record: the day each 835 adjudication was received.

The No Surprises Act notice clock starts on the day the initial payment or notice of denial is
received; the ledger keeps that day per claim (``case_events``, kind ``remittance``, reference
= the CLP's claim_key) when the 835 is posted. The day is the 835's payment date (BPR16):
what the remittance documents and the plan will cite; when a paper check or a late ERA arrives
later, ops record the real day with ``claimflow nsa payment-received``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.ledger import FileRecord, Ledger
from pipeline.ledger.cases import NewCaseEvent

if TYPE_CHECKING:
    from pipeline.parse import ParseResult

__all__ = ["record_remittance_received"]


def record_remittance_received(ledger: Ledger, record: FileRecord, parsed: ParseResult) -> int:
    """One ``payment_received`` event per adjudicated CLP of a known claim; returns how many
    were new (posting the same file again records nothing)."""
    from pipeline.reconcile.inputs import as_date, as_decimal, records

    paid_on = {
        str(p.get("trace_number") or ""): as_date(p.get("payment_date"))
        for p in records(parsed.tables.get("remit_payments"))
    }
    clps = records(parsed.tables.get("remit_claims"))
    known = ledger.latest_claims(str(c.get("patient_control_number") or "") for c in clps)
    events = []
    for clp in clps:
        pcn = str(clp.get("patient_control_number") or "")
        day = paid_on.get(str(clp.get("trace_number") or ""))
        if day is None or str(clp.get("claim_status_code")) == "22" or pcn not in known:
            continue
        events.append(
            NewCaseEvent(
                case_id=pcn,
                patient_control_number=pcn,
                kind="remittance",
                event="payment_received",
                on=day,
                amount=as_decimal(clp.get("paid_amount")),
                reference=str(clp.get("claim_key") or ""),
                file_id=record.id,
            )
        )
    # One transaction for the file, not one per claim (issue 15).
    return sum(not e.replayed for e in ledger.record_case_events(events))
