"""Read an 837P (005010X222A1) back into :class:`~pipeline.practice.records.ClaimRecord` objects.

Made for the files our builder writes (and what the clearinghouse simulator
receives): loops are recognised by HL03 and NM101 as the guide defines them, one
pass, one claim at a time. Segments the record does not carry are skipped.
Unreadable input raises :class:`~pipeline.errors.X12SyntaxError` (from the reader);
a value that is not a number or date raises it too, naming the segment.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from pipeline.errors import X12SyntaxError
from pipeline.parse.common import ccyymmdd
from pipeline.practice.records import (
    Adjustment,
    ClaimLine,
    ClaimRecord,
    LineAdjudication,
    OtherPayer,
    Person,
    ServiceFacilityLocation,
)
from pipeline.x12.reader import BATCH_CHUNK_SIZE, Source, read_segments
from pipeline.x12.segments import Segment

__all__ = ["iter_837p", "read_837p"]


def read_837p(source: Source) -> list[ClaimRecord]:
    """Every claim in ``source`` (path, bytes or binary stream), in file order."""
    return list(iter_837p(source))


def iter_837p(source: Source) -> Iterator[ClaimRecord]:
    """Claims one by one (constant memory for large files)."""
    state = _State()
    # Small reads: a 1 MiB read makes ~40k segments at once, and the values a caller keeps
    # of them then pin memory that the rest (let go) leaves behind; smaller is faster too.
    for seg in read_segments(source, chunk_size=BATCH_CHUNK_SIZE):
        yield from state.feed(seg)
    yield from state.flush()


def _bad(seg: Segment, problem: str) -> X12SyntaxError:
    env = seg.envelope
    return X12SyntaxError(problem, source=env.source, segment_number=seg.number, offset=seg.offset)


def _amount(seg: Segment, index: int) -> Decimal:
    try:
        return Decimal(seg[index])
    except InvalidOperation as exc:
        size = len(seg[index])
        raise _bad(seg, f"{seg.id}{index:02d} ({size} characters) is not a number") from exc


def _date(seg: Segment, index: int) -> date:
    try:
        return ccyymmdd(seg[index][:8])
    except ValueError as exc:
        size = len(seg[index])
        raise _bad(seg, f"{seg.id}{index:02d} ({size} characters) is not a date") from exc


def _person(seg: Segment) -> dict[str, Any]:
    return {"last_name": seg[3], "first_name": seg[4], "middle_name": seg[5]}


@dataclass
class _Claim:
    values: dict[str, Any]
    lines: list[dict[str, Any]] = field(default_factory=list)
    others: list[dict[str, Any]] = field(default_factory=list)


class _State:
    def __init__(self) -> None:
        self.billing: dict[str, str] = {}
        self.subscriber: dict[str, Any] = {}
        self.patient: dict[str, Any] | None = None
        self.party: dict[str, Any] | None = None  # where N3/N4/DMG go
        self.claim: _Claim | None = None
        self.loop = ""
        # Each distinct amount or date text read once: a file repeats a few hundred of them
        # across thousands of claims, and a reader that keeps its records keeps one object
        # per value instead of one per cell. Both types are immutable, so sharing is safe.
        self._amounts: dict[str, Decimal] = {}
        self._dates: dict[str, date] = {}

    def amount_of(self, seg: Segment, index: int) -> Decimal:
        found = self._amounts.get(seg[index])
        if found is None:
            found = self._amounts[seg[index]] = _amount(seg, index)
        return found

    def date_of(self, seg: Segment, index: int) -> date:
        found = self._dates.get(seg[index])
        if found is None:
            found = self._dates[seg[index]] = _date(seg, index)
        return found

    def flush(self) -> Iterator[ClaimRecord]:
        if self.claim is not None:
            yield self._finish(self.claim)
            self.claim = None

    def feed(self, seg: Segment) -> Iterator[ClaimRecord]:
        tag = seg.id
        if tag in {"HL", "SE", "CLM"}:
            yield from self.flush()
        handler = _HANDLERS.get(tag)
        if handler is not None:
            handler(self, seg)

    # -- hierarchy ------------------------------------------------------------------------
    def hl(self, seg: Segment) -> None:
        level = seg[3]
        if level == "20":
            self.billing, self.loop = {}, "2000A"
        elif level == "22":
            self.subscriber, self.patient, self.loop = {}, None, "2000B"
        elif level == "23":
            self.patient, self.loop = {}, "2000C"
        self.party = None

    def sbr(self, seg: Segment) -> None:
        if self.claim is not None:  # 2320 other subscriber
            self.claim.others.append({
                "responsibility": seg[1], "relationship": seg[2], "group_number": seg[3],
                "claim_filing_indicator": seg[9], "adjustments": [],
            })  # fmt: skip
            self.loop = "2320"
            return
        self.subscriber.update(
            responsibility=seg[1], relationship=seg[2] or "", group_number=seg[3],
            claim_filing_indicator=seg[9],
        )  # fmt: skip

    def pat(self, seg: Segment) -> None:
        if self.patient is not None:
            self.patient["relationship"] = seg[1]

    def nm1(self, seg: Segment) -> None:
        entity = seg[1]
        self.party = None
        if entity == "85":
            self.billing.update(name=seg[3], npi=seg[9])
        elif entity == "IL" and self.claim is not None:  # 2330A
            other = self.claim.others[-1]
            other.update(member_id=seg[9], subscriber=Person(seg[3], seg[4]))
        elif entity == "IL":  # 2010BA
            self.subscriber.update(member_id=seg[9], person=_person(seg))
            self.party = self.subscriber["person"]
        elif entity == "PR" and self.claim is not None:  # 2330B
            self.claim.others[-1].update(payer_name=seg[3], payer_id=seg[9])
            self.loop = "2330B"
        elif entity == "PR":  # 2010BB
            self.subscriber.update(payer_name=seg[3], payer_id=seg[9])
        elif entity == "QC" and self.patient is not None:  # 2010CA
            self.patient["person"] = _person(seg)
            self.party = self.patient["person"]
        elif entity == "DN" and self.claim is not None and self.loop != "2400":
            self.claim.values.update(referring_npi=seg[9], referring_name=(seg[3], seg[4]))
        elif entity == "82" and self.claim is not None and self.loop != "2400":
            self.claim.values.update(rendering_npi=seg[9], rendering_name=(seg[3], seg[4]))
            self.loop = "2310B"
        elif entity == "77" and self.claim is not None and self.loop != "2400":  # 2310C
            facility = {"name": seg[3], "npi": seg[9]}
            self.claim.values["service_facility"] = facility
            self.party = facility
            self.loop = "2310C"

    def n3(self, seg: Segment) -> None:
        if self.party is not None:
            self.party.update(address_line1=seg[1], address_line2=seg[2])

    def n4(self, seg: Segment) -> None:
        if self.party is not None:
            self.party.update(city=seg[1], state=seg[2], zip=seg[3])

    def dmg(self, seg: Segment) -> None:
        if self.party is not None:
            self.party.update(dob=self.date_of(seg, 2) if seg[2] else None, sex=seg[3])

    def ref(self, seg: Segment) -> None:
        qualifier = seg[1]
        if qualifier == "EI" and self.loop == "2000A":
            self.billing["tax_id"] = seg[2]
            return
        claim = self.claim
        if claim is None:
            return
        if self.loop == "2400":
            line = claim.lines[-1]
            if qualifier == "6R":
                line["line_control_number"] = seg[2]
            elif qualifier == "G1":
                line["prior_auth"] = seg[2]
            return
        key = {"9F": "referral_number", "G1": "prior_auth", "F8": "original_claim_number"}
        if qualifier in key and self.loop == "2300":
            claim.values[key[qualifier]] = seg[2]
        elif qualifier == "F8" and self.loop == "2330B":
            claim.others[-1]["payer_claim_number"] = seg[2]

    def prv(self, seg: Segment) -> None:
        if seg[1] == "PE" and self.claim is not None and self.loop == "2310B":
            self.claim.values["rendering_taxonomy"] = seg[3]

    # -- claim ----------------------------------------------------------------------------
    def clm(self, seg: Segment) -> None:
        pos, _qualifier, frequency = [*seg.composite(5), "", "", ""][:3]
        related = seg.composite(11)
        values: dict[str, Any] = {
            "patient_control_number": seg[1],
            "total_charge": self.amount_of(seg, 2),
            "place_of_service": pos,
            "frequency": frequency,
            "provider_signature": seg[6] == "Y",
            "assignment": seg[7],
            "benefits_assignment": seg[8],
            "release_of_information": seg[9],
            "accident_cause": related[0] if related else "",
            "accident_state": related[3] if len(related) > 3 else "",
            "source_file": seg.envelope.source,
            "interchange_control_number": seg.envelope.interchange_control_number,
            "group_control_number": seg.envelope.group_control_number,
            "transaction_control_number": seg.envelope.transaction_control_number,
        }
        self.claim = _Claim(values)
        self.loop = "2300"
        self.party = None

    def dtp(self, seg: Segment) -> None:
        claim = self.claim
        if claim is None:
            return
        qualifier = seg[1]
        if qualifier == "472" and self.loop == "2400":
            claim.lines[-1]["service_date"] = self.date_of(seg, 3)
        elif qualifier == "573" and self.loop == "2330B":
            claim.others[-1]["adjudication_date"] = self.date_of(seg, 3)
        elif qualifier == "573" and self.loop == "2430":
            claim.lines[-1]["adjudications"][-1]["adjudication_date"] = self.date_of(seg, 3)
        elif qualifier == "431" and self.loop == "2300":
            claim.values["onset_date"] = self.date_of(seg, 3)
        elif qualifier == "439" and self.loop == "2300":
            claim.values["accident_date"] = self.date_of(seg, 3)

    def hi(self, seg: Segment) -> None:
        if self.claim is None:
            return
        codes = self.claim.values.setdefault("diagnoses", [])
        for index in range(1, len(seg)):
            qualifier, _, code = seg[index].partition(seg.envelope.delimiters.component)
            if qualifier in {"ABK", "ABF"}:
                codes.append(code)

    def cas(self, seg: Segment) -> None:
        if self.claim is None or self.loop not in {"2320", "2430"}:
            return
        if self.loop == "2320":
            adjustments = self.claim.others[-1]["adjustments"]
        else:
            adjustments = self.claim.lines[-1]["adjudications"][-1]["adjustments"]
        for index in range(2, len(seg), 3):
            if seg[index]:
                adjustments.append(Adjustment(seg[1], seg[index], self.amount_of(seg, index + 1)))

    def amt(self, seg: Segment) -> None:
        if self.claim is not None and self.loop == "2320" and seg[1] == "D":
            self.claim.others[-1]["paid_amount"] = self.amount_of(seg, 2)

    def oi(self, seg: Segment) -> None:
        if self.claim is not None and self.loop == "2320":
            self.claim.others[-1].update(benefits_assignment=seg[3], release_of_information=seg[6])

    def svd(self, seg: Segment) -> None:
        if self.claim is None or not self.claim.lines:
            raise _bad(seg, "SVD outside a service line")
        procedure = seg.composite(3)
        self.claim.lines[-1].setdefault("adjudications", []).append({
            "payer_id": seg[1], "paid_amount": self.amount_of(seg, 2),
            "procedure_code": procedure[1] if len(procedure) > 1 else "",
            "modifiers": tuple(m for m in procedure[2:6] if m),
            "paid_units": self.amount_of(seg, 5), "adjustments": [],
        })  # fmt: skip
        self.loop = "2430"

    def lx(self, seg: Segment) -> None:
        if self.claim is None:
            raise _bad(seg, "LX outside a claim")
        self.claim.lines.append({"line_number": int(seg[1]) if seg[1].isdigit() else 0})
        self.loop = "2400"

    def sv1(self, seg: Segment) -> None:
        if self.claim is None or not self.claim.lines:
            raise _bad(seg, "SV1 outside a service line")
        procedure = seg.composite(1)
        self.claim.lines[-1].update(
            procedure_code=procedure[1] if len(procedure) > 1 else "",
            modifiers=tuple(m for m in procedure[2:6] if m),
            charge=self.amount_of(seg, 2),
            units=self.amount_of(seg, 4),
            place_of_service=seg[5],
            diagnosis_pointers=tuple(int(p) for p in seg.composite(7) if p.isdigit()),
            emergency=seg[9] == "Y",
        )

    def lin(self, seg: Segment) -> None:
        if self.claim is not None and self.loop == "2400" and seg[2] == "N4":
            self.claim.lines[-1]["ndc"] = seg[3]

    def ctp(self, seg: Segment) -> None:
        if self.claim is not None and self.loop == "2400":
            line = self.claim.lines[-1]
            line["ndc_quantity"] = self.amount_of(seg, 4) if seg[4] else None
            line["ndc_unit"] = seg.component(5, 1)

    # -- assembling -----------------------------------------------------------------------
    def _finish(self, claim: _Claim) -> ClaimRecord:
        sub = self.subscriber
        subscriber = Person(**sub.get("person", {"last_name": "", "first_name": ""}))
        relationship = sub.get("relationship") or ""
        patient = subscriber
        if self.patient is not None:
            relationship = self.patient.get("relationship", "")
            patient = Person(**self.patient.get("person", {"last_name": "", "first_name": ""}))
        v = dict(claim.values)
        diagnoses = tuple(v.pop("diagnoses", ()))
        facility = v.pop("service_facility", None)
        lines = tuple(ClaimLine(**_line_defaults(line, v)) for line in claim.lines)
        others = tuple(
            OtherPayer(
                payer_id=o.get("payer_id", ""), payer_name=o.get("payer_name", ""),
                responsibility=o["responsibility"],
                claim_filing_indicator=o["claim_filing_indicator"],
                member_id=o.get("member_id", ""), subscriber=o.get("subscriber", Person("", "")),
                relationship=o["relationship"], group_number=o["group_number"],
                paid_amount=o.get("paid_amount"),
                adjudication_date=o.get("adjudication_date"),
                adjustments=tuple(o["adjustments"]),
                benefits_assignment=o.get("benefits_assignment", ""),
                release_of_information=o.get("release_of_information", ""),
                payer_claim_number=o.get("payer_claim_number", ""),
            )
            for o in claim.others
        )  # fmt: skip
        return ClaimRecord(
            **v,
            diagnoses=diagnoses,
            payer_id=sub.get("payer_id", ""),
            payer_name=sub.get("payer_name", ""),
            responsibility=sub.get("responsibility", ""),
            claim_filing_indicator=sub.get("claim_filing_indicator", ""),
            member_id=sub.get("member_id", ""),
            subscriber=subscriber,
            relationship=relationship,
            patient=patient,
            group_number=sub.get("group_number", ""),
            billing_npi=self.billing.get("npi", ""),
            billing_tax_id=self.billing.get("tax_id", ""),
            billing_name=self.billing.get("name", ""),
            service_facility=_facility(facility) if facility is not None else None,
            lines=lines,
            other_payers=others,
        )


def _facility(values: dict[str, str]) -> ServiceFacilityLocation:
    return ServiceFacilityLocation(
        name=values["name"], npi=values["npi"],
        address_line1=values.get("address_line1", ""),
        address_line2=values.get("address_line2", ""),
        city=values.get("city", ""), state=values.get("state", ""), zip=values.get("zip", ""),
    )  # fmt: skip


def _line_adjudication(values: dict[str, Any], claim: dict[str, Any]) -> LineAdjudication:
    if "adjudication_date" not in values:
        pcn = claim["patient_control_number"]
        problem = f"claim {pcn}: a 2430 SVD has no DTP*573 adjudication date"
        raise X12SyntaxError(problem, source=claim["source_file"])
    return LineAdjudication(**{**values, "adjustments": tuple(values["adjustments"])})


def _line_defaults(line: dict[str, Any], claim: dict[str, Any]) -> dict[str, Any]:
    line.setdefault("line_control_number", "")
    line.setdefault("procedure_code", "")
    line.setdefault("modifiers", ())
    line.setdefault("charge", Decimal("0"))
    line.setdefault("units", Decimal("0"))
    line.setdefault("diagnosis_pointers", ())
    line["adjudications"] = tuple(
        _line_adjudication(a, claim) for a in line.get("adjudications", ())
    )
    if "service_date" not in line:
        pcn = claim["patient_control_number"]
        problem = f"claim {pcn} line {line['line_number']} has no DTP*472 service date"
        raise X12SyntaxError(problem, source=claim["source_file"])
    return line


_HANDLERS = {
    "HL": _State.hl, "SBR": _State.sbr, "PAT": _State.pat, "NM1": _State.nm1, "N3": _State.n3,
    "N4": _State.n4, "DMG": _State.dmg, "REF": _State.ref, "PRV": _State.prv, "CLM": _State.clm,
    "DTP": _State.dtp, "HI": _State.hi, "CAS": _State.cas, "AMT": _State.amt, "LX": _State.lx,
    "SV1": _State.sv1, "LIN": _State.lin, "CTP": _State.ctp, "OI": _State.oi, "SVD": _State.svd,
}  # fmt: skip
