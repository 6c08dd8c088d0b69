"""837P professional claims (005010X222A1) from practice encounters.

Two steps, so the round trip is exact: :func:`claim_record` turns an encounter into
the :class:`~pipeline.practice.records.ClaimRecord` the file will say (upper-cased
names, the payer's view of subscriber and patient, COB from the primary's EOB), and
:func:`build_837p` scrubs, renders and writes them. Each claim is rendered before
anything is written, so a value the writer refuses (a delimiter inside a name) holds
that claim as a scrub finding (rule ``x12_value``) instead of breaking the file.

Layout: one interchange, one HC group, transaction sets of at most
``max_claims_per_transaction`` claims (validation runs in parallel by set), each
``BHT / 1000A / 1000B / 2000A+2010AA[/2010AB]`` then per claim ``2000B`` (SBR,
2010BA, 2010BB), ``2000C`` only when the patient is not the subscriber, ``2300``
(CLM, DTP, REF, HI, 2310A/B/C, 2320/2330A/B) and ``2400`` lines (SV1, DTP*472,
REF*6R, 2410 LIN/CTP, 2430 SVD/CAS/DTP*573). COB data comes from :mod:`pipeline.build.cob`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TextIO

from pipeline.build.cob import AOB_INDICATOR, line_adjudications, other_payers
from pipeline.build.codes import CodeSets
from pipeline.build.common import (
    CHARSET_MESSAGE,
    d8,
    money,
    no_cyclic_gc,
    patient_person,
    subscriber_of,
    up,
)
from pipeline.build.scrub import Finding, ScrubReport, scrub
from pipeline.errors import X12WriteError
from pipeline.practice.model import (
    Address,
    Coverage,
    Encounter,
    Patient,
    Practice,
)
from pipeline.practice.records import (
    Adjustment,
    ClaimLine,
    ClaimRecord,
    LineAdjudication,
    OtherPayer,
    Person,
    ServiceFacilityLocation,
)
from pipeline.x12.segments import Delimiters
from pipeline.x12.writer import (
    ControlNumbers,
    Element,
    TransactionWriter,
    X12Writer,
    format_segment,
)

__all__ = [
    "IMPLEMENTATION",
    "Build837Result",
    "ClaimContext",
    "build_837p",
    "claim_record",
]

IMPLEMENTATION = "005010X222A1"
MAX_CLAIMS_PER_TRANSACTION = 500


@dataclass
class Build837Result:
    claims: list[ClaimRecord]
    """Claims written, in file order."""
    report: ScrubReport
    """Scrub findings, including ``x12_value`` for values the writer refused."""
    interchange_control_number: str = ""
    group_control_number: str = ""
    transactions: dict[str, list[str]] = field(default_factory=dict)
    """ST02 -> the PCNs in that transaction set (what the 999/277CA refer back to)."""

    @property
    def held(self) -> set[str]:
        return self.report.held


# --- encounter -> claim record ---------------------------------------------------------------


class ClaimContext:
    """Per-build lookups and upper-cased names, computed once per patient/coverage/provider."""

    def __init__(self, practice: Practice) -> None:
        self.practice = practice
        self.coverages: dict[tuple[str, str], Coverage] = {}
        for coverage in practice.coverages:  # the first one at a priority wins
            self.coverages.setdefault((coverage.patient_id, coverage.priority), coverage)
        # Patients with more than one coverage: only their claims can name another payer.
        counts = Counter(patient_id for patient_id, _ in self.coverages)
        self.several = {patient_id for patient_id, n in counts.items() if n > 1}
        self._subscribers: dict[str, tuple[Person, str, str]] = {}
        self._patients: dict[str, Person] = {}
        self._providers: dict[str, tuple[str, tuple[str, str], str]] = {}
        self._facilities: dict[str, ServiceFacilityLocation | None] = {}
        bp = practice.billing_provider
        self._billing_address = _location_key(bp.address)
        self.billing = (bp.npi, bp.ein, up(bp.name))
        self.payer_names = {k: up(p.name) for k, p in practice.payers.items()}

    def subscriber(self, coverage: Coverage, patient: Patient) -> tuple[Person, str, str]:
        found = self._subscribers.get(coverage.coverage_id)
        if found is None:
            found = self._subscribers[coverage.coverage_id] = _claim_subscriber(coverage, patient)
        return found

    def patient(self, patient: Patient) -> Person:
        found = self._patients.get(patient.patient_id)
        if found is None:
            found = self._patients[patient.patient_id] = patient_person(patient)
        return found

    def provider(self, provider_id: str | None) -> tuple[str, tuple[str, str], str]:
        """(NPI, (last, first), taxonomy); empty values when there is no such provider."""
        key = provider_id or ""
        found = self._providers.get(key)
        if found is None:
            p = self.practice.providers.get(key)
            found = (
                (p.npi, (up(p.last_name), up(p.first_name)), p.taxonomy or "")
                if p
                else ("", ("", ""), "")
            )
            self._providers[key] = found
        return found

    def facility(self, facility_id: str | None) -> ServiceFacilityLocation | None:
        """2310C for the facility, or None when there is none or it is the billing address."""
        if not facility_id:
            return None
        if facility_id not in self._facilities:
            f = self.practice.facilities.get(facility_id)
            found = None
            # Situational: only when the service was not given at the billing provider's address.
            if f is not None and _location_key(f.address) != self._billing_address:
                a = f.address
                found = ServiceFacilityLocation(
                    up(f.name), f.npi, up(a.line1), up(a.line2), up(a.city), up(a.state), a.zip
                )
            self._facilities[facility_id] = found
        return self._facilities[facility_id]


def _claim_subscriber(coverage: Coverage, patient: Patient) -> tuple[Person, str, str]:
    """The 2010BA subscriber: name and id; address and DMG only when they are the patient.

    X222A1 2010BA N3/N4/DMG: "Required when the patient is the subscriber. If not
    required by this implementation guide, do not send."
    """
    subscriber, member_id, relationship = subscriber_of(coverage, patient)
    if relationship != "18":
        subscriber = Person(subscriber.last_name, subscriber.first_name, subscriber.middle_name)
    return subscriber, member_id, relationship


def _location_key(a: Address) -> tuple[str, ...]:
    return (up(a.line1), up(a.line2), up(a.city), up(a.state), a.zip[:5])


def claim_record(
    practice: Practice, encounter: Encounter, *, context: ClaimContext | None = None
) -> ClaimRecord:
    """The claim the 837P will carry for ``encounter`` (it must have passed the scrubber)."""
    ctx = context or ClaimContext(practice)
    e = encounter
    patient = practice.patients[e.patient_id]
    coverage = ctx.coverages.get((e.patient_id, e.coverage_priority))
    if coverage is None:
        raise ValueError(f"{e.encounter_id}: no {e.coverage_priority} coverage")
    payer = practice.payers[coverage.payer_id]
    subscriber, member_id, relationship = ctx.subscriber(coverage, patient)
    rendering_npi, rendering_name, rendering_taxonomy = ctx.provider(e.rendering_provider_id)
    referring_npi, referring_name, _ = ctx.provider(e.referring_provider_id)
    pcn = e.patient_control_number
    pos = e.place_of_service
    emergency = e.emergency
    others = (
        other_payers(practice, e, patient, ctx.coverages) if e.patient_id in ctx.several else ()
    )
    # 2430 names the payer as its 2330B does; only the primary's EOB has line detail.
    by_line = next((o.payer_id for o in others if o.paid_amount is not None), "")
    lines = tuple([
        ClaimLine(
            i, f"{pcn}-{i}", c.procedure_code, tuple(c.modifiers), c.charge, c.units,
            c.service_date or e.service_date, tuple(c.diagnosis_pointers),
            c.place_of_service if c.place_of_service and c.place_of_service != pos else "",
            emergency, c.ndc or "",
            c.ndc_quantity if c.ndc else None,
            (c.ndc_unit or "") if c.ndc else "",
            adjudications=line_adjudications(e, c, by_line) if by_line else (),
        )
        for i, c in enumerate(e.charges, start=1)
    ])  # fmt: skip
    refused = patient.aob == "refused"
    billing_npi, billing_tax_id, billing_name = ctx.billing
    accident = e.accident_cause or ""
    return ClaimRecord(
        patient_control_number=pcn,
        total_charge=sum([c.charge for c in lines], Decimal(0)),
        place_of_service=pos,
        frequency=e.frequency,
        payer_id=payer.payer_id,
        payer_name=ctx.payer_names[payer.payer_id],
        responsibility=e.coverage_priority,
        claim_filing_indicator=payer.claim_filing_indicator,
        member_id=member_id,
        subscriber=subscriber,
        relationship=relationship,
        patient=subscriber if relationship == "18" else ctx.patient(patient),
        group_number=coverage.group_number or "",
        billing_npi=billing_npi,
        billing_tax_id=billing_tax_id,
        billing_name=billing_name,
        assignment="C" if refused and not payer.in_network else "A",
        benefits_assignment=AOB_INDICATOR[patient.aob],
        release_of_information=patient.release_of_information,
        accident_cause=accident,
        accident_state=(e.accident_state or "") if accident else "",
        accident_date=(e.accident_date or e.service_date) if accident else None,
        onset_date=e.onset_date,
        original_claim_number=(e.original_claim_number or "") if e.frequency != "1" else "",
        prior_auth=e.prior_auth or "",
        referral_number=e.referral_number or "",
        diagnoses=tuple(e.diagnoses),
        rendering_npi=rendering_npi,
        rendering_name=rendering_name,
        rendering_taxonomy=rendering_taxonomy,
        referring_npi=referring_npi,
        referring_name=referring_name,
        service_facility=ctx.facility(e.facility_id),
        lines=lines,
        other_payers=others,
        encounter_id=e.encounter_id,
    )


# --- rendering -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Rendered:
    """A claim's segment texts; HL segments are written later, when their numbers are known."""

    record: ClaimRecord
    subscriber: list[str]
    patient: list[str] | None
    claim: list[str]


