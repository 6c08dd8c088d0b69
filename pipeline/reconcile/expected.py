"""Expected allowed amounts per line (DESIGN.md § Reconciliation; fee_schedules/README.md).

Basis: in-network payer → ``contract``; out-of-network payer → ``ucr``; a No Surprises Act
protected service on an out-of-network payer → ``qpa``. Rate × units (capped by a payer's
``max_units`` rule), then a multiple-procedure payment reduction (MPPR) when the payer's
profile has a ``multiple_procedure_reduction`` rule; never more than the line's charge
(a plan allows the lesser of charge and fee).

NSA protection is decided per claim: when any line is emergency (SV109, POS 23, 99281–99285),
air ambulance, at a facility POS 19/21/22/24, or carries an NSA RARC, every line of the claim
is part of the protected visit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pipeline.reconcile.reference import FeeSchedule, PayerProfile

__all__ = [
    "AIR_AMBULANCE_CODES",
    "EMERGENCY_CODES",
    "NSA_FACILITY_POS",
    "LineExpectation",
    "MpprPolicy",
    "cents",
    "expect_lines",
    "nsa_protection",
]

CENT = Decimal("0.01")
# DOMAIN.md §9.3: NSA candidates.
NSA_FACILITY_POS = frozenset({"19", "21", "22", "23", "24"})
EMERGENCY_CODES = frozenset({"99281", "99282", "99283", "99284", "99285"})
AIR_AMBULANCE_CODES = frozenset({"A0430", "A0431", "A0435", "A0436"})


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class MpprPolicy:
    """Multiple surgical procedures on one claim and date: the highest-valued one at 100 %,
    each further one at ``reduced_percent`` %. Surgical = CPT 10000–69999 unless a payer's
    ``multiple_procedure_reduction`` rule lists its own procedures."""

    reduced_percent: Decimal = Decimal("50")
    procedures: frozenset[str] | None = None  # None = the CPT surgery range

    def applies_to(self, code: str) -> bool:
        if self.procedures is not None:
            return code in self.procedures
        return code.isdigit() and len(code) == 5 and 10000 <= int(code) <= 69999


def _mppr_for(payer: PayerProfile | None) -> MpprPolicy | None:
    """The payer's ``multiple_procedure_reduction`` rule, or none: a reduction is payer policy,
    so without a rule every line is expected at 100 % (and a CO-59 cut is questioned)."""
    for rule in payer.rules if payer else ():
        if rule.get("rule") == "multiple_procedure_reduction":
            if rule.get("enabled") is False:
                return None
            procs = rule.get("procedures")
            return MpprPolicy(
                reduced_percent=Decimal(str(rule.get("reduced_percent", "50"))),
                procedures=frozenset(str(p) for p in procs) if procs else None,
            )
    return None


def _max_units(payer: PayerProfile | None, code: str) -> Decimal | None:
    for rule in payer.rules if payer else ():
        if rule.get("rule") == "max_units" and code in [str(p) for p in rule.get("procedures", [])]:
            return Decimal(str(rule["max_units"]))
    return None


def nsa_protection(
    place_of_service: str,
    emergency: bool,
    procedure_code: str,
    remark_codes: Iterable[str] = (),
    nsa_remarks: frozenset[str] = frozenset(),
) -> str:
    """Why a service is NSA-protected (DOMAIN.md §9.2–9.3), or ``""`` when it is not."""
    if emergency or place_of_service == "23" or procedure_code in EMERGENCY_CODES:
        return "emergency services"
    if procedure_code in AIR_AMBULANCE_CODES:
        return "air ambulance services"
    if place_of_service in NSA_FACILITY_POS:
        return f"non-emergency services at a participating facility (POS {place_of_service})"
    marked = sorted(set(remark_codes) & nsa_remarks)
    if marked:
        return f"payer applied NSA rules (RARC {', '.join(marked)})"
    return ""


@dataclass(frozen=True)
class LineExpectation:
    line_control_number: str
    basis: str  # contract | ucr | qpa | "" (no rate on file)
    rate: Decimal | None
    units: Decimal
    mppr_percent: Decimal  # 100 unless reduced
    expected_allowed: Decimal | None
    qpa_allowed: Decimal | None  # QPA × units (× MPPR), whatever the basis
    nsa_reason: str


def expect_lines(
    claim: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]],
    payer: PayerProfile | None,
    fees: FeeSchedule,
    remarks: Mapping[str, Iterable[str]] | None = None,
    nsa_remarks: frozenset[str] = frozenset(),
    nsa_reasons: Mapping[str, str] | None = None,
) -> dict[str, LineExpectation]:
    """Expected allowed per submitted line of one claim, keyed by line_control_number.

    ``claim``/``lines`` hold normalized values (see :mod:`pipeline.reconcile.inputs`);
    ``remarks`` maps line_control_number → RARCs the payer reported on it. ``nsa_reasons``
    (line → why it is protected) is the No Surprises Act decision made from data
    (:mod:`pipeline.reconcile.nsa`); without it the place-of-service rule above decides.
    """
    in_network = (
        payer.in_network if payer is not None else claim.get("network_status") == "in_network"
    )
    payer_id = str(claim["payer_id"])
    nsa = ""
    for line in lines:
        pos = str(line.get("place_of_service") or claim.get("place_of_service") or "")
        emergency = bool(line.get("emergency")) or bool(claim.get("emergency"))
        lcn = str(line["line_control_number"])
        nsa = nsa or nsa_protection(
            pos, emergency, str(line["procedure_code"]), (remarks or {}).get(lcn, ()), nsa_remarks
        )
    raw: list[tuple[Mapping[str, Any], str, str, Decimal | None, Decimal | None, Decimal]] = []
    for line in lines:
        if nsa_reasons is not None:
            nsa = nsa_reasons.get(str(line["line_control_number"]), "")
        basis = "contract" if in_network else ("qpa" if nsa else "ucr")
        code = str(line["procedure_code"])
        on: date = line["service_date"] or claim["service_date_start"]
        mods = line.get("modifiers") or ()
        units = Decimal(line.get("units") or 1)
        cap = _max_units(payer, code)
        if cap is not None:
            units = min(units, cap)
        rate = fees.rate(payer_id, basis, code, mods, on)
        qpa = fees.rate(payer_id, "qpa", code, mods, on)
        raw.append((line, nsa, basis, rate, qpa, units))

    policy = _mppr_for(payer)
    factors = _mppr_factors(raw, policy)
    out: dict[str, LineExpectation] = {}
    for (line, nsa, basis, rate, qpa, units), pct in zip(raw, factors, strict=True):
        lcn = str(line["line_control_number"])
        out[lcn] = LineExpectation(
            line_control_number=lcn,
            basis=basis if rate is not None else "",
            rate=rate,
            units=units,
            mppr_percent=pct,
            expected_allowed=_capped(rate, units, pct, line.get("charge_amount")),
            qpa_allowed=_capped(qpa, units, pct, line.get("charge_amount")),
            nsa_reason=nsa,
        )
    return out


def _capped(
    rate: Decimal | None, units: Decimal, pct: Decimal, charge: Decimal | None
) -> Decimal | None:
    if rate is None:
        return None
    amount = cents(rate * units * pct / 100)
    return min(amount, charge) if charge else amount


def _mppr_factors(
    raw: Sequence[tuple[Mapping[str, Any], str, str, Decimal | None, Decimal | None, Decimal]],
    policy: MpprPolicy | None,
) -> list[Decimal]:
    factors = [Decimal(100)] * len(raw)
    if policy is None:
        return factors
    by_date: dict[object, list[int]] = {}
    for i, (line, _nsa, _basis, rate, _qpa, _units) in enumerate(raw):
        if rate is not None and policy.applies_to(str(line["procedure_code"])):
            by_date.setdefault(line["service_date"], []).append(i)
    for idxs in by_date.values():
        if len(idxs) < 2:
            continue
        # Highest expected value first (ties: billing order) keeps 100 %.
        ranked = sorted(idxs, key=lambda i: (-(raw[i][3] or 0) * raw[i][5], i))
        for i in ranked[1:]:
            factors[i] = policy.reduced_percent
    return factors
