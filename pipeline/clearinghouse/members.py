"""The payers' member files and benefit accumulators.

Seeded from the practice's coverages: most members are active, a seeded few are unknown to
the payer (271 AAA*75 / 277CA A3:33) or have coverage that ended (271 EB*6, 835 CO-27) --
one of them in the middle of the visits the practice bills, which its own data does not
know (the 271 for a later date of service says EB*6 with DTP*357).
Accumulators (deductible and out-of-pocket met, per tier and calendar year) start at a
seeded fraction of the plan's amounts and grow as claims are adjudicated.
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal

from pipeline.clearinghouse.plans import PlanDesign, Tier

__all__ = ["Accumulators", "Member", "MemberDirectory", "MemberStatus"]

MemberStatus = Literal["active", "inactive", "not_found"]
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Member:
    payer_id: str
    member_id: str
    last_name: str
    first_name: str
    dob: date | None
    status: MemberStatus = "active"
    coverage_end: date | None = None


@dataclass(frozen=True, slots=True)
class Lookup:
    member: Member | None
    reject_reason: str = ""
    """AAA03 when the payer cannot answer: 75 not found, 72 bad id, 71 DOB mismatch."""


class MemberDirectory:
    """Members per (payer, member id). ``open_world``: unknown ids are taken as active members."""

    def __init__(self, members: Iterable[Member], *, open_world: bool = False) -> None:
        self.members = {(m.payer_id, m.member_id.upper()): m for m in members}
        self.open_world = open_world

    @classmethod
    def from_practice(cls, practice: object, seed: int) -> MemberDirectory:
        """Members from ``practice.coverages``; the seed picks one unknown and one inactive member.

        The unknown member is picked among patients with encounters and an appointment on the
        next clinic day (so a claim is rejected at the 277CA and tomorrow's inquiry gets
        AAA*75), the inactive one among that day's patients without encounters if any. A
        third, billed on several dates, had coverage that ended the day before their last
        date of service (the practice still lists it as active).
        """
        patients = getattr(practice, "patients", {})
        coverages = sorted(
            getattr(practice, "coverages", []), key=lambda c: (c.payer_id, c.member_id)
        )
        billed = {e.patient_id for e in getattr(practice, "encounters", [])}
        appointments = list(getattr(practice, "appointments", []))
        scheduled = {a.patient_id for a in appointments}
        # The next clinic day is what tomorrow's 270 asks about: pick from it first.
        first_day = min((a.date for a in appointments), default=None)
        tomorrow = {a.patient_id for a in appointments if a.date == first_day}
        rng = random.Random(f"members:{seed}")
        keys = [(c.payer_id, c.member_id) for c in coverages]
        pairs = list(zip(keys, coverages, strict=True))

        def pool(*tests: set[str], exclude: object = None) -> list[tuple[str, str]]:
            return [k for k, c in pairs if k != exclude and all(c.patient_id in t for t in tests)]

        # One claim or two rejected, not a whole family's: a member id only one patient uses,
        # the patient with the fewest visits.
        visits = Counter(e.patient_id for e in getattr(practice, "encounters", []))
        families = Counter(keys)
        by_patient = {k: c.patient_id for k, c in pairs}
        candidates = pool(billed, tomorrow) or pool(billed, scheduled) or pool(billed)
        candidates = [k for k in candidates if families[k] == 1] or candidates
        fewest = min((visits[by_patient[k]] for k in candidates), default=0)
        unknown = _pick(rng, [k for k in candidates if visits[by_patient[k]] == fewest])
        unbilled = scheduled - billed
        inactive = _pick(
            rng,
            pool(tomorrow, unbilled, exclude=unknown)
            or pool(tomorrow, exclude=unknown)
            or pool(scheduled, exclude=unknown),
        )
        ended = _terminated(rng, practice, pairs, {k for k in (unknown, inactive) if k}, families)
        members = []
        for key, coverage in pairs:
            patient = patients.get(coverage.patient_id)
            last = coverage.subscriber_last_name or getattr(patient, "last_name", "")
            first = coverage.subscriber_first_name or getattr(patient, "first_name", "")
            dob = coverage.subscriber_dob or getattr(patient, "dob", None)
            status: MemberStatus = "active"
            end = coverage.effective_to or ended.get(key)
            if key == unknown:
                status = "not_found"
            elif key == inactive:
                status = "inactive"
            members.append(
                Member(
                    payer_id=coverage.payer_id,
                    member_id=coverage.member_id,
                    last_name=last.upper(),
                    first_name=first.upper(),
                    dob=dob,
                    status=status,
                    coverage_end=end,
                )
            )
            if coverage.patient_member_id and patient is not None:
                members.append(
                    Member(
                        coverage.payer_id,
                        coverage.patient_member_id,
                        patient.last_name.upper(),
                        patient.first_name.upper(),
                        patient.dob,
                        status,
                        end,
                    )
                )
        return cls(members)

    def lookup(
        self, payer_id: str, member_id: str, last_name: str, first_name: str, dob: date | None
    ) -> Lookup:
        member = self.members.get((payer_id, member_id.upper()))
        if member is None:
            if self.open_world:
                return Lookup(Member(payer_id, member_id, last_name, first_name, dob))
            by_name = [
                m
                for (p, _), m in sorted(self.members.items())
                if p == payer_id
                and m.last_name == last_name.upper()
                and m.first_name == first_name.upper()
                and (dob is None or m.dob == dob)
                and m.status != "not_found"
            ]
            return Lookup(None, "72" if by_name else "75")
        if member.status == "not_found":
            return Lookup(None, "75")
        if dob is not None and member.dob is not None and dob != member.dob:
            return Lookup(None, "71")
        return Lookup(member)

    def is_inactive(self, member: Member, on: date) -> bool:
        if member.status == "inactive":
            return True
        return member.coverage_end is not None and on > member.coverage_end


def _terminated(
    rng: random.Random,
    practice: object,
    pairs: list[tuple[tuple[str, str], Any]],
    taken: set[tuple[str, str]],
    families: Counter[tuple[str, str]],
) -> dict[tuple[str, str], date]:
    """One primary member billed on 2+ dates whose coverage ended before the last of them."""
    dates: dict[str, set[date]] = {}
    for e in getattr(practice, "encounters", []):
        if e.coverage_priority == "P" and e.frequency == "1":
            dates.setdefault(e.patient_id, set()).add(e.service_date)
    candidates = [
        k
        for k, c in pairs
        if k not in taken
        and families[k] == 1
        and c.priority == "P"
        and c.effective_to is None
        and len(dates.get(c.patient_id, ())) >= 2
    ]
    key = _pick(rng, candidates)
    if key is None:
        return {}
    patient = dict(pairs)[key].patient_id
    return {key: max(dates[patient]) - timedelta(days=1)}


def _pick(rng: random.Random, keys: list[tuple[str, str]]) -> tuple[str, str] | None:
    return rng.choice(keys) if keys else None


@dataclass(slots=True)
class Met:
    deductible: Decimal
    oop: Decimal


class Accumulators:
    """Deductible and OOP met per (payer, member, year, tier); persisted as sorted JSON."""

    def __init__(self, path: Path, seed: int) -> None:
        self.path = path
        self.seed = seed
        self.values: dict[str, Met] = {}
        if path.exists():
            raw = json.loads(path.read_text(encoding="utf-8"))
            self.values = {
                k: Met(Decimal(v["deductible"]), Decimal(v["oop"])) for k, v in raw.items()
            }

    def get(self, plan: PlanDesign, member_id: str, year: int, tier_name: str) -> Met:
        key = f"{plan.payer_id}|{member_id.upper()}|{year}|{tier_name}"
        met = self._known(key)
        if met is None:
            tier: Tier = plan.in_network if tier_name == "in" else plan.out_of_network
            rng = random.Random(f"accumulators:{self.seed}:{key}")
            met = Met(
                _fraction(rng, plan.deductible_met_range, tier.deductible),
                _fraction(rng, plan.oop_met_range, tier.oop_max),
            )
            # Deductible paid counts toward the out-of-pocket maximum.
            met.oop = min(max(met.oop, met.deductible), tier.oop_max)
            self.values[key] = met
        return met

    def _known(self, key: str) -> Met | None:
        return self.values.get(key)

    def scratch(self) -> Accumulators:
        """A copy to compute with that never changes this one (and is never saved)."""
        return _Scratch(self)

    def save(self) -> None:
        if self.path == Path(os.devnull):
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # What json.dumps(data, indent=1, sort_keys=True) writes (data: each key's two amounts
        # as strings), without the pure-Python indenting encoder: an entry per member and tier.
        text = _JSON_TEXT
        items = [
            f' {text(k)}: {{\n  "deductible": {text(str(v.deductible))},\n'
            f'  "oop": {text(str(v.oop))}\n }}'
            for k, v in sorted(self.values.items())
        ]
        body = "{\n" + ",\n".join(items) + "\n}" if items else "{}"
        self.path.write_text(body + "\n", encoding="utf-8")


# json.dumps of a str (ensure_ascii), without the call's keyword handling
_JSON_TEXT: Final = json.encoder.encode_basestring_ascii


def _fraction(rng: random.Random, bounds: tuple[Decimal, Decimal], total: Decimal) -> Decimal:
    low, high = bounds
    share = low + (high - low) * Decimal(rng.randint(0, 100)) / 100
    return (total * share).quantize(CENT)


class _Scratch(Accumulators):
    """Copy on first read: what the parent holds is copied only for the keys asked for.

    A whole copy per call was quadratic in a night: the simulator rebuilds every replacement
    whose original it never saw, and the parent holds an entry per member (100k at 100k claims).
    """

    def __init__(self, parent: Accumulators) -> None:
        self.path, self.seed = Path(os.devnull), parent.seed
        self.values = {}
        self._parent = parent

    def _known(self, key: str) -> Met | None:
        met = self.values.get(key)
        if met is None and (held := self._parent._known(key)) is not None:
            met = self.values[key] = Met(held.deductible, held.oop)
        return met
