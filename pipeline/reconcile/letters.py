"""The context each appeal letter (and NSA notice) is rendered from — facts, not wording.

A letter a payer accepts says nothing internal: no fee-schedule arithmetic, no X12 element
names. So the context carries structured facts and the templates put them into words:
each CARC/RARC once with its meaning (``reason_codes``), diagnoses with the decimal point and
a description, the attachments on file and the PWK reference they were sent under, whether an
assignment of benefits and an authorized-representative designation are on file, the payer's
appeal address for the kind of letter, and for the NSA notice the case's clock and offer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from pipeline.reconcile.matching import MatchResult, RemitClaim, SubClaim, SubLine
from pipeline.reconcile.nsa_cases import CaseState, state_fields
from pipeline.reconcile.reference import CodeBook, FeeSchedule, PayerProfile

__all__ = ["letter_contexts"]

ZERO = Decimal(0)
# Every key a template may ask for is present (templates run with StrictUndefined).
_ADDRESS_KEYS = ("attention", "line1", "line2", "city", "state", "zip", "fax", "email")
_PRACTICE_KEYS = ("name", "npi", "tax_id", "address", "phone", "contact", "state")
_CONTACT_KEYS = ("name", "phone", "email")


def _complete(values: Mapping[str, str], keys: Sequence[str]) -> dict[str, str]:
    return {**dict.fromkeys(keys, ""), **values}


def _remit_codes(remit: RemitClaim | None, lcn: str) -> list[str]:
    """The codes the payer put on the line (CAS group-reason, then RARCs), in its order."""
    line = next((ln for ln in remit.lines if ln.matched_line == lcn), None) if remit else None
    if line is None:
        return []
    cas = [f"{a.group_code}-{a.reason_code}" for a in line.adjustments if a.amount]
    return list(dict.fromkeys([*cas, *line.remark_codes]))


def _line(
    f: Mapping[str, Any],
    sub: SubLine | None,
    claim: SubClaim,
    recon: Mapping[tuple[str, str], Mapping[str, Any]],
    fees: FeeSchedule,
    remit: RemitClaim | None,
) -> dict[str, Any]:
    code = sub.procedure_code if sub else f["procedure_code"]
    row = recon.get((f["claim_key"], sub.line_control_number if sub else ""), {})
    numbers: Mapping[str, Any] = f
    if not f["line_control_number"] and sub is not None:
        expected, paid = row.get("expected_payment"), row.get("paid_amount")
        numbers = {
            "expected_amount": expected,
            "paid_amount": paid,
            "amount_at_stake": None if expected is None else max(expected - (paid or ZERO), ZERO),
        }
    codes = _remit_codes(remit, sub.line_control_number if sub else "")
    if not codes and f["group_code"]:  # a claim-level adjustment
        codes = [f"{f['group_code']}-{c}" for c in str(f["carc"] or "").split(",") if c]
    return {
        "line_control_number": sub.line_control_number if sub else f["line_control_number"],
        "procedure_code": code,
        "description": fees.descriptions.get(code or "", ""),
        "modifiers": " ".join(sub.modifiers) if sub else "",
        "units": sub.units if sub else "",
        "service_date": sub.service_date if sub else claim.service_date_start,
        "charge_amount": sub.charge_amount if sub else claim.charge_amount,
        "flag": f["flag"],
        "basis": f["basis"],
        "expected_amount": numbers["expected_amount"],
        "paid_amount": numbers["paid_amount"],
        "amount_at_stake": numbers["amount_at_stake"],
        "allowed_amount": row.get("allowed_amount"),
        "cost_share": row.get("cost_share"),
        "recognized_amount": row.get("expected_allowed") if row.get("basis") == "qpa" else None,
        "reason_codes": codes,
        "balance_billed": "PR-45" in str(f["reason"]),
        "cost_share_above_in_network": "above the in-network level" in str(f["reason"]),
        "multiple_procedure": "multiple-procedure" in str(f["reason"]),
    }


def _reason_codes(lines: Sequence[Mapping[str, Any]], codes: CodeBook) -> list[dict[str, str]]:
    """Each code on the letter's lines once, with its meaning in words."""
    seen: dict[str, str] = {}
    for line in lines:
        for code in line["reason_codes"]:
            group, _, carc = code.partition("-")
            if carc and group in ("CO", "PR", "OA", "PI", "CR"):
                seen.setdefault(code, codes.carc_action(group, carc).description)
            else:
                seen.setdefault(code, codes.rarc_plain(code))
    return [{"code": k, "words": v} for k, v in seen.items()]


