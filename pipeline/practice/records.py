"""Claim and inquiry records: what an 837P claim / a 270 inquiry says, flat and typed.

The builders derive these from the practice data and write them; the readers
(:mod:`pipeline.parse.t837p`, :mod:`pipeline.parse.t270`) read our files back into
the same records, so ``read_837p(build(...)) == built records`` is the round trip.
They carry everything a payer adjudicates; the clearinghouse simulator reads them.

Frozen dataclasses rather than pydantic models: tens of thousands are made per second.
Fields with ``compare=False`` describe where a record sat in a file, not what it says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

__all__ = [
    "Adjustment",
    "ClaimLine",
    "ClaimRecord",
    "InquiryRecord",
    "LineAdjudication",
    "OtherPayer",
    "Person",
    "ServiceFacilityLocation",
    "StatusRequestRecord",
]


@dataclass(frozen=True, slots=True)
class Person:
    """A subscriber or patient as named on the claim (upper-case, as sent)."""

    last_name: str
    first_name: str
    middle_name: str = ""
    dob: date | None = None
    sex: str = ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""


@dataclass(frozen=True, slots=True)
class ServiceFacilityLocation:
    """2310C: where the service was given (NM1*77, N3, N4), upper-case as sent."""

    name: str
    npi: str
    address_line1: str
    address_line2: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""


@dataclass(frozen=True, slots=True)
class Adjustment:
    """A CAS triple: group (CO/PR/OA/PI), reason (CARC), amount."""

    group_code: str
    reason_code: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class OtherPayer:
    """2320/2330A/2330B: another payer known to be involved in this claim (COB).

    On a secondary claim the primary, which has adjudicated it (``paid_amount`` set);
    on a primary claim the secondary, which has not (no AMT*D, CAS or dates).
    """

    payer_id: str
    payer_name: str
    responsibility: str
    """SBR01 of that payer: P, S or T."""
    claim_filing_indicator: str
    member_id: str
    subscriber: Person
    relationship: str
    """SBR02 in 2320: the patient's relationship to that payer's subscriber."""
    group_number: str = ""
    paid_amount: Decimal | None = None
    """AMT*D: what that payer paid; None when it has not adjudicated the claim."""
    adjudication_date: date | None = None
    """2330B DTP*573; None when the dates are per line (2430) or it has not adjudicated."""
    adjustments: tuple[Adjustment, ...] = ()
    """2320 CAS: claim-level adjustments (line-level ones are in each line's 2430)."""
    benefits_assignment: str = "Y"
    """OI03: Y the patient assigned this payer's benefits to the provider, N no, W refused."""
    release_of_information: str = "Y"
    """OI06: Y signed statement on file, I informed consent only."""
    payer_claim_number: str = ""
    """2330B REF*F8: that payer's claim control number, when known."""


@dataclass(frozen=True, slots=True)
class LineAdjudication:
    """2430: how another payer settled one service line (SVD, CAS, DTP*573)."""

    payer_id: str
    """SVD01: the other payer's id as in its 2330B NM109."""
    paid_amount: Decimal
    procedure_code: str
    modifiers: tuple[str, ...]
    paid_units: Decimal
    adjudication_date: date
    adjustments: tuple[Adjustment, ...] = ()


@dataclass(frozen=True, slots=True)
class ClaimLine:
    """A 2400 service line."""

    line_number: int
    line_control_number: str
    """REF*6R: unique per line and claim version (``<PCN>-<LX>``)."""
    procedure_code: str
    modifiers: tuple[str, ...]
    charge: Decimal
    units: Decimal
    service_date: date
    diagnosis_pointers: tuple[int, ...]
    place_of_service: str = ""
    """SV105, only when the line's POS differs from the claim's."""
    emergency: bool = False
    ndc: str = ""
    ndc_quantity: Decimal | None = None
    ndc_unit: str = ""
    prior_auth: str = ""
    adjudications: tuple[LineAdjudication, ...] = ()
    """2430, one per other payer that adjudicated this line."""


@dataclass(frozen=True, slots=True)
class ClaimRecord:
    """One 837P claim (2000B/2000C/2300 and its lines)."""

    patient_control_number: str
    total_charge: Decimal
    place_of_service: str
    frequency: str
    """CLM05-3: 1 original, 7 replacement, 8 void."""
    payer_id: str
    payer_name: str
    responsibility: str
    """SBR01: P, S or T."""
    claim_filing_indicator: str
    member_id: str
    subscriber: Person
    relationship: str
    """Patient to subscriber: 18 self (no 2000C), 01 spouse, 19 child, ..."""
    patient: Person
    """Same as ``subscriber`` when ``relationship == '18'``."""
    group_number: str = ""
    billing_npi: str = ""
    billing_tax_id: str = ""
    billing_name: str = ""
    provider_signature: bool = True
    """CLM06."""
    assignment: str = "A"
    """CLM07: A assigned, B lab only, C not assigned."""
    benefits_assignment: str = "Y"
    """CLM08 (AOB): Y signed, N not signed, W patient refused."""
    release_of_information: str = "Y"
    """CLM09."""
    accident_cause: str = ""
    accident_state: str = ""
    accident_date: date | None = None
    onset_date: date | None = None
    original_claim_number: str = ""
    """REF*F8 (payer's claim control number) on a 7 or 8."""
    prior_auth: str = ""
    """REF*G1."""
    referral_number: str = ""
    """REF*9F."""
    diagnoses: tuple[str, ...] = ()
    """ICD-10-CM without the dot; the first is the principal (ABK)."""
    rendering_npi: str = ""
    rendering_name: tuple[str, str] = ("", "")
    rendering_taxonomy: str = ""
    referring_npi: str = ""
    referring_name: tuple[str, str] = ("", "")
    service_facility: ServiceFacilityLocation | None = None
    """2310C, when the service was given elsewhere than the billing provider's address."""
    lines: tuple[ClaimLine, ...] = ()
    other_payers: tuple[OtherPayer, ...] = ()
    encounter_id: str = field(default="", compare=False)
    """The practice's encounter (builder side only; not in the file)."""
    source_file: str = field(default="", compare=False)
    interchange_control_number: str = field(default="", compare=False)
    group_control_number: str = field(default="", compare=False)
    transaction_control_number: str = field(default="", compare=False)

    @property
    def emergency(self) -> bool:
        return any(line.emergency for line in self.lines)

    @property
    def service_date_start(self) -> date:
        return min(line.service_date for line in self.lines)

    @property
    def service_date_end(self) -> date:
        return max(line.service_date for line in self.lines)


@dataclass(frozen=True, slots=True)
class InquiryRecord:
    """One 270 inquiry (a 2000C subscriber, with its 2000D dependent when there is one)."""

    trace_number: str
    """TRN02 in 2000C; the 271 echoes it in TRN*2."""
    trace_originator: str
    """TRN03: ``1`` + the practice's EIN."""
    payer_id: str
    payer_name: str
    provider_npi: str
    provider_name: str
    member_id: str
    subscriber: Person
    service_types: tuple[str, ...]
    service_date: date
    dependent: Person | None = None
    """2100D, only when the patient has no member id of their own."""
    relationship: str = "18"
    """Dependent's relationship (INS02) when there is one; 18 otherwise."""
    group_number: str = ""
    patient_id: str = field(default="", compare=False)
    coverage_id: str = field(default="", compare=False)
    source_file: str = field(default="", compare=False)
    interchange_control_number: str = field(default="", compare=False)
    transaction_control_number: str = field(default="", compare=False)

    @property
    def patient(self) -> Person:
        return self.dependent or self.subscriber


@dataclass(frozen=True, slots=True)
class StatusRequestRecord:
    """One 276 claim status request (a 2200D claim, or 2200E when the patient is a dependent).

    Built from the 837P claim as sent (and the payer's claim number from its 277CA), so the
    payer finds the claim by what it received.
    """

    trace_number: str
    """TRN02 in 2200D/2200E; the 277 echoes it in TRN*2."""
    payer_id: str
    payer_name: str
    provider_npi: str
    provider_name: str
    member_id: str
    subscriber: Person
    patient_control_number: str
    """REF*EJ: our CLM01."""
    charge_amount: Decimal
    """AMT*T3: CLM02 as sent."""
    service_date_start: date
    service_date_end: date
    patient: Person | None = None
    """2000E/2100E, only when the patient is not the subscriber (no member id of their own)."""
    payer_claim_control_number: str = ""
    """REF*1K, when the payer gave one (277CA REF*1K)."""
    source_file: str = field(default="", compare=False)
    interchange_control_number: str = field(default="", compare=False)
    transaction_control_number: str = field(default="", compare=False)
