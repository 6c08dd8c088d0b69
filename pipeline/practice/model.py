"""The canonical practice data model (pydantic v2).

What a practice management system knows about billing: who bills, who renders,
which payers, patients and their coverages, appointments (for 270s) and
encounters with their charges (for 837Ps). Codes are kept as the export spells
them (upper-cased, stripped); whether they are *valid* is the scrubber's call
(:mod:`pipeline.build.scrub`), so a bad code still loads and is reported there
with the encounter it belongs to.

Field names are a contract: other parts (clearinghouse simulator, reconciliation)
import these models. Add fields freely; do not rename.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

__all__ = [
    "AOBStatus",
    "Address",
    "Appointment",
    "BillingProvider",
    "Charge",
    "ClaimAdjustment",
    "Coverage",
    "Encounter",
    "NetworkStatus",
    "Patient",
    "Payer",
    "PayerRule",
    "Practice",
    "PrimaryAdjudication",
    "PrimaryLineAdjudication",
    "Provider",
    "ServiceFacility",
    "Sex",
]

Sex = Literal["M", "F", "U"]
AOBStatus = Literal["signed", "refused", "missing"]
NetworkStatus = Literal["in_network", "out_of_network"]
Priority = Literal["P", "S", "T"]
Frequency = Literal["1", "7", "8"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    def __setattr__(self, name: str, value: Any) -> None:
        # The loader shares one fields-set among equal loaded instances (memory); pydantic
        # adds the assigned name to it, so give this instance its own copy first.
        object.__setattr__(self, "__pydantic_fields_set__", set(self.__pydantic_fields_set__))
        super().__setattr__(name, value)


class Address(_Model):
    line1: str
    line2: str | None = None
    city: str
    state: str
    zip: str
    """5 or 9 digits, no hyphen (the billing provider needs ZIP+4)."""


class BillingProvider(_Model):
    """2010AA billing provider, 1000A submitter and 1000B receiver in one record."""

    name: str
    npi: str
    ein: str
    """Nine digits, no hyphen (REF*EI)."""
    taxonomy: str
    address: Address
    phone: str
    contact_name: str
    submitter_etin: str
    """Our submitter id at the clearinghouse (1000A NM109, ISA06, GS02)."""
    receiver_id: str
    """The clearinghouse's id (1000B NM109, ISA08, GS03)."""
    receiver_name: str
    pay_to: Address | None = None
    """2010AB, only when payments go elsewhere than the billing address."""


class Provider(_Model):
    """A rendering or referring clinician (2310A/2310B, 2100B on a 270)."""

    provider_id: str
    last_name: str
    first_name: str
    npi: str
    taxonomy: str | None = None
    role: Literal["rendering", "referring"] = "rendering"


class ServiceFacility(_Model):
    """2310C service facility location (CMS-1500 box 32/32a): where the service was given.

    A hospital, emergency room or ambulatory surgical center the practice's clinicians
    work at; claims at those places of service must name it.
    """

    facility_id: str
    name: str
    npi: str
    address: Address
    """ZIP+4 required in 2310C (checked by the scrubber)."""


class PayerRule(_Model):
    """One trading-partner rule from ``mappings/payers/<id>.yaml`` (``rules:``)."""

    model_config = ConfigDict(extra="allow")

    rule: str
    procedures: list[str] = Field(default_factory=list)
    message: str = ""
    max_units: Decimal | None = None


class Payer(_Model):
    """A payer profile, loaded from ``mappings/payers/*.yaml``."""

    model_config = ConfigDict(extra="allow")

    payer_id: str
    name: str
    claim_filing_indicator: str
    network_status: NetworkStatus
    timely_filing_days: int
    appeal_window_days: int
    response_window_days: int = 30
    payer_ein: str | None = None
    prior_auth_procedures: list[str] = Field(default_factory=list)
    rules: list[PayerRule] = Field(default_factory=list)

    @property
    def in_network(self) -> bool:
        return self.network_status == "in_network"


