"""835 -> claim states (paid, partially_paid, denied, reversed) and the remittance tables.

Split in two so parsing can fan out (the flows map :func:`parse_return_file` over files on a
Dask cluster) while posting stays one writer: :func:`post_remittance` applies one parsed file
to the ledger in file order. Each CLP is one event naming the file, its segment and its
claim_key, so posting a file again changes nothing.

Ledger state per CLP: CLP02 22 -> reversed; CLP02 4, or nothing paid and nothing owed by the
patient -> denied; some lines paid nothing while others were paid -> partially_paid; else paid
(including what the plan paid to the patient: the claim is adjudicated).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.benchnight import stage
from pipeline.errors import ClaimflowError, IllegalTransition
from pipeline.ledger import Cause, ClaimState, FileRecord, Ledger
from pipeline.steps.cases import record_remittance_received
from pipeline.steps.files import REMITTANCE, local_path, quarantine, waiting
from pipeline.steps.summaries import RemitSummary
from pipeline.steps.workspace import Workspace

if TYPE_CHECKING:
    from pipeline.parse import ParseResult

__all__ = [
    "REMIT_TABLE_NAMES",
    "combine_tables",
    "parse_return_file",
    "post_remittance",
    "post_remittances",
    "reconcile_tables",
    "remittances_waiting",
]

REMIT_TABLE_NAMES = (
    "remit_payments",
    "remit_claims",
    "remit_service_lines",
    "remit_adjustments",
    "remit_provider_adjustments",
    "problems",
)
_ZERO = Decimal("0")
_NOT_ADJUDICATED = (ClaimState.SUBMITTED, ClaimState.ACCEPTED)


def remittances_waiting(ledger: Ledger) -> list[FileRecord]:
    return waiting(ledger, REMITTANCE)


def parse_return_file(path: str | Path, name: str | None = None) -> ParseResult:
    """Parse one received file (pure: no ledger); raises ``X12SyntaxError`` when unreadable."""
    from pipeline.parse import parse_file

    with stage("parse"):
        return parse_file(Path(path), name=name)


def post_remittance(
    ledger: Ledger, record: FileRecord, parsed: ParseResult, summary: RemitSummary
) -> None:
    """Apply one parsed 835 to the ledger, then mark the file parsed and posted."""
    with stage("ledger posting"):
        _post_remittance(ledger, record, parsed, summary)


def _post_remittance(
    ledger: Ledger, record: FileRecord, parsed: ParseResult, summary: RemitSummary
) -> None:
    from pipeline.reconcile.inputs import as_decimal, records

    source = record.names[0]
    lines: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in records(parsed.tables.get("remit_service_lines")):
        lines[str(line.get("claim_key"))].append(line)
    states: Counter[str] = Counter(summary.by_state)
    clps = records(parsed.tables.get("remit_claims"))
    # One transaction for the file's CLPs (ledger/posting.py): claims read in chunks, states
    # advance in memory in file order, events written with executemany.
    with ledger.posting(record.id) as posting:
        known = posting.claims(str(clp.get("patient_control_number") or "") for clp in clps)
        for clp in clps:
            key = str(clp.get("claim_key") or "")
            claim = known.get(str(clp.get("patient_control_number") or ""))
            if claim is None:
                summary.unmatched.append(key)
                continue
            target = _target(clp, lines[key])
            if target is ClaimState.REVERSED and claim.state in _NOT_ADJUDICATED:
                # Reverses an adjudication from before this ledger (a replacement's REF*F8):
                # the corrected CLP that follows posts the claim.
                states["reversal_of_earlier"] += 1
                continue
            paid = as_decimal(clp.get("paid_amount")) or _ZERO
            cause = Cause(
                record.id,
                _int(clp.get("segment_number")),
                f"CLP02 {clp.get('claim_status_code') or ''}".strip(),
                None,
                key,
                paid,
            )
            number = str(clp.get("payer_claim_control_number") or "") or None
            try:
                new = posting.transition(claim.id, target, cause, payer_claim_control_number=number)
            except IllegalTransition as exc:
                # Reconciliation keeps this CLP out of posting (exports/duplicate_remittance.csv).
                summary.attention.append(
                    f"{source}: {exc} (CLP {key}); held as a duplicate remittance, not posted"
                )
                continue
            summary.claims += 1
            if new:
                states[target.value] += 1
    for payment in records(parsed.tables.get("remit_payments")):
        amount = as_decimal(payment.get("payment_amount")) or _ZERO
        summary.payments += -amount if payment.get("credit_debit") == "D" else amount
    summary.by_state = dict(sorted(states.items()))
    record_remittance_received(ledger, record, parsed)  # NSA notice clock (steps/cases.py)
    ledger.mark_parsed(record.id)
    ledger.mark_posted(record.id)
    summary.files += 1


def post_remittances(ledger: Ledger, workspace: Workspace) -> RemitSummary:
    """Parse and post every received 835 in arrival order; keep their tables in the summary."""
    summary = RemitSummary()
    parsed_files = []
    for record in remittances_waiting(ledger):
        try:
            parsed = parse_return_file(local_path(record), record.names[0])
        except (ClaimflowError, OSError) as exc:
            reason = " ".join(str(exc).split())
            summary.attention.append(quarantine(ledger, workspace, record, reason))
            continue
        post_remittance(ledger, record, parsed, summary)
        parsed_files.append(parsed)
    summary.tables = combine_tables(parsed_files)
    return summary


def combine_tables(parsed: list[ParseResult]) -> dict[str, Any]:
    """The remittance tables of several files, concatenated in file order."""
    import pandas as pd

    out: dict[str, Any] = {}
    for name in REMIT_TABLE_NAMES:
        frames = [p.tables[name] for p in parsed if name in p.tables]
        if frames:
            out[name] = pd.concat(frames, ignore_index=True)
    return out


# Columns of the 835 tables reconciliation reads beyond its documented input
# (pipeline.reconcile.inputs.REMIT_TABLES): pipeline/reconcile/matching.py load_remittance.
_RECONCILE_READS_TOO = {
    "remit_claims": ("source_file", "transaction_control_number"),
    "remit_adjustments": ("line_number",),  # the CAS of a line without REF*6R finds it by LX
    "remit_provider_adjustments": ("source_file", "transaction_control_number"),
}


def reconcile_tables(paths: Iterable[str | Path]) -> dict[str, Any]:
    """The remittance tables of the 835s at ``paths`` (in posting order) as reconciliation
    reads them: :func:`combine_tables` of their parses, cut to the columns it reads — parsed
    into one table set, with no table per file and no concatenated copy."""
    from pipeline.parse import parse_835_tables
    from pipeline.reconcile.inputs import REMIT_TABLES

    columns = {t: (*names, *_RECONCILE_READS_TOO.get(t, ())) for t, names in REMIT_TABLES.items()}
    return parse_835_tables(paths, columns)


def _target(clp: dict[str, Any], lines: list[dict[str, Any]]) -> ClaimState:
    from pipeline.reconcile.inputs import as_decimal

    status = str(clp.get("claim_status_code") or "")
    if status == "22":
        return ClaimState.REVERSED
    paid = as_decimal(clp.get("paid_amount")) or _ZERO
    owed = as_decimal(clp.get("patient_responsibility")) or _ZERO
    if status == "4" or (paid == 0 and owed == 0):
        return ClaimState.DENIED
    unpaid = [
        ln
        for ln in lines
        if (as_decimal(ln.get("paid_amount")) or _ZERO) == 0
        and (as_decimal(ln.get("allowed_amount")) or _ZERO) == 0
        and (as_decimal(ln.get("charge_amount")) or _ZERO) > 0
    ]
    if unpaid and len(unpaid) < len(lines):
        return ClaimState.PARTIALLY_PAID
    return ClaimState.PAID


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
