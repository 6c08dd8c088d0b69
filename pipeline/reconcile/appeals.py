"""Appeal worklist: every appealable flag, grouped one item (and one letter) per claim and kind,
with its status from the ledger, and the context each letter is rendered from.

Kinds (the letter templates in ``mappings/templates``): ``underpayment`` (underpaid),
``coding_bundling`` (underpaid by a multiple-procedure or bundling rule, CARC 59/97/234/236),
``nsa`` (nsa_violation: balance billing on a protected service), ``nsa_open_negotiation``
(payment_dispute: the federal open negotiation notice), and for ``denied_appealable`` the CARC's
``letter`` column (``medical_necessity``, ``prior_auth``, ``timely_filing``, ``reconsideration``).

Priority: amount at stake over the days left — ``priority_score = amount /
max(days_left, 1)``; ``priority`` is the rank (1 = first). Status: the last appeal event in the
ledger (``drafted``, ``sent``, ``payer_responded``, ``won``, ``lost``, ``closed``), or the NSA
case's status for an open negotiation, or the claim's ledger state (``appealed``, ``closed``),
else ``appeal_due`` — ``past_deadline`` once the deadline has gone by.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from pipeline.reconcile.expected import cents
from pipeline.reconcile.nsa_cases import CaseState

__all__ = [
    "APPEALABLE",
    "APPEAL_OUTCOME_COLUMNS",
    "APPEAL_WORKLIST_COLUMNS",
    "OPEN_STATUSES",
    "appeal_outcomes",
    "appeal_worklist",
    "letter_stem",
]

ZERO = Decimal(0)
APPEALABLE = {
    "underpaid": "underpayment",
    "nsa_violation": "nsa",
    "payment_dispute": "nsa_open_negotiation",
}
# Still the office's move: ranked first.
OPEN_STATUSES = frozenset(
    {"appeal_due", "drafted", "payer_responded", "notice_due", "negotiating", "idr_window_open"}
)
_FROM_LEDGER = frozenset({"appealed", "closed", "written_off"})
APPEAL_WORKLIST_COLUMNS = (
    "appeal_id",
    "patient_control_number",
    "payer",
    "family",
    "flags",
    "line_control_numbers",
    "reason",
    "expected_amount",
    "paid_amount",
    "amount_at_stake",
    "payment_date",
    "deadline",
    "days_left",
    "priority_score",
    "priority",
    "status",
    "letter_html",
    "letter_markdown",
    # more
    "carc",
    "status_on",
    "recovered_amount",
)


def _family(flag: Mapping[str, Any]) -> str | None:
    name = str(flag["flag"])
    if name == "denied_appealable":
        return str(flag.get("letter") or "reconsideration")
    if name == "payment_dispute":
        # Under a specified state law there is no federal notice to send (letter empty).
        return str(flag["letter"]) if flag.get("letter") else None
    if name == "underpaid" and "59" in str(flag.get("carc") or "").split(","):
        return "coding_bundling"
    return APPEALABLE.get(name)


def letter_stem(appeal_id: str) -> str:
    """The letter's file name (what ``pipeline.export.letters`` writes)."""
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in appeal_id)


def _status(
    appeal_id: str,
    family: str,
    pcn: str,
    days_left: int | None,
    ledger_state: str,
    events: Sequence[Any],
    cases: Mapping[str, CaseState],
) -> tuple[str, date | None, Decimal | None]:
    if family == "nsa_open_negotiation" and pcn in cases:
        case = cases[pcn]
        return case.status, None, case.settled_amount or case.determination_amount
    if events:
        last = events[-1]
        won = sum((e.amount or ZERO for e in events if e.event == "won"), ZERO)
        return str(last.event), last.on, won if won else None
    if ledger_state in _FROM_LEDGER:
        return ledger_state, None, None
    if days_left is not None and days_left < 0:
        return "past_deadline", None, None
    return "appeal_due", None, None


