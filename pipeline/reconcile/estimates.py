"""Patient estimates per appointment from the 271 summary and the fee schedule (DOMAIN.md §3.3).

Allowed = the fee-schedule rate (contract in network, UCR out of network, QPA where the No
Surprises Act protects — then in-network cost sharing applies). Then::

    deductible   = min(deductible remaining, allowed)
    coinsurance  = (allowed − deductible) × coinsurance
    copay        = office-visit copay (in-network benefit only)
    patient_cost = min(deductible + coinsurance + copay, out-of-pocket remaining)
    plan_payment = allowed − patient_cost
    balance_bill = charge − allowed   only out of network and not NSA-protected

An inactive or rejected 271 means the patient owes the full charge (no plan payment).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd

from pipeline.reconcile.expected import cents, nsa_protection
from pipeline.reconcile.inputs import (
    as_bool,
    as_date,
    as_decimal,
    as_text,
    modifiers_of,
    records,
)
from pipeline.reconcile.reference import FeeSchedule, PayerProfile

__all__ = ["DEFAULT_VISIT_CODE", "PATIENT_ESTIMATE_COLUMNS", "patient_estimates"]

DEFAULT_VISIT_CODE = "99214"  # estimate an established-patient visit when none is planned
ZERO = Decimal(0)

PATIENT_ESTIMATE_COLUMNS = (
    "appointment_id",
    "appointment_date",
    "patient_id",
    "member_id",
    "payer_id",
    "network_status",
    "coverage_status",
    "procedure_codes",
    "basis",
    "nsa_protected",
    "charge_amount",
    "allowed_amount",
    "deductible_remaining",
    "deductible_applied",
    "coinsurance_rate",
    "coinsurance_amount",
    "copay",
    "oop_remaining",
    "patient_cost_share",
    "plan_payment",
    "balance_bill",
    "estimated_patient_total",
    "note",
)


def _rate(value: object) -> Decimal | None:
    pct = as_decimal(value)
    if pct is None:
        return None
    return pct / 100 if pct > 1 else pct


def patient_estimates(
    appointments: pd.DataFrame | None,
    eligibility: pd.DataFrame | None,
    fees: FeeSchedule,
    payers: Mapping[str, PayerProfile],
) -> pd.DataFrame:
    elig = {as_text(r.get("member_id")): r for r in records(eligibility)}
    rows = [_estimate(a, elig, fees, payers) for a in records(appointments)]
    return pd.DataFrame(rows, columns=list(PATIENT_ESTIMATE_COLUMNS))


def _estimate(
    appt: dict[str, Any],
    eligibility: Mapping[str, dict[str, Any]],
    fees: FeeSchedule,
    payers: Mapping[str, PayerProfile],
) -> dict[str, Any]:
    payer_id = as_text(appt.get("payer_id"))
    payer = payers.get(payer_id)
    on = as_date(appt.get("appointment_date"), where="appointment") or date.today()
    pos = as_text(appt.get("place_of_service")) or "11"
    codes = modifiers_of(appt.get("procedure_codes")) or (DEFAULT_VISIT_CODE,)
    in_network = bool(payer and payer.in_network)
    nsa = all(nsa_protection(pos, as_bool(appt.get("emergency")), c) for c in codes)
    protected = nsa and not in_network
    basis = "contract" if in_network else ("qpa" if protected else "ucr")
    charge = sum((fees.charge(c) or ZERO for c in codes), ZERO)
    rates = [fees.rate(payer_id, basis, c, (), on) for c in codes]
    allowed = None if any(r is None for r in rates) else sum((r or ZERO for r in rates), ZERO)
    e = eligibility.get(as_text(appt.get("member_id")))
    status = as_text(e.get("coverage_status")) if e else ""
    row: dict[str, Any] = dict.fromkeys(PATIENT_ESTIMATE_COLUMNS)
    row.update(
        appointment_id=as_text(appt.get("appointment_id")),
        appointment_date=on,
        patient_id=as_text(appt.get("patient_id")),
        member_id=as_text(appt.get("member_id")),
        payer_id=payer_id,
        network_status=payer.network_status if payer else "",
        coverage_status=status or "unknown",
        procedure_codes=" ".join(codes),
        basis=basis,
        nsa_protected=protected,
        charge_amount=charge,
        allowed_amount=allowed,
    )
    if e is None or status != "active" or allowed is None:
        why = (
            "no eligibility answer"
            if e is None
            else "no rate on file"
            if allowed is None and status == "active"
            else f"coverage {status}: {as_text(e.get('reject_reason'))}".rstrip(": ")
        )
        row.update(
            plan_payment=ZERO,
            balance_bill=ZERO,
            patient_cost_share=charge,
            estimated_patient_total=charge,
            note=f"{why}; the patient may owe the full charge",
        )
        return row
    # NSA-protected services take in-network cost sharing (DOMAIN.md §9.2).
    tier = "in_network" if in_network or protected else "out_of_network"
    ded_left = as_decimal(e.get(f"{tier}_deductible_remaining")) or ZERO
    oop_left = as_decimal(e.get(f"{tier}_oop_remaining"))
    coins_rate = _rate(e.get(f"{tier}_coinsurance")) or ZERO
    copay = (as_decimal(e.get("office_visit_copay")) or ZERO) if tier == "in_network" else ZERO
    ded = min(ded_left, allowed)
    coins = cents((allowed - ded) * coins_rate)
    share = ded + coins + copay
    if oop_left is not None:
        share = min(share, oop_left)
    share = min(share, allowed)
    balance = max(charge - allowed, ZERO) if not in_network and not protected else ZERO
    row.update(
        deductible_remaining=ded_left,
        deductible_applied=ded,
        coinsurance_rate=coins_rate,
        coinsurance_amount=coins,
        copay=copay,
        oop_remaining=oop_left,
        patient_cost_share=cents(share),
        plan_payment=cents(allowed - share),
        balance_bill=balance,
        estimated_patient_total=cents(share + balance),
        note=(
            "No Surprises Act: in-network cost sharing, no balance bill"
            if protected
            else "out of network: the plan's allowed amount may differ from our UCR benchmark"
            if not in_network
            else "in network: contracted rate"
        ),
    )
    return row
