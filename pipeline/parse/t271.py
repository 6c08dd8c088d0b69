"""271 Eligibility Benefit Response (005010X279A1) -> benefits and one summary per member.

* :class:`EligibilityBenefit`: one row per EB (loop 2110C/D). Repeated EB03 service
  types are kept together, comma-separated (``"1,33,35"``); MSG texts that follow the
  EB are joined with `` | ``. ``in_network`` and ``authorization_required`` keep the raw
  EB12/EB11 codes (``Y``/``N``/``W``/``U``) -- ``W`` (both networks) is not a boolean.
* :class:`EligibilitySummary`: one row per subscriber (2000C) or dependent (2000D)
  answered, following DOMAIN.md §3.3: a value for service type ``98`` (office visit)
  beats one for ``30`` (plan coverage), which beats an EB without EB03; an exact
  network (``Y``/``N``) beats ``W``, which beats a missing/``U`` one; individual values
  come from IND (or EMP/blank) rows, and the remaining amount is the smaller of the
  individual and family remaining (embedded family deductible). Totals come from
  periods 23/22/25 (or none), remaining from 29; without a 29 row, remaining is total
  minus the year-to-date (24) amount when both exist.
* ``prior_auth_required``: any EB11 ``Y`` (else ``N`` -> False) among EBs for
  service type 98, 30 or none; ``None`` when no such EB says.
* ``coverage_status``: ``rejected`` when an AAA applies to the member (its own 2100C/D,
  or the payer's 2100A / provider's 2100B above it), or when only 2110 AAAs and no
  EB01 1-8 came back; else ``active`` for any EB01 1-5, ``inactive`` for 6-8; a member
  with other EBs only is ``active``, one with no EB at all ``inactive``.
* ``trace_number`` is the echoed ``TRN*2`` TRN02 (a dependent without its own uses the
  subscriber's); a dependent without an NM109 takes the subscriber's member id.
* Network coverage (``EB*I``), copays by service type and every prior-auth requirement
  (EB11 ``Y`` with EB13, 2115C ``III*ZZ`` places of service, the 2120C ``LS/LE`` entity to
  contact) are text columns described in :mod:`pipeline.parse.coverage`; the 2100C/D
  ``DTP*346/347/356/357`` plan and eligibility dates are ISO dates.
* A benefit keeps its ``III*ZZ`` places of service (``places_of_service``) and its 2120C
  entities (``related_entities``: ``P3: JONES MARCUS (SV 0202034)``, with PER numbers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from pipeline.parse.codes import describe
from pipeline.parse.common import FeedAll, Money
from pipeline.parse.coverage import (
    authorizations,
    copays_by_service_type,
    format_authorizations,
    format_copays,
    network_coverage,
)
from pipeline.x12.reader import SegmentBatch
from pipeline.x12.segments import Segment

__all__ = ["Eligibility271Parser", "EligibilityBenefit", "EligibilitySummary", "summarize"]

_ACTIVE = frozenset({"1", "2", "3", "4", "5"})
_INACTIVE = frozenset({"6", "7", "8"})
_INDIVIDUAL = frozenset({"IND", "EMP", ""})
_FAMILY = frozenset({"FAM", "ESP", "ECH", "SPC", "SPO", "CHD", "DEP"})
_TOTAL_PERIODS = {"23": 0, "22": 0, "25": 0, "": 1}
_REMAINING_PERIODS = {"29": 0}
_MET_PERIODS = {"24": 0}
_ANY_PERIOD: dict[str, int] = {}
_OFFICE_VISIT = "98"
_PLAN = "30"
_ZERO = Decimal(0)


@dataclass(slots=True)
class EligibilityBenefit:
    """One EB segment for one member, with its MSG texts."""

    source_file: str
    transaction_control_number: str
    trace_number: str
    member_id: str
    last_name: str
    first_name: str
    member_level: str  # subscriber | dependent
    benefit_code: str
    benefit_text: str
    coverage_level: str
    service_types: str  # EB03 repetitions, comma-separated
    insurance_type: str
    plan_description: str
    time_period: str
    amount: Decimal | None
    percent: Decimal | None
    quantity_qualifier: str
    quantity: Decimal | None
    authorization_required: str  # EB11 as sent
    in_network: str  # EB12 as sent: Y in, N out, W both, U unknown
    procedure_code: str = ""  # EB13-2
    messages: str = ""
    segment_number: int = 0
    places_of_service: str = ""  # 2115C III*ZZ, comma-separated
    related_entities: str = ""  # 2120C LS/LE: "P3: JONES MARCUS (SV 0202034)", " | "-joined


@dataclass(slots=True)
class EligibilitySummary:
    """What a billing office needs per member before the visit."""

    source_file: str
    transaction_control_number: str
    trace_number: str
    member_id: str
    last_name: str
    first_name: str
    member_level: str
    payer_name: str = ""
    payer_id: str = ""
    coverage_status: str = ""
    reject_reason_code: str = ""
    reject_reason: str = ""
    follow_up_action_code: str = ""
    follow_up_action: str = ""
    plan_description: str = ""
    insurance_type: str = ""
    in_network_deductible: Decimal | None = None
    in_network_deductible_remaining: Decimal | None = None
    out_of_network_deductible: Decimal | None = None
    out_of_network_deductible_remaining: Decimal | None = None
    in_network_oop_max: Decimal | None = None
    in_network_oop_remaining: Decimal | None = None
    out_of_network_oop_max: Decimal | None = None
    out_of_network_oop_remaining: Decimal | None = None
    in_network_coinsurance: Decimal | None = None
    out_of_network_coinsurance: Decimal | None = None
    office_visit_copay: Decimal | None = None  # in-network (EB12 Y > W > missing)
    out_of_network_office_visit_copay: Decimal | None = None
    prior_auth_required: bool | None = None
    benefit_count: int = 0
    in_network_coverage: str = ""  # covered | not_covered | "" (not said)
    out_of_network_coverage: str = ""
    out_of_network_service_types: str = ""  # still covered under a plan-wide EB*I N
    in_network_copays: str = ""  # "98=40.00 86=75.00"
    out_of_network_copays: str = ""
    prior_auth_services: str = ""  # "HC:72148 POS:22; STC:PT"
    prior_auth_contact: str = ""  # the 2120C entity of the first EB11 Y that names one
    plan_begin: str = ""  # DTP*346 / 347 / 356 / 357 (ISO)
    plan_end: str = ""
    eligibility_begin: str = ""
    eligibility_end: str = ""


@dataclass(slots=True)
class _Member:
    level: str  # subscriber | dependent
    has_children: bool
    trace: str = ""
    inherited: bool = False  # trace copied from the subscriber until the dependent's own TRN
    member_id: str = ""
    last: str = ""
    first: str = ""
    rejects: list[tuple[str, str, bool]] = field(default_factory=list)  # code, follow-up, 2110?
    upstream: list[tuple[str, str, bool]] = field(default_factory=list)
    benefits: list[EligibilityBenefit] = field(default_factory=list)
    dates: dict[str, str] = field(default_factory=dict)  # summary field -> ISO date


class Eligibility271Parser:
    """Feeds on 271 segments; a member's rows are released when its HL loop ends.

    Body segments come as plain element lists (:meth:`feed_batch`, no object per segment);
    each handler takes the list and the segment number.
    """

    def __init__(self, out: list[object]) -> None:
        self.out = out
        self.dispatch = FeedAll(self.feed)
        self.money = Money(out)
        self.benefit_texts: dict[str, str] = {}  # EB01 -> its words
        self._reset()

    def _reset(self) -> None:
        self.level = ""
        self.member: _Member | None = None
        self.subscriber: _Member | None = None
        self.payer = ("", "")
        self.source_rejects: list[tuple[str, str, bool]] = []
        self.receiver_rejects: list[tuple[str, str, bool]] = []
        self.benefit: EligibilityBenefit | None = None
        self.in_ls = False
        self.members = 0
        self.segment: Segment | None = None

    def start(self, seg: Segment) -> None:
        self._reset()
        self.segment = seg
        self.envelope = seg.envelope
        self.repetition = seg.envelope.delimiters.repetition
        self.component = seg.envelope.delimiters.component

    def finish(self) -> None:
        pass

    def end(self, seg: Segment) -> None:
        self._close_member()
        upstream = self.source_rejects + self.receiver_rejects
        if self.members == 0 and upstream and self.segment is not None:
            # Rejected above any member (payer or provider AAA): one row says so.
            orphan = _Member("", False, upstream=upstream)
            self._emit_summary(orphan, self.segment)

    def feed(self, seg: Segment) -> None:
        handler = _HANDLERS.get(seg.elements[0])
        if handler is not None:
            handler(self, seg.elements, seg.number)

    def feed_batch(self, batch: SegmentBatch) -> None:
        get = _HANDLERS.get
        number = batch.first_number - 1
        for e in batch.elements:
            number += 1
            handler = get(e[0])
            if handler is not None:
                handler(self, e, number)

    def _hl(self, e: list[str], number: int) -> None:
        self._close_member()
        e = _padded(e, 5)
        self.level, self.benefit, self.in_ls = e[3], None, False
        if self.level in ("22", "23"):
            member = _Member(
                "subscriber" if self.level == "22" else "dependent", e[4] == "1",
                upstream=self.source_rejects + self.receiver_rejects,
            )  # fmt: skip
            parent = self.subscriber
            if member.level == "dependent" and parent is not None:
                member.trace, member.member_id = parent.trace, parent.member_id
                member.inherited = True
                member.upstream = member.upstream + [r for r in parent.rejects if not r[2]]
            else:
                self.subscriber = member
            self.member = member
            self.members += 1
        else:
            self.member = None

    def _nm1(self, e: list[str], number: int) -> None:
        e = _padded(e, 10)
        if self.in_ls:
            name = " ".join(v for v in (e[3], e[4]) if v)
            ref = f"({e[8]} {e[9]})" if e[9] else ""
            self._entity(f"{e[1]}: " + " ".join(v for v in (name, ref) if v), new=True)
            return
        if self.level == "20" and self.member is None:
            self.payer = (e[3], e[9])
        elif self.member is not None and self.benefit is None:
            self.member.last, self.member.first = e[3], e[4]
            if e[9]:
                self.member.member_id = e[9]

    def _trn(self, e: list[str], number: int) -> None:
        member = self.member
        e = _padded(e, 3)
        if member is not None and e[1] == "2" and (member.inherited or not member.trace):
            member.trace, member.inherited = e[2], False

    def _aaa(self, e: list[str], number: int) -> None:
        e = _padded(e, 5)
        entry = (e[3], e[4], self.benefit is not None)
        if self.member is not None:
            self.member.rejects.append(entry)
        elif self.level == "20":
            self.source_rejects.append(entry)
        elif self.level == "21":
            self.receiver_rejects.append(entry)

    def _eb(self, e: list[str], number: int) -> None:
        member = self.member
        if member is None:
            return
        if len(e) < 14:
            e = _padded(e, 14)
        env, cached = self.envelope, self.money.cache.get
        code, types, procedure = e[1], e[3], e[13]
        text = self.benefit_texts.get(code)
        if text is None:
            text = self.benefit_texts[code] = describe("eligibility_benefit", code)
        if self.repetition:  # EB03 repetitions, comma-separated (4010 has no separator)
            types = types.replace(self.repetition, ",")
        # EB13-2, the procedure code (EB13-1 is its qualifier).
        procedure = procedure.split(self.component)[1] if self.component in procedure else ""
        amount, percent, quantity = cached(e[7]), cached(e[8]), cached(e[10])
        if amount is None and e[7]:
            amount = self._amount(e, number, 7, "EB07")
        if percent is None and e[8]:
            percent = self._amount(e, number, 8, "EB08")
        if quantity is None and e[10]:
            quantity = self._amount(e, number, 10, "EB10")
        benefit = EligibilityBenefit(
            env.source, env.transaction_control_number, member.trace, member.member_id,
            member.last, member.first, member.level, code, text, e[2], types, e[4], e[5],
            e[6], amount, percent, e[9], quantity, e[11], e[12], procedure, "", number,
        )  # fmt: skip
        member.benefits.append(benefit)
        self.benefit, self.in_ls = benefit, False

    def _amount(self, e: list[str], number: int, index: int, name: str) -> Decimal | None:
        """``Money`` of ``e[index]``; the segment object is made only when text is new."""
        text = e[index]
        value = self.money.cache.get(text)
        if value is None and text:
            return self.money(text, Segment(e, number, 0, self.envelope), name)
        return value

    def _msg(self, e: list[str], number: int) -> None:
        text = e[1] if len(e) > 1 else ""
        if self.benefit is not None and text:
            b = self.benefit
            b.messages = f"{b.messages} | {text}" if b.messages else text

    def _iii(self, e: list[str], number: int) -> None:
        b = self.benefit
        e = _padded(e, 3)
        if b is not None and e[1] == "ZZ" and e[2]:
            places = [p for p in (b.places_of_service, e[2]) if p]
            b.places_of_service = ",".join(places)

    def _dtp(self, e: list[str], number: int) -> None:
        member = self.member
        if member is None or self.benefit is not None:
            return  # 2110 benefit dates are not the member's
        e = _padded(e, 4)
        names = _MEMBER_DATES.get(e[1])
        if names is None:
            return
        values = [_iso(v) for v in e[3].split("-")] if e[2] == "RD8" else [_iso(e[3])]
        for name, value in zip(names if e[2] == "RD8" else names[:1], values, strict=False):
            if value:
                member.dates[name] = value

    def _ls(self, e: list[str], number: int) -> None:
        self.in_ls = True

    def _per(self, e: list[str], number: int) -> None:
        if self.in_ls:
            e = _padded(e, 9)
            numbers = " ".join(f"{e[i]} {e[i + 1]}" for i in (3, 5, 7) if e[i + 1])
            if numbers:
                self._entity(numbers, new=False)

    def _le(self, e: list[str], number: int) -> None:
        self.in_ls = False

    def _entity(self, text: str, *, new: bool) -> None:
        """A 2120 NM1 starts an entity on the benefit; its PER numbers extend the last one."""
        b = self.benefit
        if b is None or (not new and not b.related_entities):
            return
        joiner = " | " if new else " "
        b.related_entities = f"{b.related_entities}{joiner}{text}" if b.related_entities else text

    def _close_member(self) -> None:
        member = self.member
        if member is None:
            return
        self.member = None
        self.out.extend(member.benefits)
        answered = member.benefits or member.rejects or member.upstream or not member.has_children
        if answered and self.segment is not None:
            self._emit_summary(member, self.segment)

    def _emit_summary(self, member: _Member, st: Segment) -> None:
        env = st.envelope
        summary = summarize(member.benefits, member.rejects, member.upstream)
        summary.source_file, summary.transaction_control_number = (
            env.source,
            env.transaction_control_number,
        )
        summary.trace_number, summary.member_id = member.trace, member.member_id
        summary.last_name, summary.first_name, summary.member_level = (
            member.last,
            member.first,
            member.level,
        )
        summary.payer_name, summary.payer_id = self.payer
        for name, value in member.dates.items():
            setattr(summary, name, value)
        self.out.append(summary)


_HANDLERS: dict[str, Callable[[Eligibility271Parser, list[str], int], None]] = {
    "HL": Eligibility271Parser._hl,
    "NM1": Eligibility271Parser._nm1,
    "TRN": Eligibility271Parser._trn,
    "AAA": Eligibility271Parser._aaa,
    "EB": Eligibility271Parser._eb,
    "MSG": Eligibility271Parser._msg,
    "LS": Eligibility271Parser._ls,
    "LE": Eligibility271Parser._le,
    "III": Eligibility271Parser._iii,
    "DTP": Eligibility271Parser._dtp,
    "PER": Eligibility271Parser._per,
}

# DTP01 in 2100C/D -> the summary fields (D8: the first; RD8: begin and end).
_MEMBER_DATES = {
    "346": ("plan_begin", "plan_end"),
    "347": ("plan_end",),
    "356": ("eligibility_begin", "eligibility_end"),
    "357": ("eligibility_end",),
    "307": ("eligibility_begin", "eligibility_end"),
}


def _padded(elements: list[str], size: int) -> list[str]:
    """The element list, padded with "" so positions below ``size`` can be indexed (X12
    drops trailing empty elements)."""
    missing = size - len(elements)
    return elements + [""] * missing if missing > 0 else elements


def _iso(value: str) -> str:
    """CCYYMMDD -> ISO; anything else -> "" (the raw file keeps it)."""
    if len(value) != 8 or not value.isdigit():
        return ""
    return f"{value[:4]}-{value[4:6]}-{value[6:]}"


def summarize(
    benefits: list[EligibilityBenefit],
    rejects: list[tuple[str, str, bool]],
    upstream: list[tuple[str, str, bool]] | None = None,
) -> EligibilitySummary:
    """The §3.3 summary of one member's EB rows and AAA rejections (identity left blank)."""
    s = EligibilitySummary("", "", "", "", "", "", "", benefit_count=len(benefits))
    codes = {b.benefit_code for b in benefits}
    status_known = bool(codes & (_ACTIVE | _INACTIVE))
    loop_rejects = (upstream or []) + [r for r in rejects if not r[2]]
    item_rejects = [r for r in rejects if r[2]]
    reject = (
        loop_rejects[0]
        if loop_rejects
        else (item_rejects[0] if item_rejects and not status_known else None)
    )
    if reject is not None:
        s.coverage_status = "rejected"
        s.reject_reason_code, s.follow_up_action_code = reject[0], reject[1]
        s.reject_reason = describe("aaa_reject_reason", reject[0])
        s.follow_up_action = describe("aaa_follow_up", reject[1])
    elif codes & _ACTIVE:
        s.coverage_status = "active"
    elif codes & _INACTIVE:
        s.coverage_status = "inactive"
    else:
        s.coverage_status = "active" if benefits else "inactive"
    plan = [b for b in benefits if b.benefit_code in _ACTIVE and b.plan_description]
    plan = plan or [b for b in benefits if b.plan_description]
    if plan:
        s.plan_description, s.insurance_type = plan[0].plan_description, plan[0].insurance_type
    else:
        s.insurance_type = next((b.insurance_type for b in benefits if b.insurance_type), "")
    # _pick skips every EB of another code: each search walks only its code's EBs (in
    # file order, so ties go the same way).
    by_code: dict[str, list[EligibilityBenefit]] = {}
    for b in benefits:
        by_code.setdefault(b.benefit_code, []).append(b)
    deductibles, oops, coinsurances = (
        by_code.get("C", []),
        by_code.get("G", []),
        by_code.get("A", []),
    )
    copays = by_code.get("B", [])
    for network, prefix in (("Y", "in_network"), ("N", "out_of_network")):
        deductible, remaining = _accumulator(deductibles, "C", network)
        setattr(s, f"{prefix}_deductible", deductible)
        setattr(s, f"{prefix}_deductible_remaining", remaining)
        oop, oop_remaining = _accumulator(oops, "G", network)
        setattr(s, f"{prefix}_oop_max", oop)
        setattr(s, f"{prefix}_oop_remaining", oop_remaining)
        coinsurance = _pick(coinsurances, "A", _OFFICE_VISIT, network, None, _ANY_PERIOD)
        setattr(s, f"{prefix}_coinsurance", coinsurance.percent if coinsurance else None)
    copay = _pick(copays, "B", _OFFICE_VISIT, "Y", None, _ANY_PERIOD)
    s.office_visit_copay = copay.amount if copay else None
    copay = _pick(copays, "B", _OFFICE_VISIT, "N", None, _ANY_PERIOD)
    s.out_of_network_office_visit_copay = copay.amount if copay else None
    auth = {b.authorization_required for b in benefits if _general(b.service_types)}
    s.prior_auth_required = True if "Y" in auth else (False if "N" in auth else None)
    _decisions(s, benefits)
    return s