class _Segments:
    """Segment texts for one claim.

    Fast path: values are joined without a per-value check; every value is kept in
    ``raw`` and :meth:`problem` looks for delimiters once per claim. Only when one is
    found is the claim rendered again through the writer's checked ``format_segment``,
    which raises the ``X12WriteError`` naming the field. Both paths give the same text.
    """

    def __init__(self, delimiters: Delimiters, *, checked: bool = False) -> None:
        self.d = delimiters
        self.element = delimiters.element
        self.component = delimiters.component
        self.checked = checked
        self.out: list[str] = []
        self.raw: list[str] = []

    def __call__(self, tag: str, *elements: Element) -> None:
        if self.checked:
            self.out.append(format_segment(tag, elements, self.d))
            return
        values: list[str] = []
        raw = self.raw
        for element in elements:
            if element is None:
                values.append("")
            elif element.__class__ is str:
                values.append(element)
                raw.append(element)
            else:
                components = [c or "" for c in element]
                while components and not components[-1]:
                    components.pop()
                raw.extend(components)
                values.append(self.component.join(components))
        while values and not values[-1]:
            values.pop()
        values.insert(0, tag)
        self.out.append(self.element.join(values))

    def take(self) -> list[str]:
        out, self.out = self.out, []
        return out

    def problem(self) -> str | None:
        """``delimiter`` or ``charset`` when a value cannot be sent as it is.

        Delimiters are single characters, so joining the values cannot make one up; a
        control character is refused here too (the scrubber names it first).
        """
        blob = "".join(self.raw)
        if any(delimiter in blob for delimiter in self.d.active()):
            return "delimiter"
        # For ASCII, printable means no control character (and is faster than a regex).
        return None if blob.isascii() and blob.isprintable() else "charset"


