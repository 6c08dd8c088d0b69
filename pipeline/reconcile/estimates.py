"""Patient estimates per appointment from the 271 summary and the fee schedule (DOMAIN.md §3.3).

Allowed = the fee-schedule rate (contract in network, UCR out of network, QPA where the No
Surprises Act protects — then in-network cost sharing applies). Then, per service, by the
service types its code falls under (``mappings/codes/procedure_service_types.csv``)::

    copay        = the tier's copay for the service type (office visit 98, emergency 86),
                   when the 271 gives one: the copay replaces deductible and coinsurance
    deductible   = min(deductible remaining, allowed)        otherwise
    coinsurance  = (allowed − deductible) × coinsurance
    patient_cost = min(Σ copay + deductible + coinsurance, out-of-pocket remaining)
    plan_payment = allowed − patient_cost
    balance_bill = charge − allowed   only out of network and not NSA-protected

An inactive or rejected 271, or one that shows no benefit for the network (``EB*I``: an
EPO/HMO out of network, not NSA-protected), means the patient owes the full charge (no plan
payment), said in ``note``. Which 271: the one about the appointment's patient, payer and
date (``patient_id``/``payer_id``/``service_date`` when the rows carry them), else the
latest about that patient and payer, else the member id — a dependent with a member id of
their own is asked about, and joined, under it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd

from pipeline.build.service_types import ServiceTypeMap, load_service_types
from pipeline.parse.coverage import NOT_COVERED, CoverageFacts, copay_for
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
    "copay_service_types",  # the service types whose copay applied ("98")
    "trace_number",  # the 271 the estimate stands on
)


def _rate(value: object) -> Decimal | None:
    pct = as_decimal(value)
    if pct is None:
        return None
    return pct / 100 if pct > 1 else pct


class _OnFile:
    """271 summaries by (patient, payer) with their dates, and by member id."""

    def __init__(self, rows: Iterable[Mapping[str, Any]]) -> None:
        self.by_patient: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
        self.by_member: dict[str, Mapping[str, Any]] = {}
        for row in rows:
            self.by_member[as_text(row.get("member_id"))] = row
            patient = as_text(row.get("patient_id"))
            if patient:
                key = (patient, as_text(row.get("payer_id")))
                self.by_patient.setdefault(key, []).append(row)

    def find(self, appt: Mapping[str, Any], on: date) -> Mapping[str, Any] | None:
        key = (as_text(appt.get("patient_id")), as_text(appt.get("payer_id")))
        rows = self.by_patient.get(key)
        if rows:
            dated = [(as_date(r.get("service_date")) or date.min, i, r) for i, r in enumerate(rows)]
            exact = [d for d in dated if d[0] == on]
            return max(exact or dated, key=lambda d: (d[0], d[1]))[2]
        return self.by_member.get(as_text(appt.get("member_id")))


def _default_service_types() -> ServiceTypeMap:
    from pipeline.settings import get_settings

    return load_service_types(get_settings().mappings_dir)


def patient_estimates(
    appointments: pd.DataFrame | None,
    eligibility: pd.DataFrame | None,
    fees: FeeSchedule,
    payers: Mapping[str, PayerProfile],
    service_types: ServiceTypeMap | None = None,
    *,
    eligibility_rows: Iterable[Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """One estimate per appointment; ``eligibility_rows``: the rows of ``eligibility`` when
    the caller has them already (``records`` or ``EligibilityRows``; read, never changed)."""
    types = service_types or _default_service_types()
    on_file = _OnFile(records(eligibility) if eligibility_rows is None else eligibility_rows)
    rows = [_estimate(a, on_file, fees, payers, types) for a in records(appointments)]
    return pd.DataFrame(rows, columns=list(PATIENT_ESTIMATE_COLUMNS))


def _estimate(
    appt: dict[str, Any],
    on_file: _OnFile,
    fees: FeeSchedule,
    payers: Mapping[str, PayerProfile],
    types: ServiceTypeMap,
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
    e = on_file.find(appt, on)
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
        trace_number=as_text(e.get("trace_number")) if e else "",
    )
    facts = CoverageFacts.from_summary(e) if e else None
    uncovered = bool(facts and not in_network and not protected)
    uncovered = uncovered and facts is not None and facts.out_of_network_coverage == NOT_COVERED
    if e is None or status != "active" or allowed is None or uncovered:
        return _full_charge(row, e, status, allowed, uncovered, charge)
    # NSA-protected services take in-network cost sharing (DOMAIN.md §9.2).
    tier = "in_network" if in_network or protected else "out_of_network"
    assert facts is not None
    _cost_share(row, e, facts, tier, list(zip(codes, rates, strict=True)), types)
    share = row["patient_cost_share"]
    balance = max(charge - allowed, ZERO) if not in_network and not protected else ZERO
    row.update(
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


def _full_charge(
    row: dict[str, Any],
    e: Mapping[str, Any] | None,
    status: str,
    allowed: Decimal | None,
    uncovered: bool,
    charge: Decimal,
) -> dict[str, Any]:
    if e is None:
        why = "no eligibility answer"
    elif uncovered:
        why = "warning: the plan has no out-of-network benefit (271 EB*I)"
    elif allowed is None and status == "active":
        why = "no rate on file"
    else:
        why = f"coverage {status}: {as_text(e.get('reject_reason'))}".rstrip(": ")
    row.update(
        plan_payment=ZERO,
        balance_bill=ZERO,
        patient_cost_share=charge,
        estimated_patient_total=charge,
        note=f"{why}; the patient may owe the full charge",
    )
    return row


def _copays(e: Mapping[str, Any], facts: CoverageFacts, tier: str) -> Mapping[str, Decimal]:
    """The tier's copays by service type; an older summary has the office-visit one only."""
    copays = facts.in_network_copays if tier == "in_network" else facts.out_of_network_copays
    if copays or f"{tier}_copays" in e:
        return copays
    legacy = "office_visit_copay" if tier == "in_network" else "out_of_network_office_visit_copay"
    amount = as_decimal(e.get(legacy))
    return {"98": amount} if amount is not None else {}