def _decisions(s: EligibilitySummary, benefits: list[EligibilityBenefit]) -> None:
    """The :mod:`pipeline.parse.coverage` columns: networks, copays by STC, prior auth."""
    s.in_network_coverage, _ = network_coverage(benefits, "Y")
    s.out_of_network_coverage, kept = network_coverage(benefits, "N")
    s.out_of_network_service_types = ",".join(kept)
    s.in_network_copays = format_copays(copays_by_service_type(benefits, "Y"))
    s.out_of_network_copays = format_copays(copays_by_service_type(benefits, "N"))
    s.prior_auth_services = format_authorizations(authorizations(benefits))
    contacts = [b.related_entities for b in benefits if b.authorization_required == "Y"]
    s.prior_auth_contact = next((c for c in contacts if c), "")


def _general(service_types: str) -> bool:
    """An EB about office visits, the plan in general, or no service type in particular."""
    stcs = service_types.split(",") if service_types else []
    return not stcs or _OFFICE_VISIT in stcs or _PLAN in stcs


def _accumulator(
    benefits: list[EligibilityBenefit], code: str, network: str
) -> tuple[Decimal | None, Decimal | None]:
    """(total, remaining) for the individual, embedded in the family where both exist."""
    total = _amount(_pick(benefits, code, _PLAN, network, _INDIVIDUAL, _TOTAL_PERIODS))
    if total is None:
        total = _amount(_pick(benefits, code, _PLAN, network, _FAMILY, _TOTAL_PERIODS))
    left = [
        _amount(_pick(benefits, code, _PLAN, network, levels, _REMAINING_PERIODS))
        for levels in (_INDIVIDUAL, _FAMILY)
    ]
    known = [v for v in left if v is not None]
    if known:
        return total, min(known)
    met = _amount(_pick(benefits, code, _PLAN, network, _INDIVIDUAL, _MET_PERIODS))
    if total is not None and met is not None:
        return total, max(total - met, _ZERO)
    return total, None