def _name(s: _Segments, qualifier: str, p: Person, id_qualifier: str, ident: str) -> None:
    s("NM1", qualifier, "1", p.last_name, p.first_name, p.middle_name or None, None, None,
      id_qualifier if ident else None, ident or None)  # fmt: skip


def _address(s: _Segments, p: Person) -> None:
    if p.address_line1:
        s("N3", p.address_line1, p.address_line2 or None)
        s("N4", p.city, p.state, p.zip)


def _render(rec: ClaimRecord, d: Delimiters) -> _Rendered:
    """The claim's segments; raises ``X12WriteError`` for a value holding a delimiter."""
    s = _Segments(d)
    rendered = _fast(s, rec, d)
    problem = s.problem()
    if problem == "delimiter":
        _render_with(_Segments(d, checked=True), rec, d)  # raises, naming the field
    if problem is not None:
        raise X12WriteError(f"value {CHARSET_MESSAGE}")
    return rendered


def _fast(s: _Segments, rec: ClaimRecord, d: Delimiters) -> _Rendered:
    """Same text as :func:`_render_with`, written with f-strings (the hot path: 2000B-2400).

    Trailing empty elements are dropped by ``rstrip`` of the element separator, which is
    safe because values holding a delimiter are refused (:meth:`_Segments.problem`).
    """
    e, c = d.element, d.component
    out, raw = s.out, s.raw
    sub = rec.subscriber
    self_pay = rec.relationship == "18"
    raw += (rec.group_number, rec.claim_filing_indicator, rec.member_id, rec.payer_name,
            rec.payer_id, rec.patient_control_number, rec.prior_auth, rec.referral_number,
            rec.original_claim_number, rec.accident_state, rec.rendering_taxonomy,
            *rec.diagnoses, *rec.rendering_name, *rec.referring_name)  # fmt: skip
    out.append(
        f"SBR{e}{rec.responsibility}{e}{'18' if self_pay else ''}{e}{rec.group_number}"
        f"{e}{e}{e}{e}{e}{e}{rec.claim_filing_indicator}".rstrip(e)
    )
    _fast_person(out, raw, e, f"NM1{e}IL{e}1", sub, f"{e}{e}{e}MI{e}{rec.member_id}")
    if sub.dob:
        out.append(f"DMG{e}D8{e}{d8(sub.dob)}{e}{sub.sex}".rstrip(e))
    out.append(f"NM1{e}PR{e}2{e}{rec.payer_name}{e}{e}{e}{e}{e}PI{e}{rec.payer_id}")
    subscriber = s.take()
    out = s.out
    patient = None
    if not self_pay:
        pat = rec.patient
        out.append(f"PAT{e}{rec.relationship}")
        _fast_person(out, raw, e, f"NM1{e}QC{e}1", pat, "")
        if pat.dob:
            out.append(f"DMG{e}D8{e}{d8(pat.dob)}{e}{pat.sex}".rstrip(e))
        patient = s.take()
        out = s.out
    related = ""
    if rec.accident_cause:
        raw.append(rec.accident_cause)
        related = f"{rec.accident_cause}{c}{c}{c}{rec.accident_state}".rstrip(c)
    out.append(
        f"CLM{e}{rec.patient_control_number}{e}{money(rec.total_charge)}{e}{e}"
        f"{e}{rec.place_of_service}{c}B{c}{rec.frequency}"
        f"{e}{'Y' if rec.provider_signature else 'N'}"
        f"{e}{rec.assignment}{e}{rec.benefits_assignment}{e}{rec.release_of_information}"
        f"{e}{e}{related}".rstrip(e)
    )
    raw.append(rec.place_of_service)
    if rec.onset_date:
        out.append(f"DTP{e}431{e}D8{e}{d8(rec.onset_date)}")
    if rec.accident_date:
        out.append(f"DTP{e}439{e}D8{e}{d8(rec.accident_date)}")
    if rec.referral_number:
        out.append(f"REF{e}9F{e}{rec.referral_number}")
    if rec.prior_auth:
        out.append(f"REF{e}G1{e}{rec.prior_auth}")
    if rec.original_claim_number:
        out.append(f"REF{e}F8{e}{rec.original_claim_number}")
    out.append("HI" + "".join(
        f"{e}{'ABF' if i else 'ABK'}{c}{code}" for i, code in enumerate(rec.diagnoses)
    ))  # fmt: skip
    if rec.referring_npi:
        last, first = rec.referring_name
        raw.append(rec.referring_npi)
        out.append(f"NM1{e}DN{e}1{e}{last}{e}{first}{e}{e}{e}{e}XX{e}{rec.referring_npi}")
    if rec.rendering_npi and rec.rendering_npi != rec.billing_npi:
        last, first = rec.rendering_name
        raw.append(rec.rendering_npi)
        out.append(f"NM1{e}82{e}1{e}{last}{e}{first}{e}{e}{e}{e}XX{e}{rec.rendering_npi}")
        if rec.rendering_taxonomy:
            out.append(f"PRV{e}PE{e}PXC{e}{rec.rendering_taxonomy}")
    if rec.service_facility is not None:
        _service_facility(s, rec.service_facility)  # the generic path: one claim in a few
    for other in rec.other_payers:
        _other_payer(s, other)  # rare: the generic path
    for line in rec.lines:
        raw.append(line.procedure_code)
        raw += line.modifiers
        raw.append(line.line_control_number)
        procedure = c.join(("HC", line.procedure_code, *line.modifiers))
        pointers = c.join([str(p) for p in line.diagnosis_pointers])
        if line.place_of_service:
            raw.append(line.place_of_service)
        out.append(f"LX{e}{line.line_number}")
        emergency = "Y" if line.emergency else ""
        out.append(
            f"SV1{e}{procedure}{e}{money(line.charge)}{e}UN{e}{money(line.units)}"
            f"{e}{line.place_of_service}{e}{e}{pointers}{e}{e}{emergency}".rstrip(e)
        )
        out.append(f"DTP{e}472{e}D8{e}{d8(line.service_date)}")
        out.append(f"REF{e}6R{e}{line.line_control_number}")
        if line.ndc:
            s("LIN", None, "N4", line.ndc)
            quantity = money(line.ndc_quantity) if line.ndc_quantity is not None else None
            s("CTP", None, None, None, quantity, [line.ndc_unit])
        for adjudication in line.adjudications:  # rare: the generic path
            _line_adjudication(s, adjudication)
    return _Rendered(rec, subscriber, patient, s.take())