def _cost_share(
    row: dict[str, Any],
    e: Mapping[str, Any],
    facts: CoverageFacts,
    tier: str,
    lines: list[tuple[str, Decimal | None]],
    types: ServiceTypeMap,
) -> None:
    """Per service: its copay, or deductible then coinsurance; capped by the OOP remaining."""
    ded_left = as_decimal(e.get(f"{tier}_deductible_remaining")) or ZERO
    oop_left = as_decimal(e.get(f"{tier}_oop_remaining"))
    coins_rate = _rate(e.get(f"{tier}_coinsurance")) or ZERO
    by_type = _copays(e, facts, tier)
    deductible = coinsurance = copay = ZERO
    copay_types: list[str] = []
    left = ded_left
    for code, rate in lines:
        allowed = rate or ZERO
        stcs = types.of(code)
        amount = copay_for(by_type, stcs)
        if amount is not None and amount > ZERO:
            copay += min(amount, allowed)
            copay_types += sorted(t for t in stcs if t in by_type and t != "30") or ["30"]
            continue
        applied = min(left, allowed)
        left -= applied
        deductible += applied
        coinsurance += cents((allowed - applied) * coins_rate)
    total_allowed = sum((r or ZERO for _, r in lines), ZERO)
    share = deductible + coinsurance + copay
    if oop_left is not None:
        share = min(share, oop_left)
    row.update(
        deductible_remaining=ded_left,
        deductible_applied=deductible,
        coinsurance_rate=coins_rate,
        coinsurance_amount=coinsurance,
        copay=copay,
        oop_remaining=oop_left,
        patient_cost_share=cents(min(share, total_allowed)),
        copay_service_types=" ".join(dict.fromkeys(copay_types)),
    )
