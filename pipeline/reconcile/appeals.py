"""Appeal worklist: every appealable flag, grouped one item (and one letter) per claim and family.

Families (the letter templates in ``mappings/templates``): ``underpayment`` (underpaid),
``nsa_open_negotiation`` (nsa_violation), and for ``denied_appealable`` the CARC's ``letter``
column (``medical_necessity``, ``prior_auth``, ``reconsideration``).

Priority: amount at stake over the days left — ``priority_score = amount /
max(days_left, 1)``, so a large amount due soon comes first; ``priority`` is the rank (1 = first).
Status comes from the ledger state when the caller gives one (``appealed``, ``closed``), else
``appeal_due``, or ``past_deadline`` once the deadline has gone by.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from pipeline.reconcile.expected import cents

__all__ = ["APPEALABLE", "APPEAL_WORKLIST_COLUMNS", "appeal_worklist"]

APPEALABLE = {"underpaid": "underpayment", "nsa_violation": "nsa_open_negotiation"}
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
)


def _family(flag: Mapping[str, Any]) -> str | None:
    if flag["flag"] == "denied_appealable":
        return str(flag.get("letter") or "reconsideration")
    return APPEALABLE.get(str(flag["flag"]))


def appeal_worklist(
    flags: list[dict[str, Any]], ledger_states: Mapping[str, str], as_of: date
) -> list[dict[str, Any]]:
    """Worklist items; sets ``appeal_id`` on each appealable flag row in place."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
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
        amount = sum((f["amount_at_stake"] or Decimal(0) for f in members), Decimal(0))
        days_left = (deadline - as_of).days if deadline else None
        state = ledger_states.get(pcn, "")
        status = (
            state
            if state in {"appealed", "closed", "written_off"}
            else "past_deadline"
            if days_left is not None and days_left < 0
            else "appeal_due"
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
                "letter_html": f"letters/{_stem(appeal_id)}.html",
                "letter_markdown": f"letters/{_stem(appeal_id)}.md",
            }
        )
    open_items = sorted(
        items,
        key=lambda i: (i["status"] != "appeal_due", -i["priority_score"], i["appeal_id"]),
    )
    for rank, item in enumerate(open_items, start=1):
        item["priority"] = rank
    return open_items


def _stem(appeal_id: str) -> str:
    """The letter's file name (what ``pipeline.export.letters`` writes)."""
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in appeal_id)


def _total(members: list[dict[str, Any]], column: str) -> Decimal | None:
    values = [f[column] for f in members if f.get(column) is not None]
    return sum(values, Decimal(0)) if values else None
