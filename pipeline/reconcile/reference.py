"""Reference data reconciliation reads from ``mappings/``: fee schedules, payers, CARC/RARC actions.

All of it is data; these loaders only parse it (``mappings/fee_schedules/README.md``,
``mappings/payers/*.yaml``, ``mappings/codes/carc_actions.csv`` / ``rarc_actions.csv``).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import ConfigError

__all__ = [
    "Basis",
    "CarcAction",
    "CodeBook",
    "FeeRow",
    "FeeSchedule",
    "PayerProfile",
    "load_code_book",
    "load_fee_schedule",
    "load_payers",
]

Basis = str  # "contract" | "ucr" | "qpa"


@dataclass(frozen=True)
class FeeRow:
    payer_id: str  # "*" = any payer
    basis: Basis
    procedure_code: str
    modifier: str  # "" = any modifier
    effective_from: date
    effective_to: date | None
    amount: Decimal  # expected allowed per unit


@dataclass(frozen=True)
class FeeSchedule:
    """Effective-dated rates; :meth:`rate` picks the most specific row in force."""

    rows: tuple[FeeRow, ...]
    charges: Mapping[str, Decimal] = field(default_factory=dict)  # procedures.csv charge master
    descriptions: Mapping[str, str] = field(default_factory=dict)

    def rate(
        self,
        payer_id: str,
        basis: Basis,
        procedure_code: str,
        modifiers: Iterable[str],
        on: date,
    ) -> Decimal | None:
        mods = set(modifiers)
        best: tuple[int, FeeRow] | None = None
        for row in self._by_code.get((basis, procedure_code), ()):
            if row.payer_id not in ("*", payer_id) or (row.modifier and row.modifier not in mods):
                continue
            if on < row.effective_from or (row.effective_to is not None and on > row.effective_to):
                continue
            # README: payer over "*", modifier over empty.
            score = (2 if row.payer_id != "*" else 0) + (1 if row.modifier else 0)
            if best is None or score > best[0]:
                best = (score, row)
        return None if best is None else best[1].amount

    @cached_property
    def _by_code(self) -> dict[tuple[Basis, str], list[FeeRow]]:
        """Rows by (basis, procedure), in file order: a rate looks at its code's rows only."""
        index: dict[tuple[Basis, str], list[FeeRow]] = {}
        for row in self.rows:
            index.setdefault((row.basis, row.procedure_code), []).append(row)
        return index

    def charge(self, procedure_code: str) -> Decimal | None:
        return self.charges.get(procedure_code)


@dataclass(frozen=True)
class PayerProfile:
    payer_id: str
    name: str
    network_status: str  # in_network | out_of_network
    timely_filing_days: int
    appeal_window_days: int
    response_window_days: int
    prior_auth_procedures: tuple[str, ...] = ()
    rules: tuple[Mapping[str, Any], ...] = ()
    claim_filing_indicator: str = ""
    # No Surprises Act: who regulates the plan (a specified state law applies only to plans
    # the state regulates — fully insured there, or self-funded plans that opted in).
    plan_funding: str = ""  # fully_insured | self_funded | "" (unknown: federal rules)
    plan_state: str = ""
    state_opt_in: bool = False
    # Where appeals go: ``default`` and per letter family (``nsa_open_negotiation``, ...);
    # each an address mapping (attention, line1, line2, city, state, zip, fax, email).
    appeal_addresses: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def in_network(self) -> bool:
        return self.network_status == "in_network"

    def appeal_address(self, family: str) -> Mapping[str, str]:
        """The address for a letter family, else the payer's default appeal address."""
        return self.appeal_addresses.get(family) or self.appeal_addresses.get("default") or {}


_PROVIDER_GROUPS = frozenset({"CO", "PI"})
_PATIENT = "patient_responsibility"


@dataclass(frozen=True)
class CarcAction:
    group_code: str  # "*" = any group
    carc: str
    action: str  # patient_responsibility | correct_and_resubmit | appeal | informational | ...
    denial_flag: str  # denied_appealable | denied_correctable | "" (not a denial reason)
    letter: str  # template family for appeals
    description: str
    next_step: str
    scope: str = ""  # "line": flagged per service line even when it denies the whole claim


@dataclass(frozen=True)
class CodeBook:
    """CARC/RARC → action class and words (``mappings/codes``)."""

    carc: Mapping[tuple[str, str], CarcAction]
    rarc: Mapping[str, Mapping[str, str]]
    carc_meanings: Mapping[str, str] = field(default_factory=dict)  # carc.csv (parser's table)
    rarc_meanings: Mapping[str, str] = field(default_factory=dict)  # rarc.csv
    diagnoses: Mapping[str, str] = field(default_factory=dict)  # diagnoses.csv (letters)

    def carc_action(self, group_code: str, carc: str) -> CarcAction:
        """The row for (group, CARC), else the any-group row — except that a reason the table
        calls patient responsibility is the patient's only under PR: under CO or PI (CO-204,
        CO-119, CO-49, CO-35…) the payer made it the provider's, which is a denial to appeal
        (or write off), never a bill to the patient (DOMAIN.md §8.1)."""
        found = self.carc.get((group_code, carc))
        if found is not None:
            return found
        found = self.carc.get(("*", carc))
        if found is not None and group_code in _PROVIDER_GROUPS and found.action == _PATIENT:
            return CarcAction(
                group_code,
                carc,
                "appeal",
                "denied_appealable",
                "reconsideration",
                found.description,
                f"Not billable to the patient under {group_code}: appeal if the coverage is "
                "disputed, otherwise write off",
            )
        if found is not None:
            return found
        # An unknown CARC outside PR is treated as appealable: a person must look at it.
        words = self.carc_meanings.get(carc, f"CARC {carc}")
        if group_code == "PR":
            return CarcAction(group_code, carc, "patient_responsibility", "", "", words, "")
        return CarcAction(
            group_code, carc, "appeal", "denied_appealable", "reconsideration", words, ""
        )

    def carc_words(self, group_code: str, carc: str) -> str:
        return f"{group_code}-{carc} {self.carc_action(group_code, carc).description}"

    def rarc_words(self, rarc: str) -> str:
        row = self.rarc.get(rarc)
        words = row["description"] if row else self.rarc_meanings.get(rarc, "")
        return f"{rarc} {words}".strip()

    def rarc_plain(self, rarc: str) -> str:
        row = self.rarc.get(rarc)
        return (row["description"] if row else self.rarc_meanings.get(rarc, "")) or rarc

    def diagnosis(self, code: str) -> str:
        """``M5416`` → ``M54.16 Radiculopathy, lumbar region`` (ICD-10-CM: dot after 3)."""
        bare = code.replace(".", "").strip().upper()
        dotted = f"{bare[:3]}.{bare[3:]}" if len(bare) > 3 else bare
        words = self.diagnoses.get(bare, "")
        return f"{dotted} {words}".strip()

    def rarc_is_nsa(self, rarc: str) -> bool:
        row = self.rarc.get(rarc)
        return bool(row and row.get("nsa"))