def _fast_person(out: list[str], raw: list[str], e: str, head: str, p: Person, tail: str) -> None:
    raw += (p.last_name, p.first_name, p.middle_name)
    out.append(f"{head}{e}{p.last_name}{e}{p.first_name}{e}{p.middle_name}{tail}".rstrip(e))
    if p.address_line1:
        raw += (p.address_line1, p.address_line2, p.city, p.state, p.zip)
        out.append(f"N3{e}{p.address_line1}{e}{p.address_line2}".rstrip(e))
        out.append(f"N4{e}{p.city}{e}{p.state}{e}{p.zip}".rstrip(e))


def _render_with(s: _Segments, rec: ClaimRecord, d: Delimiters) -> _Rendered:
    """The reference rendering, segment by segment through ``s`` (checked: the writer's rules)."""
    # 2000B subscriber (after its HL) / 2010BA / 2010BB
    self_pay = rec.relationship == "18"
    s("SBR", rec.responsibility, "18" if self_pay else None, rec.group_number or None,
      None, None, None, None, None, rec.claim_filing_indicator)  # fmt: skip
    sub = rec.subscriber
    _name(s, "IL", sub, "MI", rec.member_id)
    _address(s, sub)
    if sub.dob:
        s("DMG", "D8", d8(sub.dob), sub.sex)
    s("NM1", "PR", "2", rec.payer_name, None, None, None, None, "PI", rec.payer_id)
    subscriber = s.take()
    patient = None
    if not self_pay:  # 2000C / 2010CA
        s("PAT", rec.relationship)
        pat = rec.patient
        s("NM1", "QC", "1", pat.last_name, pat.first_name, pat.middle_name or None)
        _address(s, pat)
        if pat.dob:
            s("DMG", "D8", d8(pat.dob), pat.sex)
        patient = s.take()
    _claim(s, rec, d)
    return _Rendered(rec, subscriber, patient, s.take())