class Patient(_Model):
    patient_id: str
    last_name: str
    first_name: str
    middle_name: str | None = None
    dob: date
    sex: Sex
    address: Address
    aob: AOBStatus = "missing"
    """Assignment of benefits: signed, refused (CLM08=W) or never captured."""
    aob_date: date | None = None
    release_of_information: Literal["Y", "I"] = "Y"
    authorized_representative_date: date | None = None
    """The patient's designation of the practice as authorized representative (appeals)."""


class Coverage(_Model):
    """One policy a patient is covered by, at a priority (P/S/T)."""

    coverage_id: str
    patient_id: str
    payer_id: str
    priority: Priority
    member_id: str
    """The subscriber's id on the card."""
    patient_member_id: str | None = None
    """A dependent's own unique id, when the payer issues one (then no 2000C/2000D)."""
    group_number: str | None = None
    relationship: str = "18"
    """Patient's relationship to the subscriber: 18 self, 01 spouse, 19 child, G8 other."""
    subscriber_last_name: str | None = None
    subscriber_first_name: str | None = None
    subscriber_dob: date | None = None
    subscriber_sex: Sex | None = None
    subscriber_address: Address | None = None
    effective_from: date | None = None
    effective_to: date | None = None

    @property
    def is_self(self) -> bool:
        return self.relationship == "18"


class Appointment(_Model):
    appointment_id: str
    patient_id: str
    provider_id: str
    date: date
    service_types: list[str] = Field(default_factory=lambda: ["30"])


class Charge(_Model):
    """One service line (2400)."""

    encounter_id: str
    line_number: int
    procedure_code: str
    modifiers: list[str] = Field(default_factory=list)
    units: Decimal
    charge: Decimal
    diagnosis_pointers: list[int] = Field(default_factory=list)
    service_date: date | None = None
    """Line date (DTP*472); the encounter's date when empty."""
    place_of_service: str | None = None
    """SV105, only when the line differs from the claim."""
    ndc: str | None = None
    ndc_quantity: Decimal | None = None
    ndc_unit: str | None = None


class ClaimAdjustment(_Model):
    group_code: str
    reason_code: str
    amount: Decimal


class PrimaryLineAdjudication(_Model):
    """How the primary payer settled one service line (the 2430 loop of a secondary claim)."""

    encounter_id: str
    line_number: int
    """The charge's line number in the encounter."""
    paid_amount: Decimal
    adjustments: list[ClaimAdjustment] = Field(default_factory=list)
    procedure_code: str | None = None
    """As the payer adjudicated it (SVD03), when it differs from the billed code."""
    modifiers: list[str] | None = None
    paid_units: Decimal | None = None
    """SVD05; the billed units when empty."""
    adjudication_date: date | None = None
    """DTP*573; the EOB's date when empty."""


class PrimaryAdjudication(_Model):
    """How the primary payer settled an encounter: the 2320/2330 COB data of a secondary claim.

    ``adjustments`` are the claim-level ones; when the payer adjudicated by line, ``lines``
    hold each line's payment and adjustments (2430) and ``paid_amount`` is their total.
    """

    encounter_id: str
    payer_id: str
    paid_amount: Decimal
    adjudication_date: date
    adjustments: list[ClaimAdjustment] = Field(default_factory=list)
    payer_claim_number: str | None = None
    lines: list[PrimaryLineAdjudication] = Field(default_factory=list)


class Encounter(_Model):
    """The claim as the practice sees it: one visit billed to one coverage priority."""

    encounter_id: str
    patient_control_number: str
    patient_id: str
    coverage_priority: Priority = "P"
    rendering_provider_id: str
    referring_provider_id: str | None = None
    facility_id: str | None = None
    """The service facility (2310C) when the service was not given at the billing address."""
    place_of_service: str
    service_date: date
    service_date_end: date | None = None
    diagnoses: list[str] = Field(default_factory=list)
    prior_auth: str | None = None
    referral_number: str | None = None
    onset_date: date | None = None
    accident_cause: str | None = None
    """CLM11-1: AA auto, EM employment, OA other."""
    accident_state: str | None = None
    accident_date: date | None = None
    emergency: bool = False
    frequency: Frequency = "1"
    original_claim_number: str | None = None
    """The payer's claim number (ICN) of the claim a 7/8 replaces or voids."""
    total_charge: Decimal | None = None
    """Total as the PM system exported it; the scrubber checks it against the lines."""
    clinical_notes: str | None = None
    attachments: list[str] = Field(default_factory=list)
    """Clinical documents on file for the encounter (operative report, imaging, ...)."""
    attachment_control_number: str | None = None
    """PWK06: the control number the attachments were sent to the payer under."""
    nsa_consent_date: date | None = None
    """No Surprises Act notice-and-consent form signed by the patient (45 CFR 149.420)."""
    nsa_consent_services: list[str] = Field(default_factory=list)
    """The CPT/HCPCS codes the consent form lists."""
    charges: list[Charge] = Field(default_factory=list)
    primary_adjudication: PrimaryAdjudication | None = None

    @property
    def line_total(self) -> Decimal:
        return sum((c.charge for c in self.charges), Decimal("0"))


