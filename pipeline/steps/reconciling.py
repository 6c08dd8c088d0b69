"""Reconcile everything posted so far and write the exports, the letters and the report.

Inputs come from the ledger, never from the clearinghouse's side: the 835s in ``posted`` state
(re-parsed in arrival order, so a reversal finds its original), the 837P files sent (what each
claim said), claim states and submission dates (``no_response`` and the worklist status), the
271 summaries, and the practice's appointments (patient estimates).
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Any

from pipeline.ledger import Direction, FileState, Ledger
from pipeline.practice import Practice
from pipeline.steps.claim_status import annotate_flags
from pipeline.steps.eligibility import eligibility_table
from pipeline.steps.files import REMITTANCE, local_path
from pipeline.steps.remittance import combine_tables
from pipeline.steps.summaries import ReconcileSummary
from pipeline.steps.workspace import Workspace

__all__ = ["reconcile_and_export", "submitted_claims"]

# Ordinary patient cost sharing: billed to the patient, not money a payer owes the practice.
_INFORMATIONAL = "patient_responsibility"


def reconcile_and_export(
    ledger: Ledger, practice: Practice, workspace: Workspace, *, on: date
) -> ReconcileSummary:
    """``as_of`` is the business date, or the latest payment date when a remittance is newer."""
    import pandas as pd

    from pipeline.export import render_letters, render_report, write_exports
    from pipeline.parse import parse_files
    from pipeline.reconcile import reconcile
    from pipeline.reconcile.inputs import appointments_from_practice, as_date, practice_facts

    posted = [
        f
        for f in ledger.files_by_state(FileState.POSTED, direction=Direction.RECEIVED)
        if (f.transaction_type or "") in REMITTANCE
    ]
    remit = combine_tables(parse_files([local_path(f) for f in posted]))
    payments = remit.get("remit_payments", pd.DataFrame())
    dates = [as_date(d) for d in payments.get("payment_date", [])]
    as_of = max([on, *(d for d in dates if d is not None)])
    elig_rows = eligibility_table(ledger)
    result = reconcile(
        remit,
        submitted_claims(ledger, practice, on=on),
        as_of=as_of,
        eligibility=pd.DataFrame(elig_rows) if elig_rows else None,
        appointments=appointments_from_practice(practice),
        practice=practice_facts(practice),
        case_events=ledger.case_events(),
    )
    if result.tables.get("flags") is not None:  # what the payers' 277s said (claim status)
        result.tables["flags"] = annotate_flags(result.tables["flags"], ledger, practice)
    exports = write_exports(result, workspace.exports_dir)
    letters = render_letters(result, workspace.letters_dir)
    _good_faith_estimates(result, practice, workspace, on)
    report = render_report(result, workspace.report_path)
    flags = result.tables.get("flags")
    summary = ReconcileSummary(
        as_of=as_of.isoformat(),
        remittances=len(posted),
        exports=exports,
        report=report,
        letters=len(letters),
        tables=result.tables,
    )
    if flags is not None and len(flags):
        summary.flags = len(flags)
        summary.by_flag = dict(sorted(Counter(str(f) for f in flags["flag"]).items()))
        at_stake = flags[flags["flag"] != _INFORMATIONAL]["amount_at_stake"]
        summary.dollars_flagged = sum((_money(v) for v in at_stake), start=Decimal("0"))
    worklist = result.tables.get("appeal_worklist")
    summary.worklist = 0 if worklist is None else len(worklist)
    return summary


def submitted_claims(ledger: Ledger, practice: Practice, *, on: date) -> Any:
    """Claims as sent (the 837P files in the ledger's sent folder), with ledger states/dates."""
    from pipeline.parse.t837p import read_837p
    from pipeline.reconcile.inputs import encounter_extras, submitted_from_claim_records

    records: dict[str, Any] = {}
    sent_on: dict[str, date] = {}
    sent = ledger.files_by_state(FileState.STAGED, FileState.UPLOADED, direction=Direction.SENT)
    for f in sent:
        if f.transaction_type != "837" or not f.local_path:
            continue
        day = min(f.created_at.date(), on)  # never after the business date being reconciled
        for record in read_837p(local_path(f)):
            records[record.patient_control_number] = record  # a resent claim: the latest
            sent_on.setdefault(record.patient_control_number, day)
    states = {}
    for pcn in records:
        claim = ledger.claim(pcn)
        if claim is not None:
            states[pcn] = claim.state.value
    notes = {e.patient_control_number: e.clinical_notes or "" for e in practice.encounters}
    network = {pid: str(p.network_status) for pid, p in practice.payers.items()}
    return submitted_from_claim_records(
        list(records.values()),
        network,
        submitted_dates=sent_on,
        default_submitted=on,
        notes=notes,
        ledger_states=states,
        encounter_facts=encounter_extras(practice),
    )


def _good_faith_estimates(result: Any, practice: Practice, workspace: Workspace, on: date) -> None:
    """The patient-facing document of each estimate, beside ``patient_estimates.csv``."""
    from pipeline.export.estimates import GFE_FOLDER, render_estimates
    from pipeline.reconcile.reference import load_fee_schedule
    from pipeline.settings import get_settings

    fees = load_fee_schedule(get_settings().mappings_dir / "fee_schedules")
    folder = workspace.exports_dir / GFE_FOLDER
    render_estimates(result, folder, fees=fees, practice=practice, issued=on)


def _money(value: object) -> Decimal:
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return Decimal("0")
    return value if isinstance(value, Decimal) else Decimal(str(value))
