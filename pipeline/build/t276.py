"""276 claim status requests (005010X212) for claims the payer has not answered.

A request is made from the 837P claim as it was sent (:func:`status_request`): the payer looks
the claim up by what it received — member id, patient control number (REF*EJ), total charge
(AMT*T3), service dates (DTP*472) and, when its 277CA gave one, its own claim number (REF*1K).

Layout: one interchange, one HR group, one transaction set per payer:
``BHT / 2000A payer / 2000B receiver (the submitter, NM1*41 46) / 2000C provider (XX NPI) /
2000D subscriber [DMG when the patient] / 2200D claim`` — or, when the patient is a dependent
without a member id of their own, ``2000D subscriber / 2000E patient (DMG, NM1*QC) / 2200E``.
Each claim gets its own 2000D, and a trace ``TRN*1*<ISA13>-<n>`` that is unique because ISA13
never repeats; the 277 echoes it in ``TRN*2``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TextIO

from pipeline.build.common import d8, money
from pipeline.errors import X12WriteError
from pipeline.practice.records import ClaimRecord, Person, StatusRequestRecord
from pipeline.x12.segments import Delimiters
from pipeline.x12.writer import (
    ControlNumbers,
    Element,
    TransactionWriter,
    X12Writer,
    format_segment,
)

__all__ = ["IMPLEMENTATION", "Build276Result", "build_276", "status_request"]

IMPLEMENTATION = "005010X212"

_Segment = tuple[str, tuple[Element, ...]]


@dataclass(frozen=True, slots=True)
class _Rendered:
    """One request's segments: 2000D (after its HL), 2000E (None: patient is the subscriber),
    and the 2200D/2200E claim loop."""

    request: StatusRequestRecord
    subscriber: list[_Segment]
    dependent: list[_Segment] | None
    claim: list[_Segment]

    def all(self) -> list[_Segment]:
        return [*self.subscriber, *(self.dependent or []), *self.claim]


@dataclass
class Build276Result:
    requests: list[StatusRequestRecord] = field(default_factory=list)
    """Requests written, in file order (trace numbers filled in)."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(patient control number, reason) of claims the writer refused a value of."""
    interchange_control_number: str = ""
    transactions: dict[str, list[str]] = field(default_factory=dict)
    """ST02 -> the trace numbers in that transaction set."""

    @property
    def traces(self) -> dict[str, str]:
        """Trace number -> patient control number."""
        return {r.trace_number: r.patient_control_number for r in self.requests}


def status_request(
    claim: ClaimRecord, *, payer_claim_control_number: str = ""
) -> StatusRequestRecord:
    """The 276 request for an 837P claim as sent (no trace number yet)."""
    dependent = claim.relationship != "18"
    return StatusRequestRecord(
        trace_number="",
        payer_id=claim.payer_id,
        payer_name=claim.payer_name,
        provider_npi=claim.billing_npi,
        provider_name=claim.billing_name,
        member_id=claim.member_id,
        subscriber=_named(claim.subscriber, with_dob=not dependent),
        patient_control_number=claim.patient_control_number,
        charge_amount=claim.total_charge,
        service_date_start=claim.service_date_start,
        service_date_end=claim.service_date_end,
        patient=_named(claim.patient, with_dob=True) if dependent else None,
        payer_claim_control_number=payer_claim_control_number,
    )


def _named(p: Person, *, with_dob: bool) -> Person:
    """Name (and DOB/sex where the 276 carries them): never an address."""
    if not with_dob:
        return Person(p.last_name, p.first_name, p.middle_name)
    sex = p.sex if p.sex in ("F", "M") else ""  # X212 DMG03 knows F and M only
    return Person(p.last_name, p.first_name, p.middle_name, p.dob, sex)


