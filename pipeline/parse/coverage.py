"""The 271 facts claims are decided on: network coverage, copays by service type, prior auth.

:func:`network_coverage`, :func:`copays_by_service_type` and :func:`authorizations` read one
member's EB rows (:class:`~pipeline.parse.t271.EligibilityBenefit`); the summary row keeps
their results as text columns (readable in Excel, stored as-is in the ledger), and
:meth:`CoverageFacts.from_summary` reads them back:

* ``in_network_coverage`` / ``out_of_network_coverage``: ``not_covered`` when an ``EB*I``
  (non-covered) for the whole plan (EB03 ``30`` or none) names that network (EB12 ``Y``/``N``,
  or ``W`` for both); ``covered`` when an active or cost-sharing EB (EB01 1-5, A, B, C, G)
  names it; ``""`` when the 271 does not say. ``out_of_network_service_types`` lists the
  service types still covered out of network under a plan-wide ``EB*I`` (an EPO's ``86``).
* ``in_network_copays`` / ``out_of_network_copays``: ``98=40.00 86=75.00`` -- the ``EB*B``
  amount per service type; an exact network beats ``W``, which beats a missing/``U`` one.
* ``prior_auth_services``: every EB with EB11 ``Y``, ``; ``-separated, as ``HC:72148`` (EB13
  procedure) or ``STC:62,PT`` (service types), with `` POS:22,24`` when 2115C ``III*ZZ``
  limits it to places of service and `` NET:N`` when EB12 names one network.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.parse.t271 import EligibilityBenefit

__all__ = [
    "COVERED",
    "NOT_COVERED",
    "AuthRequirement",
    "CoverageFacts",
    "authorizations",
    "copay_for",
    "copays_by_service_type",
    "format_authorizations",
    "format_copays",
    "network_coverage",
    "parse_authorizations",
    "parse_copays",
]

COVERED = "covered"
NOT_COVERED = "not_covered"
_PLAN = "30"
_ACTIVE = frozenset({"1", "2", "3", "4", "5"})
_COST_SHARE = frozenset({"A", "B", "C", "G"})
_NETWORK_RANK = {"W": 1, "": 2, "U": 2}


def _stcs(benefit: EligibilityBenefit) -> list[str]:
    return benefit.service_types.split(",") if benefit.service_types else []


def _plan_wide(benefit: EligibilityBenefit) -> bool:
    stcs = _stcs(benefit)
    return not stcs or _PLAN in stcs


def network_coverage(
    benefits: Iterable[EligibilityBenefit], network: str
) -> tuple[str, tuple[str, ...]]:
    """(``covered``/``not_covered``/``""``, service types covered despite a plan-wide EB*I)."""
    rows = list(benefits)
    names = {network, "W"}
    if any(b.benefit_code == "I" and _plan_wide(b) and b.in_network in names for b in rows):
        kept = {
            stc
            for b in rows
            if b.benefit_code in _ACTIVE | _COST_SHARE and b.in_network == network
            for stc in _stcs(b)
            if stc != _PLAN
        }
        return NOT_COVERED, tuple(sorted(kept))
    if any(b.benefit_code in _ACTIVE | _COST_SHARE and b.in_network in names for b in rows):
        return COVERED, ()
    return "", ()


def copays_by_service_type(
    benefits: Iterable[EligibilityBenefit], network: str
) -> dict[str, Decimal]:
    """EB*B amounts per service type for ``network`` (exact network > W > missing/U)."""
    best: dict[str, tuple[int, Decimal]] = {}
    for b in benefits:
        if b.benefit_code != "B" or b.amount is None:
            continue
        rank = 0 if b.in_network == network else _NETWORK_RANK.get(b.in_network)
        if rank is None:
            continue
        for stc in _stcs(b) or [_PLAN]:
            if stc not in best or rank < best[stc][0]:
                best[stc] = (rank, b.amount)
    return {stc: amount for stc, (_, amount) in sorted(best.items())}


@dataclass(frozen=True, slots=True)
class AuthRequirement:
    """One "prior authorization required" (EB11 ``Y``) the payer stated."""

    procedure_code: str = ""  # EB13-2; empty: by service type
    service_types: frozenset[str] = frozenset()  # EB03 when no procedure (``30``: everything)
    places_of_service: frozenset[str] = frozenset()  # III*ZZ; empty: anywhere
    network: str = ""  # EB12 as sent

    def applies(
        self, procedure_code: str, service_types: frozenset[str], place: str, network: str
    ) -> bool:
        if self.network in ("Y", "N") and self.network != network:
            return False
        if self.places_of_service and place not in self.places_of_service:
            return False
        if self.procedure_code:
            return self.procedure_code == procedure_code
        return bool(self.service_types & service_types)

    def describe(self) -> str:
        what = self.procedure_code or f"service type {', '.join(sorted(self.service_types))}"
        if not self.places_of_service:
            return what
        return f"{what} at POS {', '.join(sorted(self.places_of_service))}"

    def text(self) -> str:
        head = f"HC:{self.procedure_code}" if self.procedure_code else (
            "STC:" + ",".join(sorted(self.service_types))
        )  # fmt: skip
        pos = f" POS:{','.join(sorted(self.places_of_service))}" if self.places_of_service else ""
        net = f" NET:{self.network}" if self.network in ("Y", "N") else ""
        return head + pos + net


def authorizations(benefits: Iterable[EligibilityBenefit]) -> list[AuthRequirement]:
    """Every EB11 ``Y``, in file order, without repeats."""
    found: dict[AuthRequirement, None] = {}
    for b in benefits:
        if b.authorization_required != "Y":
            continue
        places = frozenset(p for p in b.places_of_service.split(",") if p)
        stcs = frozenset() if b.procedure_code else frozenset(_stcs(b) or [_PLAN])
        found.setdefault(AuthRequirement(b.procedure_code, stcs, places, b.in_network))
    return list(found)


def format_authorizations(requirements: Iterable[AuthRequirement]) -> str:
    return "; ".join(r.text() for r in requirements)


def parse_authorizations(text: str) -> tuple[AuthRequirement, ...]:
    """Read back :func:`format_authorizations`; a part it does not know is skipped."""
    out: list[AuthRequirement] = []
    for entry in (e.strip() for e in text.split(";")):
        fields = dict(token.split(":", 1) for token in entry.split() if ":" in token)
        places = frozenset(p for p in fields.get("POS", "").split(",") if p)
        network = fields.get("NET", "")
        if fields.get("HC"):
            out.append(AuthRequirement(fields["HC"], frozenset(), places, network))
        elif fields.get("STC"):
            stcs = frozenset(s for s in fields["STC"].split(",") if s)
            out.append(AuthRequirement("", stcs, places, network))
    return tuple(out)


def format_copays(copays: Mapping[str, Decimal]) -> str:
    return " ".join(f"{stc}={amount}" for stc, amount in copays.items())


def parse_copays(text: str) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for pair in text.split():
        stc, _, value = pair.partition("=")
        try:
            out[stc] = Decimal(value)
        except InvalidOperation:
            continue
    return out


def copay_for(copays: Mapping[str, Decimal], service_types: frozenset[str]) -> Decimal | None:
    """The copay of the most specific service type priced (the higher of two; ``30`` last)."""
    specific = [copays[t] for t in service_types if t in copays and t != _PLAN]
    if specific:
        return max(specific)
    return copays.get(_PLAN) if _PLAN in service_types else None


def _date(value: object) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _service_types(text: str) -> frozenset[str]:
    return frozenset(t for t in text.split(",") if t)


def _text(value: object) -> str:
    return "" if value is None or value != value else str(value)  # NaN from a DataFrame


@dataclass(frozen=True, slots=True)
class CoverageFacts:
    """What one 271 said about one patient's coverage with one payer on one date."""

    status: str  # active | inactive | rejected
    service_date: date | None = None  # the date asked about (DTP*291)
    patient_id: str = ""
    payer_id: str = ""
    member_id: str = ""
    trace_number: str = ""
    reject_reason_code: str = ""
    reject_reason: str = ""
    follow_up_action_code: str = ""
    plan_begin: date | None = None
    plan_end: date | None = None
    eligibility_begin: date | None = None
    eligibility_end: date | None = None
    in_network_coverage: str = ""
    out_of_network_coverage: str = ""
    out_of_network_service_types: frozenset[str] = frozenset()
    in_network_copays: Mapping[str, Decimal] = field(default_factory=dict)
    out_of_network_copays: Mapping[str, Decimal] = field(default_factory=dict)
    authorizations: tuple[AuthRequirement, ...] = ()
    prior_auth_contact: str = ""

    @classmethod
    def from_summary(
        cls,
        summary: Mapping[str, Any],
        *,
        shared: dict[tuple[str, str], Any] | None = None,
        **identity: Any,
    ) -> CoverageFacts:
        """From an ``eligibility_summary`` row (or its ledger JSON); ``identity`` overrides.

        ``shared``: one dict passed for many summaries (a night's 271s, tens of thousands): the
        values that repeat per payer and plan (texts, dates, copays, prior-auth lists) are kept
        once, not once per fact. The facts are frozen; nobody changes their copay dicts.
        """
        memo: dict[tuple[str, str], Any] = {} if shared is None else shared

        def one(kind: str, text: str, parse: Any = str) -> Any:
            key = (kind, text)
            found = memo.get(key)
            if found is None:
                found = memo[key] = parse(text)
            return found

        s = {k: _text(v) for k, v in summary.items()}
        values: dict[str, Any] = {
            "status": one("", s.get("coverage_status", "")),
            "member_id": s.get("member_id", ""),
            "trace_number": s.get("trace_number", ""),
            "reject_reason_code": one("", s.get("reject_reason_code", "")),
            "reject_reason": one("", s.get("reject_reason", "")),
            "follow_up_action_code": one("", s.get("follow_up_action_code", "")),
            "in_network_coverage": one("", s.get("in_network_coverage", "")),
            "out_of_network_coverage": one("", s.get("out_of_network_coverage", "")),
            "out_of_network_service_types": one(
                "stc", s.get("out_of_network_service_types", ""), _service_types
            ),
            "in_network_copays": one("copays", s.get("in_network_copays", ""), parse_copays),
            "out_of_network_copays": one(
                "copays", s.get("out_of_network_copays", ""), parse_copays
            ),
            "authorizations": one("auth", s.get("prior_auth_services", ""), parse_authorizations),
            "prior_auth_contact": one("", s.get("prior_auth_contact", "")),
        }
        for key in ("plan_begin", "plan_end", "eligibility_begin", "eligibility_end"):
            raw = summary.get(key)
            values[key] = _date(raw) if isinstance(raw, date) else one("date", _text(raw), _date)
        values.update(identity)
        return cls(**values)

    def coverage(self, in_network: bool) -> str:
        return self.in_network_coverage if in_network else self.out_of_network_coverage

    def copay_for(self, service_types: frozenset[str], in_network: bool) -> Decimal | None:
        """The copay of the most specific service type the 271 prices (``30`` last)."""
        copays = self.in_network_copays if in_network else self.out_of_network_copays
        return copay_for(copays, service_types)

    def authorization_for(
        self, procedure_code: str, service_types: frozenset[str], place: str, in_network: bool
    ) -> AuthRequirement | None:
        network = "Y" if in_network else "N"
        for requirement in self.authorizations:
            if requirement.applies(procedure_code, service_types, place, network):
                return requirement
        return None

    def dated_out(self, on: date) -> bool:
        """The 271 gave eligibility dates and ``on`` falls outside them."""
        return bool(
            (self.eligibility_end and on > self.eligibility_end)
            or (self.eligibility_begin and on < self.eligibility_begin)
            or (self.plan_end and on > self.plan_end)
        )

    def same_plan_period(self, on: date) -> bool:
        """Plan design (networks, auth, copays) holds for ``on``: same plan year as asked."""
        if self.service_date is None:
            return False
        begin = self.plan_begin
        if begin is None:
            return on.year == self.service_date.year
        if self.plan_end is not None:
            return begin <= on <= self.plan_end
        return begin <= on < _year_after(begin)


def _year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return date(day.year + 1, 3, 1)