def appeal_worklist(
    flags: Sequence[MutableMapping[str, Any]],
    ledger_states: Mapping[str, str],
    as_of: date,
    appeal_events: Mapping[str, Sequence[Any]] | None = None,
    nsa_cases: Mapping[str, CaseState] | None = None,
) -> list[dict[str, Any]]:
    """Worklist items; sets ``appeal_id`` on each appealable flag row in place.

    ``appeal_events``: appeal_id → the ledger's appeal events in order; ``nsa_cases``: PCN →
    the NSA case's state (its next deadline is the open negotiation item's deadline)."""
    groups: dict[tuple[str, str], list[MutableMapping[str, Any]]] = {}
    for flag in flags:
        family = _family(flag)
        if family is None:
            continue
        groups.setdefault((flag["patient_control_number"], family), []).append(flag)
    items: list[dict[str, Any]] = []
    for (pcn, family), members in sorted(groups.items()):
        appeal_id = f"{pcn}-{family}"
        for flag in members:
            flag["appeal_id"] = appeal_id
        deadlines = [f["deadline"] for f in members if f.get("deadline")]
        deadline = min(deadlines) if deadlines else None
        amount = sum((f["amount_at_stake"] or ZERO for f in members), ZERO)
        days_left = (deadline - as_of).days if deadline else None
        status, status_on, recovered = _status(
            appeal_id,
            family,
            pcn,
            days_left,
            ledger_states.get(pcn, ""),
            (appeal_events or {}).get(appeal_id, ()),
            nsa_cases or {},
        )
        items.append(
            {
                "appeal_id": appeal_id,
                "patient_control_number": pcn,
                "payer": members[0]["payer"],
                "family": family,
                "flags": " ".join(sorted({f["flag"] for f in members})),
                "line_control_numbers": " ".join(
                    f["line_control_number"] for f in members if f["line_control_number"]
                ),
                "reason": " | ".join(dict.fromkeys(str(f["reason"]) for f in members)),
                "expected_amount": _total(members, "expected_amount"),
                "paid_amount": _total(members, "paid_amount"),
                "amount_at_stake": cents(amount),
                "payment_date": members[0].get("payment_date"),
                "deadline": deadline,
                "days_left": days_left,
                "priority_score": cents(amount / max(days_left if days_left else 1, 1)),
                "priority": 0,
                "status": status,
                "letter_html": f"letters/{letter_stem(appeal_id)}.html",
                "letter_markdown": f"letters/{letter_stem(appeal_id)}.md",
                "carc": _primary_carc(members),
                "status_on": status_on,
                "recovered_amount": recovered,
            }
        )
    ranked = sorted(
        items,
        key=lambda i: (i["status"] not in OPEN_STATUSES, -i["priority_score"], i["appeal_id"]),
    )
    for rank, item in enumerate(ranked, start=1):
        item["priority"] = rank
    return ranked


def _primary_carc(members: Sequence[Mapping[str, Any]]) -> str:
    for f in sorted(members, key=lambda f: -(f["amount_at_stake"] or ZERO)):
        if f.get("carc") and f.get("group_code"):
            return f"{f['group_code']}-{str(f['carc']).split(',')[0]}"
    return ""


def _total(members: Sequence[Mapping[str, Any]], column: str) -> Decimal | None:
    values = [f[column] for f in members if f.get(column) is not None]
    return sum(values, ZERO) if values else None


APPEAL_OUTCOME_COLUMNS = (
    "payer",
    "carc",
    "family",
    "appeals",
    "drafted",
    "sent",
    "won",
    "lost",
    "open",
    "amount_at_stake",
    "recovered_amount",
    "win_rate",
)


def appeal_outcomes(worklist: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Appeal outcomes by payer, CARC (or flag kind) and letter kind, for the report."""
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for item in worklist:
        key = (str(item["payer"]), str(item["carc"] or item["flags"]), str(item["family"]))
        row = rows.setdefault(
            key,
            {
                "payer": key[0],
                "carc": key[1],
                "family": key[2],
                "appeals": 0,
                "drafted": 0,
                "sent": 0,
                "won": 0,
                "lost": 0,
                "open": 0,
                "amount_at_stake": ZERO,
                "recovered_amount": ZERO,
                "win_rate": None,
            },
        )
        status = str(item["status"])
        row["appeals"] += 1
        row["amount_at_stake"] += item["amount_at_stake"] or ZERO
        row["recovered_amount"] += item.get("recovered_amount") or ZERO
        if status in ("drafted", "sent", "won", "lost"):
            row[status] += 1
        elif status == "payer_responded":
            row["sent"] += 1
        if status in OPEN_STATUSES:
            row["open"] += 1
    for row in rows.values():
        decided = row["won"] + row["lost"]
        row["win_rate"] = cents(Decimal(row["won"]) / decided) if decided else None
    return [rows[k] for k in sorted(rows)]
