"""270 eligibility inquiries (005010X279A1) for the appointments on one date.

One inquiry per patient and payer (a patient with secondary coverage gets one per
payer), asking for the union of that day's service types (``30`` by default) with
``DTP*291`` = the appointment date. A dependent is sent in 2000D only when they have
no member id of their own; otherwise the patient is the subscriber (2000C). Each
inquiry carries a trace ``TRN*1*<ISA13>-<n>*1<EIN>`` that is unique because ISA13
never repeats; :attr:`Build270Result.traces` maps it back to (patient, payer,
coverage) for matching the 271.

Layout: one interchange, one HS group, one transaction set per payer and at most
``max_inquiries_per_transaction`` inquiries: ``BHT / 2000A payer / 2000B provider /
2000C subscriber [/ 2000D dependent]``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TextIO

from pydantic import BaseModel

from pipeline.build.common import (
    CHARSET_MESSAGE,
    d8,
    no_cyclic_gc,
    patient_person,
    subscriber_of,
    up,
)
from pipeline.build.integrity import conflict_message, control_fields
from pipeline.build.scrub import Finding, npi_is_valid
from pipeline.errors import X12WriteError
from pipeline.practice.model import Appointment, Coverage, Practice
from pipeline.practice.records import InquiryRecord, Person
from pipeline.x12.segments import Delimiters
from pipeline.x12.writer import (
    ControlNumbers,
    Element,
    GroupWriter,
    Repeated,
    TransactionWriter,
    X12Writer,
    format_segment,
)

__all__ = ["IMPLEMENTATION", "Build270Result", "TraceKey", "build_270", "inquiries_for"]

IMPLEMENTATION = "005010X279A1"
MAX_INQUIRIES_PER_TRANSACTION = 99
# INS02 for a 2100D dependent: 01 spouse, 19 child, 34 other adult.
_DEPENDENT_RELATIONSHIP = {"01": "01", "19": "19"}


@dataclass(frozen=True, slots=True)
class TraceKey:
    """What a 270 trace number stands for."""

    patient_id: str
    payer_id: str
    coverage_id: str


@dataclass
class Build270Result:
    inquiries: list[InquiryRecord]
    """Inquiries written, in file order (trace numbers filled in)."""
    findings: list[Finding]
    """Inquiries that could not be built (``encounter_id`` holds the appointment id)."""
    interchange_control_number: str = ""
    transactions: dict[str, list[str]] = field(default_factory=dict)
    """ST02 -> the trace numbers in that transaction set."""

    @property
    def traces(self) -> dict[str, TraceKey]:
        return {
            i.trace_number: TraceKey(i.patient_id, i.payer_id, i.coverage_id)
            for i in self.inquiries
        }

    @property
    def held(self) -> set[str]:
        return {f.encounter_id for f in self.findings if f.severity == "error"}


def inquiries_for(
    practice: Practice, on: date | None
) -> tuple[list[tuple[Appointment, Coverage, InquiryRecord]], list[Finding]]:
    """The inquiries (without trace numbers yet) for appointments on ``on``, and findings.

    ``on=None``: every appointment of ``practice``, one inquiry per patient and date (the
    nightly also asks about the dates of service it is about to bill).
    """
    by_patient: dict[tuple[str, date], list[Appointment]] = defaultdict(list)
    for appointment in practice.appointments:
        if on is None or appointment.date == on:
            by_patient[(appointment.patient_id, appointment.date)].append(appointment)
    bp = practice.billing_provider
    found: list[tuple[Appointment, Coverage, InquiryRecord]] = []
    findings: list[Finding] = []
    for (patient_id, day), appointments in by_patient.items():
        first = appointments[0]
        types = tuple(dict.fromkeys(t for a in appointments for t in a.service_types)) or ("30",)
        coverages = sorted(practice.coverages_of(patient_id), key=lambda c: c.priority)
        if not coverages:
            findings.append(_finding(first, "coverage", "coverage_missing", "self-pay: no 270"))
            continue
        patient = practice.patients[patient_id]
        problems = _data_problems(practice, patient_id, coverages)
        if problems:
            findings += [_finding(first, *problem) for problem in problems]
            continue
        for coverage in coverages:
            payer = practice.payers[coverage.payer_id]
            subscriber, member_id, relationship = subscriber_of(coverage, patient)
            if not member_id:
                findings.append(_finding(first, "coverage.member_id", "member_id_missing", ""))
                continue
            dependent = None if relationship == "18" else _name_and_dob(patient_person(patient))
            found.append((first, coverage, InquiryRecord(
                trace_number="",
                trace_originator=f"1{bp.ein}",
                payer_id=payer.payer_id,
                payer_name=up(payer.name),
                provider_npi=bp.npi,
                provider_name=up(bp.name),
                member_id=member_id,
                subscriber=_name_and_dob(subscriber),
                service_types=types,
                service_date=day,
                dependent=dependent,
                relationship=_DEPENDENT_RELATIONSHIP.get(relationship, "34")
                if dependent
                else "18",
                group_number=coverage.group_number or "",
                patient_id=patient_id,
                coverage_id=coverage.coverage_id,
            )))  # fmt: skip
    return found, findings


def _data_problems(
    practice: Practice, patient_id: str, coverages: Sequence[Coverage]
) -> list[tuple[str, str, str]]:
    """An ambiguous patient or a control character: no inquiry (the scrubber's rules)."""
    conflict = conflict_message(practice, patient_id)
    found = [("patient_id", "patient_conflict", conflict)] if conflict else []
    sources: list[tuple[BaseModel, str]] = [(practice.patients[patient_id], "patient")]
    sources += [(c, f"coverage[{c.priority}]") for c in coverages]
    for model, prefix in sources:
        found += [
            (field, "control_character", f"holds the control character {code_point}")
            for field, code_point in control_fields(model, prefix)
        ]
    return found


def _name_and_dob(p: Person) -> Person:
    """The 270 sends name, id and (when known) DOB and sex: no address."""
    return Person(p.last_name, p.first_name, p.middle_name, p.dob, p.sex)


def _finding(appointment: Appointment, field: str, rule: str, message: str) -> Finding:
    return Finding(appointment.appointment_id, "", field, rule, "error", message or rule)


@no_cyclic_gc()
def build_270(
    practice: Practice,
    out: TextIO,
    *,
    on: date | None,
    control_numbers: ControlNumbers,
    now: datetime | None = None,
    usage: str = "P",
    delimiters: Delimiters | None = None,
    max_inquiries_per_transaction: int = MAX_INQUIRIES_PER_TRANSACTION,
) -> Build270Result:
    """Write the 270s for appointments on ``on`` (``None``: all of them, each on its date);
    nothing is written when there are none."""
    d = delimiters or Delimiters()
    planned, findings = inquiries_for(practice, on)
    bp = practice.billing_provider
    if not npi_is_valid(bp.npi):
        findings += [_finding(a, "billing_provider.npi", "npi_check_digit", bp.npi)
                     for a, _, _ in planned]  # fmt: skip
        planned = []
    header_problems = control_fields(bp, "billing_provider")  # in every 270's header
    if header_problems:
        findings += [
            _finding(a, field, "control_character", f"holds the control character {code_point}")
            for a, _, _ in planned
            for field, code_point in header_problems
        ]
        planned = []
    result = Build270Result([], findings)
    if not planned:
        return result
    isa13 = control_numbers.next_interchange()
    by_payer: dict[str, list[tuple[int, Appointment, InquiryRecord]]] = defaultdict(list)
    for n, (appointment, _coverage, inquiry) in enumerate(planned, start=1):
        by_payer[inquiry.payer_id].append((n, appointment, inquiry))
    del planned
    unwritable: list[tuple[int, Finding]] = []
    # One payer's segments rendered at a time (a big night's are most of the build's memory);
    # the interchange is opened by the first payer with something to send.
    with ExitStack() as opened:
        gs: GroupWriter | None = None
        writer = X12Writer(out, control_numbers=control_numbers, delimiters=d, now=now)
        for payer_id in sorted(by_payer):
            items = _rendered(by_payer.pop(payer_id), isa13, d, unwritable)
            if not items:
                continue
            if gs is None:
                isa = opened.enter_context(writer.interchange(
                    sender=("ZZ", bp.submitter_etin), receiver=("ZZ", bp.receiver_id),
                    usage=usage, control_number=isa13,
                ))  # fmt: skip
                result.interchange_control_number = isa.control_number
                gs = opened.enter_context(
                    isa.group("HS", bp.submitter_etin, bp.receiver_id, IMPLEMENTATION)
                )
            for start in range(0, len(items), max_inquiries_per_transaction):
                chunk = items[start : start + max_inquiries_per_transaction]
                with gs.transaction("270") as ts:
                    _write_set(writer, ts, practice, chunk, f"{isa13}{ts.control_number}")
                    result.transactions[ts.control_number] = [i.trace_number for i, _ in chunk]
                result.inquiries += [i for i, _ in chunk]
    findings += [finding for _, finding in sorted(unwritable, key=lambda u: u[0])]
    return result


def _rendered(
    planned: list[tuple[int, Appointment, InquiryRecord]],
    isa13: int,
    d: Delimiters,
    unwritable: list[tuple[int, Finding]],
) -> list[tuple[InquiryRecord, list[str]]]:
    """One payer's inquiries with their trace numbers and segment texts, in file order; one
    that cannot be written goes to ``unwritable`` (with its place in the night's order)."""
    out: list[tuple[InquiryRecord, list[str]]] = []
    for n, appointment, planned_inquiry in planned:
        inquiry = _with_trace(planned_inquiry, f"{isa13}-{n}")
        try:
            segments = _render(inquiry, d)
            if not all(text.isascii() and text.isprintable() for text in segments):
                raise X12WriteError(f"value {CHARSET_MESSAGE}")
            out.append((inquiry, segments))
        except X12WriteError as exc:
            message = str(exc)
            unwritable.append((n, Finding(appointment.appointment_id, "", message.split(" ", 1)[0],
                                          "x12_value", "error", message)))  # fmt: skip
    return out


def _with_trace(inquiry: InquiryRecord, trace: str) -> InquiryRecord:
    return replace(inquiry, trace_number=trace)


def _render(i: InquiryRecord, d: Delimiters) -> list[str]:
    """2000C (after its HL) [+ 2000D after its HL, separated by ``None``]: segment texts."""
    out: list[str] = []

    def s(tag: str, *elements: Element) -> None:
        out.append(format_segment(tag, elements, d))

    sub = i.subscriber
    dependent = i.dependent
    trn = ("TRN", "1", i.trace_number, i.trace_originator)
    if dependent is None:
        s(*trn)
    s("NM1", "IL", "1", sub.last_name, sub.first_name, sub.middle_name or None, None, None,
      "MI", i.member_id)  # fmt: skip
    if i.group_number:
        s("REF", "6P", i.group_number)
    if sub.dob:
        s("DMG", "D8", d8(sub.dob), sub.sex or None)
    if dependent is None:
        s("DTP", "291", "D8", d8(i.service_date))
        s("EQ", Repeated(i.service_types))  # EQ01 repeats (X279A1: up to 99 service types)
        return out
    out.append("")  # marks where the 2000D HL goes
    s(*trn)
    s("NM1", "03", "1", dependent.last_name, dependent.first_name, dependent.middle_name or None)
    s("DMG", "D8", d8(dependent.dob) if dependent.dob else None, dependent.sex or None)
    s("INS", "N", i.relationship)
    s("DTP", "291", "D8", d8(i.service_date))
    s("EQ", Repeated(i.service_types))
    return out


def _write_set(
    writer: X12Writer,
    ts: TransactionWriter,
    practice: Practice,
    chunk: Sequence[tuple[InquiryRecord, list[str]]],
    reference: str,
) -> None:
    bp = practice.billing_provider
    now = writer.now
    first = chunk[0][0]
    ts.segment("BHT", "0022", "13", reference, d8(now.date()), now.strftime("%H%M"))
    ts.segment("HL", "1", None, "20", "1")
    ts.segment("NM1", "PR", "2", first.payer_name, None, None, None, None, "PI", first.payer_id)
    ts.segment("HL", "2", "1", "21", "1")
    ts.segment("NM1", "1P", "2", up(bp.name), None, None, None, None, "XX", bp.npi)
    e = writer.delimiters.element
    parts: list[str] = []
    hl = 2
    for inquiry, segments in chunk:
        hl += 1
        subscriber_hl = hl
        child = "1" if inquiry.dependent is not None else "0"
        parts.append(f"HL{e}{subscriber_hl}{e}2{e}22{e}{child}")
        for text in segments:
            if text:
                parts.append(text)
            else:
                hl += 1
                parts.append(f"HL{e}{hl}{e}{subscriber_hl}{e}23{e}0")
    terminator = writer.delimiters.segment + writer.newline
    writer.out.write(terminator.join(parts) + terminator)
    ts.count += len(parts)