def _claim(s: _Segments, rec: ClaimRecord, d: Delimiters) -> None:
    related = (
        [rec.accident_cause, None, None, rec.accident_state or None] if rec.accident_cause else None
    )
    s("CLM", rec.patient_control_number, money(rec.total_charge), None, None,
      [rec.place_of_service, "B", rec.frequency], "Y" if rec.provider_signature else "N",
      rec.assignment, rec.benefits_assignment, rec.release_of_information, None,
      related)  # fmt: skip
    if rec.onset_date:
        s("DTP", "431", "D8", d8(rec.onset_date))
    if rec.accident_date:
        s("DTP", "439", "D8", d8(rec.accident_date))
    if rec.referral_number:
        s("REF", "9F", rec.referral_number)
    if rec.prior_auth:
        s("REF", "G1", rec.prior_auth)
    if rec.original_claim_number:
        s("REF", "F8", rec.original_claim_number)
    s("HI", *[["ABK" if i == 0 else "ABF", code] for i, code in enumerate(rec.diagnoses)])
    if rec.referring_npi:  # 2310A
        last, first = rec.referring_name
        s("NM1", "DN", "1", last, first, None, None, None, "XX", rec.referring_npi)
    if rec.rendering_npi and rec.rendering_npi != rec.billing_npi:  # 2310B
        last, first = rec.rendering_name
        s("NM1", "82", "1", last, first, None, None, None, "XX", rec.rendering_npi)
        if rec.rendering_taxonomy:
            s("PRV", "PE", "PXC", rec.rendering_taxonomy)
    if rec.service_facility is not None:
        _service_facility(s, rec.service_facility)
    for other in rec.other_payers:
        _other_payer(s, other)
    for line in rec.lines:
        _line(s, line, d)