def _claim_facts(claim: SubClaim, codes: CodeBook) -> dict[str, Any]:
    extras = claim.extras
    diagnoses = str(extras.get("diagnosis_codes", "")).split()
    attachments = [a.strip() for a in str(extras.get("attachments", "")).split("|") if a.strip()]
    return {
        "patient_control_number": claim.patient_control_number,
        "patient_name": extras.get("patient_name", ""),
        "member_id": extras.get("member_id", ""),
        "service_date_start": claim.service_date_start,
        "service_date_end": claim.service_date_end,
        "place_of_service": claim.place_of_service,
        "emergency": claim.emergency,
        "charge_amount": claim.charge_amount,
        "aob": claim.aob,
        "aob_date": _day(extras.get("aob_date")),
        "authorized_representative_date": _day(extras.get("authorized_representative_date")),
        "diagnoses": [codes.diagnosis(d) for d in diagnoses],
        "prior_auth_number": extras.get("prior_auth_number", ""),
        "clinical_notes": extras.get("clinical_notes", ""),
        "attachments": attachments,
        "attachment_control_number": extras.get("attachment_control_number", ""),
        "rendering_provider": extras.get("rendering_provider", ""),
        "facility_name": extras.get("facility_name", ""),
        "facility_state": extras.get("facility_state", ""),
        "submitted_date": claim.submitted_date,
    }


def _day(value: object) -> date | None:
    text = str(value or "")
    return date.fromisoformat(text[:10]) if text else None


def letter_contexts(
    worklist: Sequence[Mapping[str, Any]],
    flags: Sequence[Mapping[str, Any]],
    recon: Mapping[tuple[str, str], Mapping[str, Any]],
    match: MatchResult,
    payers: Mapping[str, PayerProfile],
    fees: FeeSchedule,
    codes: CodeBook,
    *,
    as_of: date,
    practice: Mapping[str, str],
    nsa_cases: Mapping[str, CaseState],
    nsa_contact: Mapping[str, str],
) -> list[dict[str, Any]]:
    """One context per worklist item (see ``mappings/templates/README.md``)."""
    contexts = []
    by_appeal: dict[Any, list[Mapping[str, Any]]] = {}
    for f in flags:
        by_appeal.setdefault(f.get("appeal_id"), []).append(f)
    for item in worklist:
        claim = match.claims[item["patient_control_number"]]
        members = by_appeal.get(item["appeal_id"], [])
        remit = match.remit(members[0]["claim_key"])
        payer = payers.get(claim.payer_id)
        lines = []
        for f in members:
            # A claim-level finding lists every service of the claim, each with its numbers.
            subs: list[SubLine | None] = (
                [ln for ln in claim.lines if ln.line_control_number == f["line_control_number"]]
                if f["line_control_number"]
                else list(claim.lines)
            )
            for sub in subs or [None]:
                lines.append(_line(f, sub, claim, recon, fees, remit))
        case = nsa_cases.get(claim.patient_control_number)
        contexts.append(
            {
                "item": item,
                "family": item["family"],
                "claim": _claim_facts(claim, codes),
                "payer": {
                    "payer_id": claim.payer_id,
                    "name": payer.name if payer else claim.payer_id,
                    "network_status": payer.network_status if payer else claim.network_status,
                    "appeal_window_days": payer.appeal_window_days if payer else None,
                    "address": _complete(
                        payer.appeal_address(item["family"]) if payer else {}, _ADDRESS_KEYS
                    ),
                },
                "remit": {
                    "payer_claim_control_number": remit.payer_claim_control_number if remit else "",
                    "payment_date": remit.payment_date if remit else None,
                    "trace_number": remit.trace_number if remit else "",
                    "claim_status_code": remit.claim_status_code if remit else "",
                },
                "lines": lines,
                "reason_codes": _reason_codes(lines, codes),
                "protection": _protection_words(members),
                "protection_type": _protection_type(_protection_words(members)),
                "nsa": state_fields(case) if case is not None else None,
                "contact": _contact(nsa_contact, practice),
                "practice": _practice(practice),
                "as_of": as_of,
                "letter_date": _letter_date(item, case, as_of),
            }
        )
    return contexts


def _practice(practice: Mapping[str, str]) -> dict[str, str]:
    out = _complete(practice, _PRACTICE_KEYS)
    tin = out["tax_id"]
    if len(tin) == 9 and tin.isdigit():
        out["tax_id"] = f"{tin[:2]}-{tin[2:]}"  # an EIN as printed on letters
    return out


def _contact(contact: Mapping[str, str], practice: Mapping[str, str]) -> dict[str, str]:
    """The NSA contact (``policy.yaml``), else the billing provider's contact and phone."""
    fallback = {"name": practice.get("contact", ""), "phone": practice.get("phone", "")}
    return {k: contact.get(k) or fallback.get(k, "") for k in _CONTACT_KEYS}


def _protection_words(members: Sequence[Mapping[str, Any]]) -> str:
    """Why the services are protected, from the NSA finding (``No Surprises Act (why): ...``)."""
    for f in members:
        reason = str(f.get("reason") or "")
        if reason.startswith("No Surprises Act (") and "):" in reason:
            return reason[len("No Surprises Act (") : reason.index("):")].split(";")[0]
    return ""


def _protection_type(words: str) -> str:
    """The short type the standard notice's table asks for."""
    for start, label in (
        ("emergency", "Emergency services"),
        ("non-emergency", "Non-emergency services at an in-network facility"),
        ("air ambulance", "Air ambulance services"),
    ):
        if words.startswith(start):
            return label
    return words


def _letter_date(item: Mapping[str, Any], case: CaseState | None, as_of: date) -> date:
    """An NSA notice carries the day it is (or was) sent; other letters today's date."""
    if item["family"] == "nsa_open_negotiation" and case is not None and case.notice_date:
        return case.notice_date
    return as_of