class Practice(_Model):
    """Everything loaded from one practice export folder."""

    billing_provider: BillingProvider
    providers: dict[str, Provider] = Field(default_factory=dict)
    facilities: dict[str, ServiceFacility] = Field(default_factory=dict)
    payers: dict[str, Payer] = Field(default_factory=dict)
    patients: dict[str, Patient] = Field(default_factory=dict)
    coverages: list[Coverage] = Field(default_factory=list)
    appointments: list[Appointment] = Field(default_factory=list)
    encounters: list[Encounter] = Field(default_factory=list)
    patient_conflicts: dict[str, list[int]] = Field(default_factory=dict)
    """Account number -> the ``patients.csv`` rows that give it different demographics
    (the first row's patient is in ``patients``; the scrubber holds these patients)."""

    _index: dict[tuple[str, str], Coverage] = PrivateAttr(default_factory=dict)
    _indexed: int = PrivateAttr(default=-1)
    _by_patient: dict[str, list[Coverage]] = PrivateAttr(default_factory=dict)
    _by_patient_indexed: int = PrivateAttr(default=-1)

    def coverage_for(self, patient_id: str, priority: str = "P") -> Coverage | None:
        """The patient's coverage at ``priority`` (first one if the export has several)."""
        if self._indexed != len(self.coverages):  # rebuilt when coverages were added
            index: dict[tuple[str, str], Coverage] = {}
            for coverage in self.coverages:
                index.setdefault((coverage.patient_id, coverage.priority), coverage)
            self._index, self._indexed = index, len(self.coverages)
        return self._index.get((patient_id, priority))

    def coverages_of(self, patient_id: str) -> list[Coverage]:
        """The patient's coverages in export order (indexed: a scan per call made the 270 of
        a 10k-claim night quadratic)."""
        if self._by_patient_indexed != len(self.coverages):  # rebuilt when coverages change
            by_patient: dict[str, list[Coverage]] = {}
            for coverage in self.coverages:
                by_patient.setdefault(coverage.patient_id, []).append(coverage)
            self._by_patient, self._by_patient_indexed = by_patient, len(self.coverages)
        return list(self._by_patient.get(patient_id, ()))


def _share_instance_keys(*classes: type[BaseModel]) -> None:
    """Register each class's field names as its instances' shared dict keys, in field order.

    The loader builds its instances attribute by attribute (``loader._share``) so that
    CPython keeps their attributes as values against these keys (PEP 412) rather than a dict
    per instance: less than half the memory. CPython takes new shared keys only while a class
    has few instances (each instance made lowers the allowance; 3.11), so this runs before
    any is made, and at most 30 keys per class (Encounter has 28; ``tests/practice/
    test_compact.py`` fails for a class that outgrows it). A CPython detail: without it, or
    elsewhere, instances merely have dicts of their own."""
    for cls in classes:
        probe = cls.__new__(cls)
        for name in cls.__pydantic_fields__:
            object.__setattr__(probe, name, None)
        for _ in range(32):  # use the allowance up: CPython sizes values to keys + allowance
            cls.__new__(cls)


_share_instance_keys(
    Address,
    BillingProvider,
    Provider,
    ServiceFacility,
    Patient,
    Coverage,
    Appointment,
    Charge,
    ClaimAdjustment,
    PrimaryLineAdjudication,
    PrimaryAdjudication,
    Encounter,
)