def _service_facility(s: _Segments, f: ServiceFacilityLocation) -> None:
    # 2310C service facility location (box 32/32a); N4 carries the ZIP+4 the guide requires.
    s("NM1", "77", "2", f.name, None, None, None, None, "XX" if f.npi else None, f.npi or None)
    s("N3", f.address_line1, f.address_line2 or None)
    s("N4", f.city, f.state, f.zip)


def _other_payer(s: _Segments, o: OtherPayer) -> None:
    # 2320: CAS, AMT*D only once that payer has adjudicated the claim
    s("SBR", o.responsibility, o.relationship, o.group_number or None, None, None, None, None,
      None, o.claim_filing_indicator)  # fmt: skip
    _cas(s, o.adjustments)
    if o.paid_amount is not None:
        s("AMT", "D", money(o.paid_amount))
    s("OI", None, None, o.benefits_assignment, None, None, o.release_of_information)
    # 2330A other subscriber, 2330B other payer
    s("NM1", "IL", "1", o.subscriber.last_name, o.subscriber.first_name, None, None, None,
      "MI", o.member_id)  # fmt: skip
    s("NM1", "PR", "2", o.payer_name, None, None, None, None, "PI", o.payer_id)
    if o.adjudication_date:  # not when the dates are per line (2430)
        s("DTP", "573", "D8", d8(o.adjudication_date))
    if o.payer_claim_number:
        s("REF", "F8", o.payer_claim_number)


