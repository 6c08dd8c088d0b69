"""Plan designs (``mappings/plans/*.yaml``) joined with payer profiles (``mappings/payers``).

Prior authorization: every procedure of the payer profile's and the plan's
``prior_auth_procedures`` (anywhere), plus the plan's ``prior_auth`` rules -- a procedure or
a service type (``procedure_service_types.csv``), limited to places of service when they are
listed; the 271 names the plan's ``utilization_management`` contact for them (2120C X3).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from pipeline.build.service_types import FILE as SERVICE_TYPES_FILE
from pipeline.build.service_types import ServiceTypeMap, load_service_types
from pipeline.errors import ConfigError

__all__ = ["AuthRule", "Contact", "PaymentSetup", "PlanDesign", "Tier", "load_plans"]

OFFICE_VISIT_CODES = frozenset(
    {"99202", "99203", "99204", "99205", "99211", "99212", "99213", "99214", "99215"}
)
EMERGENCY_VISIT_CODES = frozenset({"99281", "99282", "99283", "99284", "99285"})


@dataclass(frozen=True, slots=True)
class Tier:
    """One network tier's cost sharing; ``covered=False`` means no benefit at all."""

    covered: bool = True
    emergency_only: bool = False
    deductible: Decimal = Decimal("0")
    oop_max: Decimal = Decimal("0")
    coinsurance: Decimal = Decimal("0")
    office_visit_copay: Decimal = Decimal("0")
    emergency_copay: Decimal = Decimal("0")

    def copay_for(self, procedure_code: str) -> Decimal:
        if procedure_code in OFFICE_VISIT_CODES:
            return self.office_visit_copay
        if procedure_code in EMERGENCY_VISIT_CODES:
            return self.emergency_copay
        return Decimal("0")


@dataclass(frozen=True, slots=True)
class PaymentSetup:
    method: str  # ACH | CHK
    routing: str = ""
    account: str = ""


@dataclass(frozen=True, slots=True)
class AuthRule:
    """Prior authorization for a procedure or a service type, at some places of service."""

    procedure: str = ""
    service_type: str = ""
    places_of_service: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Contact:
    """Who the 271 says to call (2120C): the plan's utilization management."""

    name: str
    ident: str
    phone: str


@dataclass(frozen=True, slots=True)
class PlanDesign:
    """A payer's plan with the payer profile facts adjudication needs."""

    payer_id: str
    payer_name: str
    plan_name: str
    insurance_type: str
    in_network_payer: bool
    claim_filing_indicator: str
    payer_ein: str
    timely_filing_days: int
    in_network: Tier
    out_of_network: Tier
    prior_auth_procedures: frozenset[str]
    payment: PaymentSetup
    address: tuple[str, str, str, str]
    deductible_met_range: tuple[Decimal, Decimal]
    oop_met_range: tuple[Decimal, Decimal]
    auth_rules: tuple[AuthRule, ...] = ()
    utilization_management: Contact | None = None
    service_types: ServiceTypeMap = field(default_factory=ServiceTypeMap)

    def needs_auth(self, procedure_code: str, place_of_service: str) -> bool:
        if procedure_code in self.prior_auth_procedures:
            return True
        types = self.service_types.of(procedure_code)
        for rule in self.auth_rules:
            if rule.places_of_service and place_of_service not in rule.places_of_service:
                continue
            if rule.procedure == procedure_code or (
                rule.service_type and rule.service_type in types
            ):
                return True
        return False


def load_plans(mappings_dir: Path) -> dict[str, PlanDesign]:
    """Every plan in ``mappings/plans`` whose payer has a profile in ``mappings/payers``."""
    plans: dict[str, PlanDesign] = {}
    # Optional for a mappings folder of plans only: then service-type rules match nothing.
    has_map = (mappings_dir / SERVICE_TYPES_FILE).exists()
    service_types = load_service_types(mappings_dir) if has_map else ServiceTypeMap()
    for path in sorted((mappings_dir / "plans").glob("*.yaml")):
        plan = _read(path)
        payer_path = mappings_dir / "payers" / f"{plan['payer_id']}.yaml"
        design = _design(path, plan, _read(payer_path))
        plans[str(plan["payer_id"])] = replace(
            design,
            auth_rules=_auth_rules(path, plan),
            utilization_management=_contact(plan),
            service_types=service_types,
        )
    if not plans:
        raise ConfigError(f"{mappings_dir / 'plans'}: no plan designs found")
    return plans


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read: {str(exc).splitlines()[0]}") from exc
    if not isinstance(data, dict) or "payer_id" not in data:
        raise ConfigError(f"{path}: not a mapping with a payer_id")
    return data