def _read_csv(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc


def _money(text: str, where: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise ConfigError(f"{where}: {text!r} is not an amount") from exc


def _day(text: str, where: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(f"{where}: {text!r} is not an ISO date") from exc


def load_fee_schedule(folder: Path) -> FeeSchedule:
    """``fee_schedule.csv`` + ``procedures.csv`` from ``mappings/fee_schedules``."""
    rows: list[FeeRow] = []
    for n, r in enumerate(_read_csv(folder / "fee_schedule.csv"), start=2):
        where = f"{folder / 'fee_schedule.csv'}: row {n}"
        rows.append(
            FeeRow(
                payer_id=r["payer_id"].strip(),
                basis=r["basis"].strip(),
                procedure_code=r["procedure_code"].strip(),
                modifier=(r.get("modifier") or "").strip().upper(),
                effective_from=_day(r["effective_from"].strip(), where),
                effective_to=_day(r["effective_to"].strip(), where)
                if (r.get("effective_to") or "").strip()
                else None,
                amount=_money(r["amount"].strip(), where),
            )
        )
    charges: dict[str, Decimal] = {}
    descriptions: dict[str, str] = {}
    procedures = folder / "procedures.csv"
    if procedures.exists():
        for n, r in enumerate(_read_csv(procedures), start=2):
            code = r["procedure_code"].strip()
            charges[code] = _money(r["practice_charge"].strip(), f"{procedures}: row {n}")
            descriptions[code] = r.get("description", "").strip()
    return FeeSchedule(rows=tuple(rows), charges=charges, descriptions=descriptions)


def load_payers(folder: Path) -> dict[str, PayerProfile]:
    """Every ``mappings/payers/*.yaml`` by payer_id."""
    payers: dict[str, PayerProfile] = {}
    for path in sorted(folder.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
        try:
            profile = PayerProfile(
                payer_id=str(data["payer_id"]),
                name=str(data.get("name", data["payer_id"])),
                network_status=str(data["network_status"]),
                timely_filing_days=int(data.get("timely_filing_days", 365)),
                appeal_window_days=int(data.get("appeal_window_days", 180)),
                response_window_days=int(data.get("response_window_days", 30)),
                prior_auth_procedures=tuple(str(p) for p in data.get("prior_auth_procedures", [])),
                rules=tuple(data.get("rules") or ()),
                claim_filing_indicator=str(data.get("claim_filing_indicator", "")),
                plan_funding=str(data.get("plan_funding", "")),
                plan_state=str(data.get("plan_state", "")),
                state_opt_in=bool(data.get("state_opt_in", False)),
                appeal_addresses=_addresses(data.get("appeal_addresses") or {}),
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{path}: missing or bad payer field ({exc})") from exc
        payers[profile.payer_id] = profile
    return payers


def _addresses(raw: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    return {
        str(kind): {str(k): str(v) for k, v in (value or {}).items() if v is not None}
        for kind, value in raw.items()
    }


def load_code_book(folder: Path) -> CodeBook:
    """``carc_actions.csv`` and ``rarc_actions.csv`` from ``mappings/codes`` (and, for words
    only, the parser's ``carc.csv`` / ``rarc.csv`` meaning tables when present)."""
    carc: dict[tuple[str, str], CarcAction] = {}
    for r in _read_csv(folder / "carc_actions.csv"):
        action = CarcAction(
            group_code=r["group_code"].strip() or "*",
            carc=r["carc"].strip(),
            action=r["action"].strip(),
            denial_flag=r["denial_flag"].strip(),
            letter=r["letter"].strip(),
            description=r["description"].strip(),
            next_step=r["next_step"].strip(),
            scope=(r.get("scope") or "").strip(),
        )
        carc[(action.group_code, action.carc)] = action
    rarc = {r["rarc"].strip(): r for r in _read_csv(folder / "rarc_actions.csv")}
    return CodeBook(
        carc=carc,
        rarc=rarc,
        carc_meanings=_meanings(folder / "carc.csv"),
        rarc_meanings=_meanings(folder / "rarc.csv"),
        diagnoses=_meanings(folder / "diagnoses.csv"),
    )


def _meanings(path: Path) -> dict[str, str]:
    """``code,description`` tables kept by the parser (optional here: words only)."""
    if not path.exists():
        return {}
    return {r["code"].strip(): r["description"].strip() for r in _read_csv(path) if r.get("code")}