def _cas(s: _Segments, adjustments: Sequence[Adjustment]) -> None:
    """One CAS per group code, six reason/amount pairs each (2320 and 2430)."""
    by_group: dict[str, list[Adjustment]] = {}
    for adj in adjustments:
        by_group.setdefault(adj.group_code, []).append(adj)
    for group, grouped in by_group.items():
        for start in range(0, len(grouped), 6):
            elements: list[Element] = [group]
            for adj in grouped[start : start + 6]:
                elements += [adj.reason_code, money(adj.amount), None]
            s("CAS", *elements)


def _line_adjudication(s: _Segments, a: LineAdjudication) -> None:
    # 2430: SVD01 is the other payer's 2330B NM109; SVD05 the units it paid
    s("SVD", a.payer_id, money(a.paid_amount), ["HC", a.procedure_code, *a.modifiers], None,
      money(a.paid_units))  # fmt: skip
    _cas(s, a.adjustments)
    s("DTP", "573", "D8", d8(a.adjudication_date))


def _line(s: _Segments, line: ClaimLine, d: Delimiters) -> None:
    s("LX", str(line.line_number))
    s("SV1", ["HC", line.procedure_code, *line.modifiers], money(line.charge), "UN",
      money(line.units), line.place_of_service or None, None,
      [str(p) for p in line.diagnosis_pointers], None,
      "Y" if line.emergency else None)  # fmt: skip
    s("DTP", "472", "D8", d8(line.service_date))
    s("REF", "6R", line.line_control_number)
    if line.ndc:  # 2410
        s("LIN", None, "N4", line.ndc)
        quantity = money(line.ndc_quantity) if line.ndc_quantity is not None else None
        s("CTP", None, None, None, quantity, [line.ndc_unit])
    for adjudication in line.adjudications:
        _line_adjudication(s, adjudication)


# --- the file ---------------------------------------------------------------------------------


@no_cyclic_gc()
def build_837p(
    practice: Practice,
    out: TextIO,
    *,
    control_numbers: ControlNumbers,
    today: date,
    codes: CodeSets,
    encounters: Iterable[Encounter] | None = None,
    max_claims_per_transaction: int = MAX_CLAIMS_PER_TRANSACTION,
    now: datetime | None = None,
    usage: str = "P",
    delimiters: Delimiters | None = None,
    prescrubbed: bool = False,
) -> Build837Result:
    """Scrub ``encounters`` (default all), write the clean ones to ``out``, report the rest.

    ``prescrubbed``: the caller has scrubbed them already, with more than this scrub knows
    (every 271 on file, every encounter for duplicates), and passes only those it did not
    hold: they are not scrubbed again (half of a night's build), and the report holds only
    what the writer refuses. Nothing is written when no claim passes.
    """
    d = delimiters or Delimiters()
    chosen = list(practice.encounters if encounters is None else encounters)
    report = ScrubReport([]) if prescrubbed else scrub(practice, chosen, today=today, codes=codes)
    held = report.held
    rendered: list[_Rendered] = []
    context = ClaimContext(practice)
    for encounter in chosen:
        if encounter.encounter_id in held:
            continue
        record = claim_record(practice, encounter, context=context)
        try:
            rendered.append(_render(record, d))
        except X12WriteError as exc:
            report.findings.append(_refusal(encounter, exc))
    result = Build837Result([r.record for r in rendered], report)
    if not rendered:
        return result
    try:
        _check_header(practice, d)
    except X12WriteError as exc:  # a billing provider value: no claim can be sent
        report.findings += [_refusal(e, exc) for e in chosen if e.encounter_id not in held]
        result.claims = []
        return result
    writer = X12Writer(out, control_numbers=control_numbers, delimiters=d, now=now)
    _write(writer, practice, rendered, result, max_claims_per_transaction, usage)
    return result


def _refusal(encounter: Encounter, exc: X12WriteError) -> Finding:
    message = str(exc)
    return Finding(
        encounter.encounter_id, encounter.patient_control_number, message.split(" ", 1)[0],
        "x12_value", "error", f"{message} (fix it in the practice system)",
    )  # fmt: skip


