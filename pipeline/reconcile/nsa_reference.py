"""No Surprises Act reference data from ``mappings/nsa`` (see its README): the practice's
dispute policy, which facilities are in which plan's network, which plans the federal law
leaves out, which services are ancillary (no notice-and-consent waiver) and which states have
their own surprise-billing law."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import ConfigError

__all__ = [
    "FacilityNetwork",
    "NsaPolicy",
    "NsaReference",
    "StateLaw",
    "load_nsa_reference",
]


@dataclass(frozen=True)
class NsaPolicy:
    """``policy.yaml``: how the practice makes its offer and when a dispute is worth it."""

    offer_basis: str = "ucr"  # ucr | qpa_multiple
    qpa_multiple: Decimal = Decimal("1.5")
    dispute_minimum: Decimal = Decimal("0")
    contact: Mapping[str, str] = field(default_factory=dict)
    preferred_idr_entity: str = ""
    practice_size: str = ""


@dataclass(frozen=True)
class FacilityNetwork:
    facility_npi: str
    facility_name: str
    payer_id: str
    network_status: str
    effective_from: date
    effective_to: date | None


@dataclass(frozen=True)
class StateLaw:
    state: str
    law: str
    citation: str
    services: frozenset[str]  # emergency | facility (air ambulance is federal only)
    self_funded_opt_in: bool

    @property
    def words(self) -> str:
        return f"{self.law} ({self.citation})"


@dataclass(frozen=True)
class NsaReference:
    policy: NsaPolicy = field(default_factory=NsaPolicy)
    facilities: tuple[FacilityNetwork, ...] = ()
    excluded_plans: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    ancillary: tuple[tuple[str, str, str], ...] = ()  # (kind, value, category)
    state_laws: Mapping[str, StateLaw] = field(default_factory=dict)

    def facility_network(self, npi: str, payer_id: str, on: date) -> str:
        """``in_network`` / ``out_of_network`` for the plan on that day, ``""`` when unknown."""
        for row in self.facilities:
            if row.facility_npi != npi or row.payer_id != payer_id:
                continue
            if on < row.effective_from or (row.effective_to is not None and on > row.effective_to):
                continue
            return row.network_status
        return ""

    def facility_name(self, npi: str) -> str:
        return next((r.facility_name for r in self.facilities if r.facility_npi == npi), "")

    def ancillary_category(
        self, procedure_code: str, modifiers: Iterable[str], taxonomy: str
    ) -> str:
        """Why a service is ancillary (45 CFR 149.420(b)), or ``""``."""
        mods = set(modifiers)
        for kind, value, category in self.ancillary:
            if kind == "modifier" and value in mods:
                return category
            if kind == "taxonomy" and value == taxonomy:
                return category
            if kind == "procedure_range" and _in_range(procedure_code, value):
                return category
        return ""


def _in_range(code: str, span: str) -> bool:
    low, _, high = span.partition("-")
    high = high or low
    if len(code) != len(low) or not code[:1].isalnum():
        return False
    return low <= code <= high


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            return [{k: (v or "").strip() for k, v in r.items()} for r in csv.DictReader(fh)]
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc


def _day(text: str, where: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(f"{where}: {text!r} is not an ISO date") from exc


def _policy(path: Path) -> NsaPolicy:
    if not path.exists():
        return NsaPolicy()
    try:
        data: Mapping[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        offer = data.get("offer") or {}
        basis = str(offer.get("basis", "ucr"))
        if basis not in ("ucr", "qpa_multiple"):
            raise ValueError(f"offer basis {basis!r} is not ucr or qpa_multiple")
        return NsaPolicy(
            offer_basis=basis,
            qpa_multiple=Decimal(str(offer.get("qpa_multiple", "1.5"))),
            dispute_minimum=Decimal(str(data.get("dispute_minimum", "0"))),
            contact={str(k): str(v) for k, v in (data.get("contact") or {}).items()},
            preferred_idr_entity=str(data.get("preferred_idr_entity") or ""),
            practice_size=str(data.get("practice_size") or ""),
        )
    except (yaml.YAMLError, AttributeError, InvalidOperation, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def load_nsa_reference(folder: Path) -> NsaReference:
    """Everything in ``mappings/nsa``; a missing file is an empty table (federal defaults)."""
    facilities = []
    networks = folder / "facility_networks.csv"
    for n, r in enumerate(_rows(networks), start=2):
        where = f"{networks}: row {n}"
        if r["network_status"] not in ("in_network", "out_of_network"):
            raise ConfigError(f"{where}: network_status {r['network_status']!r}")
        facilities.append(
            FacilityNetwork(
                facility_npi=r["facility_npi"],
                facility_name=r.get("facility_name", ""),
                payer_id=r["payer_id"],
                network_status=r["network_status"],
                effective_from=_day(r["effective_from"], where),
                effective_to=_day(r["effective_to"], where) if r.get("effective_to") else None,
            )
        )
    laws = {
        r["state"].upper(): StateLaw(
            state=r["state"].upper(),
            law=r["law"],
            citation=r.get("citation", ""),
            services=frozenset(r.get("services", "").split()),
            self_funded_opt_in=r.get("self_funded_opt_in", "").lower() in ("yes", "true", "y"),
        )
        for r in _rows(folder / "state_laws.csv")
    }
    return NsaReference(
        policy=_policy(folder / "policy.yaml"),
        facilities=tuple(facilities),
        excluded_plans={
            r["claim_filing_indicator"]: (r["program"], r["reason"])
            for r in _rows(folder / "excluded_plans.csv")
        },
        ancillary=tuple(
            (r["kind"], r["value"], r["category"]) for r in _rows(folder / "ancillary_services.csv")
        ),
        state_laws=laws,
    )