def build_276(
    requests: Sequence[StatusRequestRecord],
    out: TextIO,
    *,
    submitter: tuple[str, str],
    receiver_id: str,
    control_numbers: ControlNumbers,
    now: datetime | None = None,
    usage: str = "P",
    delimiters: Delimiters | None = None,
) -> Build276Result:
    """Write one 276 interchange for ``requests``; nothing is written when there are none.

    ``submitter`` is (name, ETIN): ISA06/GS02 and the 2100B information receiver. A request
    holding a value the writer refuses is skipped (``Build276Result.skipped``), never half
    written.
    """
    d = delimiters or Delimiters()
    result = Build276Result()
    if not requests:
        return result
    isa13 = control_numbers.next_interchange()
    by_payer: dict[str, list[_Rendered]] = defaultdict(list)
    for n, request in enumerate(requests, start=1):
        request = replace(request, trace_number=f"{isa13:09d}-{n}")
        try:
            rendered = _render(request)
            for tag, elements in rendered.all():
                format_segment(tag, elements, d)
        except X12WriteError as exc:
            result.skipped.append((request.patient_control_number, str(exc)))
            continue
        by_payer[request.payer_id].append(rendered)
    if not by_payer:
        return result
    name, etin = submitter
    writer = X12Writer(out, control_numbers=control_numbers, delimiters=d, now=now)
    with writer.interchange(
        sender=("ZZ", etin), receiver=("ZZ", receiver_id), usage=usage, control_number=isa13
    ) as isa:
        result.interchange_control_number = isa.control_number
        with isa.group("HR", etin, receiver_id, IMPLEMENTATION) as gs:
            for payer_id in sorted(by_payer):
                items = by_payer[payer_id]
                with gs.transaction("276") as ts:
                    reference = f"{isa.control_number}{ts.control_number}"
                    _write_set(ts, items, (name, etin), writer.now, reference)
                    result.transactions[ts.control_number] = [r.request.trace_number for r in items]
                result.requests += [r.request for r in items]
    return result


def _write_set(
    ts: TransactionWriter,
    items: list[_Rendered],
    submitter: tuple[str, str],
    now: datetime,
    reference: str,
) -> None:
    first = items[0].request
    ts.segment("BHT", "0010", "13", reference, d8(now.date()), now.strftime("%H%M"))
    ts.segment("HL", "1", None, "20", "1")
    ts.segment("NM1", "PR", "2", first.payer_name, None, None, None, None, "PI", first.payer_id)
    ts.segment("HL", "2", "1", "21", "1")
    ts.segment("NM1", "41", "2", submitter[0], None, None, None, None, "46", submitter[1])
    by_provider: dict[tuple[str, str], list[_Rendered]] = defaultdict(list)
    for item in items:
        by_provider[(item.request.provider_npi, item.request.provider_name)].append(item)
    hl = 2
    for (npi, provider_name), claims in by_provider.items():
        hl += 1
        provider_hl = hl
        ts.segment("HL", str(provider_hl), "2", "19", "1")
        ts.segment("NM1", "1P", "2", provider_name, None, None, None, None, "XX", npi)
        for item in claims:
            hl += 1
            subscriber_hl = hl
            child = "0" if item.dependent is None else "1"
            ts.segment("HL", str(subscriber_hl), str(provider_hl), "22", child)
            _write(ts, item.subscriber)
            if item.dependent is not None:
                hl += 1
                ts.segment("HL", str(hl), str(subscriber_hl), "23")
                _write(ts, item.dependent)
            _write(ts, item.claim)


def _write(ts: TransactionWriter, segments: list[_Segment]) -> None:
    for tag, elements in segments:
        ts.segment(tag, *elements)


def _render(request: StatusRequestRecord) -> _Rendered:
    sub = request.subscriber
    subscriber: list[_Segment] = []
    dmg = _dmg(sub) if request.patient is None else None
    if dmg:  # 2000D DMG only when the subscriber is the patient
        subscriber.append(dmg)
    subscriber.append((
        "NM1",
        ("IL", "1", sub.last_name, sub.first_name or None, sub.middle_name or None, None, None,
         "MI", request.member_id),
    ))  # fmt: skip
    dependent = None
    if request.patient is not None:
        patient = request.patient
        dmg = _dmg(patient)
        if dmg is None:
            raise X12WriteError("DMG02 (2000E) patient birth date is required for a dependent")
        first, middle = patient.first_name or None, patient.middle_name or None
        dependent = [dmg, ("NM1", ("QC", "1", patient.last_name, first, middle))]
    return _Rendered(request, subscriber, dependent, _claim(request))


def _dmg(person: Person) -> _Segment | None:
    if person.dob is None:
        return None
    sex = person.sex if person.sex in ("F", "M") else None
    return ("DMG", ("D8", d8(person.dob), sex))


def _claim(request: StatusRequestRecord) -> list[_Segment]:
    """2200D/2200E: TRN, REF*1K (when known), REF*EJ, AMT*T3, DTP*472."""
    start, end = request.service_date_start, request.service_date_end
    dates: tuple[Element, ...] = (
        ("472", "D8", d8(start)) if start == end else ("472", "RD8", f"{d8(start)}-{d8(end)}")
    )
    out: list[_Segment] = [("TRN", ("1", request.trace_number))]
    if request.payer_claim_control_number:
        out.append(("REF", ("1K", request.payer_claim_control_number)))
    out.append(("REF", ("EJ", request.patient_control_number)))
    out.append(("AMT", ("T3", money(request.charge_amount))))
    out.append(("DTP", dates))
    return out