def _write(
    writer: X12Writer,
    practice: Practice,
    rendered: Sequence[_Rendered],
    result: Build837Result,
    per_set: int,
    usage: str,
) -> None:
    bp = practice.billing_provider
    with writer.interchange(
        sender=("ZZ", bp.submitter_etin), receiver=("ZZ", bp.receiver_id), usage=usage,
        ack_requested=True,
    ) as isa:  # fmt: skip
        result.interchange_control_number = isa.control_number
        with isa.group("HC", bp.submitter_etin, bp.receiver_id, IMPLEMENTATION) as gs:
            result.group_control_number = gs.control_number
            for start in range(0, len(rendered), per_set):
                chunk = rendered[start : start + per_set]
                with gs.transaction("837") as ts:
                    _header(ts, practice, f"{isa.control_number}{ts.control_number}")
                    result.transactions[ts.control_number] = _claims(writer, ts, chunk)


def _header(ts: TransactionWriter, practice: Practice, reference: str) -> None:
    now = ts.writer.now
    ts.segment("BHT", "0019", "00", reference, d8(now.date()), now.strftime("%H%M"), "CH")
    for tag, elements in _header_segments(practice):
        ts.segment(tag, *elements)


def _header_segments(practice: Practice) -> list[tuple[str, list[Element]]]:
    """1000A submitter, 1000B receiver, 2000A/2010AA billing provider, 2010AB pay-to."""
    bp = practice.billing_provider
    a = bp.address
    segments: list[tuple[str, list[Element]]] = [
        ("NM1", ["41", "2", up(bp.name), None, None, None, None, "46", bp.submitter_etin]),
        ("PER", ["IC", up(bp.contact_name), "TE", bp.phone]),
        ("NM1", ["40", "2", up(bp.receiver_name), None, None, None, None, "46", bp.receiver_id]),
        ("HL", ["1", None, "20", "1"]),
        ("PRV", ["BI", "PXC", bp.taxonomy]),
        ("NM1", ["85", "2", up(bp.name), None, None, None, None, "XX", bp.npi]),
        ("N3", [up(a.line1), up(a.line2) or None]),
        ("N4", [up(a.city), up(a.state), a.zip]),
        ("REF", ["EI", bp.ein]),
    ]
    if bp.pay_to is not None:  # 2010AB
        p = bp.pay_to
        segments += [
            ("NM1", ["87", "2"]),
            ("N3", [up(p.line1), up(p.line2) or None]),
            ("N4", [up(p.city), up(p.state), p.zip]),
        ]
    return segments


def _check_header(practice: Practice, d: Delimiters) -> None:
    """Raise the writer's ``X12WriteError`` now for a practice value it would refuse later."""
    bp = practice.billing_provider
    for tag, elements in _header_segments(practice):
        format_segment(tag, elements, d)
    for name, ident in (("ISA06", bp.submitter_etin), ("ISA08", bp.receiver_id)):
        if not ident or len(ident) > 15:
            raise X12WriteError(f"{name} {ident!r} must be 1-15 characters")


def _claims(writer: X12Writer, ts: TransactionWriter, chunk: Sequence[_Rendered]) -> list[str]:
    """Writes pre-rendered claims straight through, keeping the writer's SE01 count right."""
    d = writer.delimiters
    terminator = d.segment + writer.newline
    e = d.element
    parts: list[str] = []
    hl = 1
    for r in chunk:
        hl += 1
        sub_hl = hl
        parts.append(f"HL{e}{sub_hl}{e}1{e}22{e}{'1' if r.patient else '0'}")
        parts.extend(r.subscriber)
        if r.patient is not None:
            hl += 1
            parts.append(f"HL{e}{hl}{e}{sub_hl}{e}23{e}0")
            parts.extend(r.patient)
        parts.extend(r.claim)
    writer.out.write(terminator.join(parts) + terminator)
    ts.count += len(parts)
    return [r.record.patient_control_number for r in chunk]
