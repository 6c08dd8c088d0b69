"""Reconcile everything posted so far and write the exports, the letters and the report.

Inputs come from the ledger, never from the clearinghouse's side: the 835s in ``posted`` state
(re-parsed in arrival order, so a reversal finds its original), the 837P files sent (what each
claim said), claim states and submission dates (``no_response`` and the worklist status), the
271 summaries, and the practice's appointments (patient estimates).

The as-of date of the report and the exports is the run's business date (a remittance dated
later is still posted; its clocks count from the business date). A CLP the ledger refused to
post (a claim paid again under another check) is handed to reconciliation as ``refused`` so
it is never posted twice; claims the scrubber held are exported with their findings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from pipeline.benchnight import stage
from pipeline.gcpause import no_cyclic_gc
from pipeline.heap import release_memory
from pipeline.ledger import ClaimHead, ClaimState, Direction, FileState, Ledger
from pipeline.practice import Practice
from pipeline.steps.claim_status import annotate_flags
from pipeline.steps.eligibility import eligibility_table
from pipeline.steps.files import REMITTANCE, arrival_order, local_path
from pipeline.steps.remittance import reconcile_tables
from pipeline.steps.summaries import ReconcileSummary
from pipeline.steps.workspace import Workspace

__all__ = [
    "LatestClaims",
    "held_claims",
    "reconcile_and_export",
    "refused_claims",
    "submitted_claims",
    "without_encounters",
]

# Ordinary patient cost sharing: billed to the patient, not money a payer owes the practice.
_INFORMATIONAL = "patient_responsibility"


def reconcile_and_export(
    ledger: Ledger,
    practice: Practice,
    workspace: Workspace,
    *,
    on: date,
    period: Any = None,
    out: Path | None = None,
) -> ReconcileSummary:
    """Reconcile as of the business date ``on`` (``period``: a
    :class:`~pipeline.reconcile.period.Period`, for a month-end close) and write the exports,
    letters and report under ``out`` (default: the workspace's own folders)."""
    from pipeline.export import ExportWriter, render_letters, render_report
    from pipeline.reconcile import TABLES, reconcile
    from pipeline.reconcile.inputs import appointments_from_practice, practice_facts

    posted = arrival_order(  # the order they were posted in (reversals follow originals)
        f
        for f in ledger.files_by_state(
            FileState.POSTED, direction=Direction.RECEIVED, with_controls=False
        )
        if (f.transaction_type or "") in REMITTANCE
    )
    release_memory()  # what the night's flows freed, before the tables that set its peak
    with stage("parse"):  # only the columns reconciliation reads, in one table set
        remit = reconcile_tables(local_path(f) for f in posted)
    as_of = min(on, period.end) if period is not None and period.end else on
    exports_dir = out / "exports" if out else workspace.exports_dir
    release_memory()  # the parser's strings
    # The largest tables are written as reconciliation makes them (so their time is in
    # the reconcile stage), the rest once it is done.
    with ExportWriter(exports_dir, TABLES) as writer:
        with stage("reconcile"), no_cyclic_gc():
            inputs = _ledger_inputs(ledger, practice, remit, on=on)
            appointments = appointments_from_practice(practice)
            facts = practice_facts(practice)
            practice = without_encounters(practice)  # freed here when the caller handed it over
            inputs["remit"] = remit
            del remit
            # Each input popped into an explicit argument, not ``**inputs``: the call then
            # holds no reference of its own, so the 835 tables and the claims as sent go as
            # soon as matching has read them, not when reconcile returns.
            result = reconcile(
                inputs.pop("remit"),
                inputs.pop("submitted"),
                as_of=as_of,
                eligibility=inputs.pop("eligibility"),
                refused=inputs.pop("refused"),
                held=inputs.pop("held"),
                case_events=inputs.pop("case_events"),
                appointments=appointments,
                practice=facts,
                period=period,
                sink=writer,
            )
            if result.tables.get("flags") is not None:  # what the payers' 277s said
                result.tables["flags"] = annotate_flags(result.tables["flags"], ledger, practice)
        release_memory()  # reconcile's working rows, before the exports' text and Arrow tables
        with stage("export"):
            writer.write_all(result.tables)
            exports = writer.finish()
            _good_faith_estimates(result, practice, exports_dir, on)
    with stage("report"):
        letters = render_letters(result, out / "letters" if out else workspace.letters_dir)
        report = render_report(result, out / "report.html" if out else workspace.report_path)
    flags = result.tables.get("flags")
    summary = ReconcileSummary(
        as_of=as_of.isoformat(),
        remittances=len(posted),
        exports=exports,
        report=report,
        letters=len(letters),
        tables={} if flags is None else {"flags": flags},
    )
    if flags is not None and len(flags):
        summary.flags = len(flags)
        summary.by_flag = dict(sorted(Counter(str(f) for f in flags["flag"]).items()))
        at_stake = flags[flags["flag"] != _INFORMATIONAL]["amount_at_stake"]
        summary.dollars_flagged = sum((_money(v) for v in at_stake), start=Decimal("0"))
    worklist = result.tables.get("appeal_worklist")
    summary.worklist = 0 if worklist is None else len(worklist)
    return summary


def without_encounters(practice: Practice) -> Practice:
    """A shallow copy of ``practice`` without its encounters (and their charges), for what
    reconciliation reads after the claims: payers, patients, providers, appointments. The
    practice itself is not changed (the nightly's tasks share it)."""
    return practice.model_copy(update={"encounters": []})


def _ledger_inputs(
    ledger: Ledger, practice: Practice, remit: dict[str, Any], *, on: date
) -> dict[str, Any]:
    """What reconciliation reads from the ledger. The claim records and 271 rows read on
    the way are let go here, before reconciliation builds its own (a lower peak)."""
    eligibility = eligibility_table(ledger)
    latest = LatestClaims(ledger)  # sent and remitted claims are mostly the same: read once
    return {
        "submitted": submitted_claims(ledger, practice, on=on, latest=latest),
        "eligibility": eligibility,
        "refused": refused_claims(ledger, remit, latest=latest),
        "held": held_claims(ledger, practice, on=on),
        "case_events": ledger.case_events(),
    }


class LatestClaims:
    """The id and state of the ledger's latest claim per PCN (all reconciliation reads of
    it), each PCN read once however often it is asked for."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._known: dict[str, ClaimHead | None] = {}

    def __call__(self, patient_control_numbers: Iterable[str]) -> dict[str, ClaimHead]:
        wanted = set(patient_control_numbers)
        new = wanted - self._known.keys()
        if new:
            found = self._ledger.latest_heads(new)  # chunked, not a query per claim
            for pcn in new:
                self._known[pcn] = found.get(pcn)
        return {pcn: c for pcn in wanted if (c := self._known[pcn]) is not None}


def submitted_claims(
    ledger: Ledger, practice: Practice, *, on: date, latest: LatestClaims | None = None
) -> Any:
    """Claims as sent (the 837P files in the ledger's sent folder), with ledger states/dates.
    A PCN sent again is its latest claim, dated when it was first sent."""
    from pipeline.parse.t837p import iter_837p
    from pipeline.reconcile.inputs import SubmittedBuilder, encounter_facts

    encounters = {e.patient_control_number: e for e in practice.encounters}

    def facts(pcn: str) -> dict[str, str] | None:
        enc = encounters.get(pcn)
        return encounter_facts(practice, enc) if enc is not None else None

    network = {pid: str(p.network_status) for pid, p in practice.payers.items()}
    notes = {pcn: e.clinical_notes or "" for pcn, e in encounters.items()}
    claims = SubmittedBuilder(network, notes=notes, encounter_facts=facts)
    sent = ledger.files_by_state(
        FileState.STAGED, FileState.UPLOADED, direction=Direction.SENT, with_controls=False
    )
    for f in sent:
        if f.transaction_type != "837" or not f.local_path:
            continue
        day = min(f.created_at.date(), on)  # never after the business date being reconciled
        for record in iter_837p(local_path(f)):  # each record let go once it is a row
            claims.add(record, day, replace=True)
    states: dict[str, str] = {}
    reasons: dict[str, str] = {}
    pcns = claims.patient_control_numbers
    known = (latest or LatestClaims(ledger))(pcns)  # one chunked read, not one per claim
    for pcn in pcns:
        claim = known.get(pcn)
        if claim is not None:
            states[pcn] = claim.state.value
            if claim.state is ClaimState.REJECTED:
                reasons[pcn] = _reject_reason(ledger, claim.id)
    return claims.build(ledger_states=states, reject_reasons=reasons)


def _reject_reason(ledger: Ledger, claim_id: int) -> str:
    """The STC (277CA) or IK (999) code and text of the event that rejected the claim."""
    for event in reversed(ledger.transitions(claim_id)):
        if event.to_state is ClaimState.REJECTED:
            return " — ".join(x for x in (event.code, event.note) if x)
    return ""


_REFUSAL_COLUMNS = ("claim_key", "patient_control_number", "claim_status_code")


def refused_claims(
    ledger: Ledger, remit: dict[str, Any], *, latest: LatestClaims | None = None
) -> dict[str, str]:
    """claim_key → why, for each CLP (not a reversal) of a ledger claim that no ledger event
    took: the ledger refused it (e.g. paid again under another check while already paid)."""
    from pipeline.reconcile.inputs import iter_records

    frame = remit.get("remit_claims")
    if frame is not None:  # the three columns read here, not every column of every CLP
        frame = frame[[c for c in _REFUSAL_COLUMNS if c in frame.columns]]
    clps = [  # (claim_key, PCN): a pair per CLP, not a row dict
        (str(clp.get("claim_key") or ""), str(clp.get("patient_control_number") or ""))
        for clp in iter_records(frame)
        if str(clp.get("claim_status_code") or "") != "22"
    ]
    del frame
    known = (latest or LatestClaims(ledger))(pcn for _, pcn in clps)
    taken = ledger.event_references(c.id for c in known.values())  # chunked, not per claim
    out: dict[str, str] = {}
    for key, pcn in clps:
        claim = known.get(pcn)
        if claim is not None and key not in taken[claim.id]:
            out[key] = f"the ledger refused it: the claim was already {claim.state.value}"
    return out


def held_claims(ledger: Ledger, practice: Practice, *, on: date) -> Any:
    """Claims the scrubber held (ledger state ``scrub_failed``) with the findings that hold
    them, for finance to see what was never billed."""
    import pandas as pd

    from pipeline.build.codes import load_code_sets
    from pipeline.build.scrub import scrub
    from pipeline.settings import get_settings

    held = {  # the claim columns read here: their lines are not
        c.patient_control_number: c
        for c in ledger.claims_by_state(ClaimState.SCRUB_FAILED, with_lines=False)
    }
    encounters = [e for e in practice.encounters if e.patient_control_number in held]
    if not encounters:
        return None
    codes = load_code_sets(get_settings().mappings_dir)
    report = scrub(practice, _scrub_scope(practice, encounters), today=on, codes=codes)
    rows = []
    findings = report.by_encounter()
    # The frame is kept until the exports are written: its payers, dates, amounts and
    # reasons repeat across thousands of held claims, so each is kept once.
    seen: dict[tuple[type, object], Any] = {}

    def one(value: Any) -> Any:
        key = (type(value), str(value) if isinstance(value, Decimal) else value)  # 1 != 1.0
        return seen.setdefault(key, value)

    for e in encounters:
        claim = held[e.patient_control_number]
        found = [
            f"[{f.rule}] {f.field}: {f.message}"
            for f in findings.get(e.encounter_id, ())
            if f.severity == "error"
        ]
        rows.append(
            {
                "patient_control_number": claim.patient_control_number,
                "payer_id": one(claim.payer_id),
                "payer_name": one(claim.payer_name or ""),
                "service_date": one(claim.service_date_start),
                "charge_amount": one(claim.charge_amount),
                "reason": one("; ".join(found) or "held by the scrubber"),
            }
        )
    return pd.DataFrame(rows)


def _scrub_scope(practice: Practice, held: list[Any]) -> list[Any]:
    """The encounters to scrub again for the findings of ``held``: those, and in practice
    order every encounter sharing a patient or a PCN with one of them. Each scrub rule looks
    at one encounter but the duplicate checks, whose keys are the PCN or start with the
    patient, so these findings are the whole practice's at a fraction of the cost."""
    patients = {e.patient_id for e in held}
    pcns = {e.patient_control_number for e in held}
    return [
        e
        for e in practice.encounters
        if e.patient_id in patients or e.patient_control_number in pcns
    ]


def _good_faith_estimates(result: Any, practice: Practice, exports_dir: Path, on: date) -> None:
    """The patient-facing document of each estimate, beside ``patient_estimates.csv``."""
    from pipeline.export.estimates import GFE_FOLDER, render_estimates
    from pipeline.reconcile.reference import load_fee_schedule
    from pipeline.settings import get_settings

    fees = load_fee_schedule(get_settings().mappings_dir / "fee_schedules")
    folder = exports_dir / GFE_FOLDER
    render_estimates(result, folder, fees=fees, practice=practice, issued=on)


def _money(value: object) -> Decimal:
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return Decimal("0")
    return value if isinstance(value, Decimal) else Decimal(str(value))