def _money(path: Path, value: object, key: str) -> Decimal:
    try:
        return Decimal(str(value if value is not None else "0"))
    except InvalidOperation as exc:
        raise ConfigError(f"{path}: {key}: not a decimal amount: {value!r}") from exc


def _tier(path: Path, data: dict[str, Any], name: str) -> Tier:
    raw = data.get(name) or {}
    copays = raw.get("copays") or {}
    return Tier(
        covered=bool(raw.get("covered", True)),
        emergency_only=bool(raw.get("emergency_only", False)),
        deductible=_money(path, raw.get("deductible"), f"{name}.deductible"),
        oop_max=_money(path, raw.get("oop_max"), f"{name}.oop_max"),
        coinsurance=_money(path, raw.get("coinsurance"), f"{name}.coinsurance"),
        office_visit_copay=_money(path, copays.get("office_visit"), f"{name}.copays"),
        emergency_copay=_money(path, copays.get("emergency"), f"{name}.copays"),
    )


def _range(path: Path, data: dict[str, Any], key: str) -> tuple[Decimal, Decimal]:
    low, high = (data.get("accumulators") or {}).get(key, ["0", "0"])
    return _money(path, low, key), _money(path, high, key)


def _design(path: Path, plan: dict[str, Any], payer: dict[str, Any]) -> PlanDesign:
    payment = plan.get("payment") or {}
    address = plan.get("address") or {}
    prior_auth = {str(p) for p in payer.get("prior_auth_procedures") or []}
    prior_auth |= {str(p) for p in plan.get("prior_auth_procedures") or []}
    return PlanDesign(
        payer_id=str(plan["payer_id"]),
        payer_name=str(payer.get("name", plan["payer_id"])),
        plan_name=str(plan.get("plan_name", "")),
        insurance_type=str(plan.get("insurance_type", "C1")),
        in_network_payer=payer.get("network_status") == "in_network",
        claim_filing_indicator=str(payer.get("claim_filing_indicator", "CI")),
        payer_ein=str(payer.get("payer_ein", "1000000000")),
        timely_filing_days=int(payer.get("timely_filing_days", 365)),
        in_network=_tier(path, plan, "in_network"),
        out_of_network=_tier(path, plan, "out_of_network"),
        prior_auth_procedures=frozenset(prior_auth),
        payment=PaymentSetup(
            method=str(payment.get("method", "ACH")),
            routing=str(payment.get("routing", "")),
            account=str(payment.get("account", "")),
        ),
        address=(
            str(address.get("street", "PO BOX 1")),
            str(address.get("city", "ANYTOWN")),
            str(address.get("state", "NY")),
            str(address.get("zip", "10001")),
        ),
        deductible_met_range=_range(path, plan, "deductible_met"),
        oop_met_range=_range(path, plan, "oop_met"),
    )


def _auth_rules(path: Path, plan: dict[str, Any]) -> tuple[AuthRule, ...]:
    rules = []
    for number, raw in enumerate(plan.get("prior_auth") or [], start=1):
        if not isinstance(raw, dict) or not (raw.get("procedure") or raw.get("service_type")):
            raise ConfigError(f"{path}: prior_auth[{number}]: needs a procedure or a service_type")
        rules.append(
            AuthRule(
                procedure=str(raw.get("procedure") or ""),
                service_type=str(raw.get("service_type") or ""),
                places_of_service=frozenset(str(p) for p in raw.get("places_of_service") or []),
            )
        )
    return tuple(rules)


def _contact(plan: dict[str, Any]) -> Contact | None:
    raw = plan.get("utilization_management")
    if not isinstance(raw, dict) or not raw.get("name"):
        return None
    return Contact(str(raw["name"]), str(raw.get("id", "")), str(raw.get("phone", "")))