def _amount(benefit: EligibilityBenefit | None) -> Decimal | None:
    return benefit.amount if benefit is not None else None


def _pick(
    benefits: list[EligibilityBenefit],
    code: str,
    service_type: str,
    network: str,
    levels: frozenset[str] | None,
    periods: dict[str, int],
) -> EligibilityBenefit | None:
    """The best EB by (service type, network, period) rank; ``None`` when none applies."""
    best: tuple[int, int, int, int] | None = None
    chosen = None
    for order, b in enumerate(benefits):
        if b.benefit_code != code or (levels is not None and b.coverage_level not in levels):
            continue
        if periods and b.time_period not in periods:
            continue
        stcs = b.service_types.split(",") if b.service_types else []
        if service_type in stcs:
            stc_rank = 0
        elif _PLAN in stcs:
            stc_rank = 1
        elif not stcs:
            stc_rank = 2
        else:
            continue
        net = b.in_network
        net_rank = 0 if net == network else 1 if net == "W" else 2 if net in ("", "U") else -1
        if net_rank < 0:
            continue
        if code in ("A", "B") and b.amount is None and b.percent is None:
            continue
        if code not in ("A",) and b.amount is None:
            continue
        rank = (stc_rank, net_rank, periods.get(b.time_period, 0), order)
        if best is None or rank < best:
            best, chosen = rank, b
    return chosen
