"""What the simulator reads from inbound files: claims (837P), inquiries (270), 276 requests.

These are the simulator's own small records; :mod:`pipeline.clearinghouse.inbound` fills them
from the project's readers (``pipeline.parse.t837p`` / ``t270``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from pipeline.practice.records import StatusRequestRecord

__all__ = [
    "EMERGENCY_CODES",
    "NSA_FACILITY_POS",
    "Claim",
    "Inquiry",
    "InquiryBatch",
    "ServiceLine",
    "StatusBatch",
    "Submission",
]

# No Surprises Act: emergency E/M codes and the facility places of service (DOMAIN.md §9.2/§9.3).
EMERGENCY_CODES = frozenset({"99281", "99282", "99283", "99284", "99285"})
NSA_FACILITY_POS = frozenset({"19", "21", "22", "24"})
EMERGENCY_POS = "23"


@dataclass(frozen=True, slots=True)
class ServiceLine:
    """One 2400 service line."""

    line_number: int
    procedure_code: str
    charge: Decimal
    units: Decimal
    service_date: date
    modifiers: tuple[str, ...] = ()
    line_control_number: str = ""
    place_of_service: str = ""
    emergency: bool = False


@dataclass(frozen=True, slots=True)
class Claim:
    """One 2300 claim with what adjudication needs."""

    pcn: str
    payer_id: str
    member_id: str
    last_name: str
    first_name: str
    place_of_service: str
    lines: tuple[ServiceLine, ...]
    total_charge: Decimal
    frequency: str = "1"
    aob: str = "Y"
    """CLM08: Y = benefits assigned to the provider; N/W = not."""
    prior_auth: str = ""
    payer_name: str = ""
    dob: date | None = None
    claim_filing_indicator: str = ""
    original_claim_number: str = ""
    transaction_control_number: str = ""
    billing_npi: str = ""
    billing_name: str = ""
    billing_tin: str = ""
    diagnoses: tuple[str, ...] = ()
    patient_last_name: str = ""
    patient_first_name: str = ""
    """The patient when not the subscriber (empty: the subscriber is the patient)."""

    @property
    def patient_name(self) -> tuple[str, str]:
        if self.patient_last_name:
            return self.patient_last_name, self.patient_first_name
        return self.last_name, self.first_name

    @property
    def service_date(self) -> date:
        return min(line.service_date for line in self.lines)

    @property
    def service_date_end(self) -> date:
        return max(line.service_date for line in self.lines)

    def line_pos(self, line: ServiceLine) -> str:
        return line.place_of_service or self.place_of_service

    # Plain loops: these are asked several times per claim and line during adjudication.
    @property
    def emergency(self) -> bool:
        for ln in self.lines:
            if (
                ln.emergency
                or ln.procedure_code in EMERGENCY_CODES
                or (ln.place_of_service or self.place_of_service) == EMERGENCY_POS
            ):
                return True
        return False

    @property
    def facility(self) -> bool:
        for ln in self.lines:
            if (ln.place_of_service or self.place_of_service) in NSA_FACILITY_POS:
                return True
        return False

    @property
    def nsa_protected(self) -> bool:
        """Emergency or non-emergency at an in-network facility (air ambulance not modelled)."""
        return self.emergency or self.facility


@dataclass(frozen=True, slots=True)
class Submission:
    """An inbound 837P interchange: envelope facts the acknowledgments echo."""

    sender_id: str
    receiver_id: str
    interchange_control_number: str
    interchange_date: date
    interchange_time: str
    ack_requested: bool
    usage: str
    group_control_number: str
    group_sender: str
    group_receiver: str
    transactions: tuple[tuple[str, tuple[Claim, ...]], ...]
    """(ST02, claims) per transaction set, in file order."""
    batch_reference: str = ""
    submitter_name: str = ""

    @property
    def claims(self) -> list[Claim]:
        return [claim for _, claims in self.transactions for claim in claims]


@dataclass(frozen=True, slots=True)
class Inquiry:
    """One 270 subscriber inquiry (2000C)."""

    trace: str
    trace_originator: str
    payer_id: str
    member_id: str
    last_name: str
    first_name: str
    payer_name: str = ""
    dob: date | None = None
    service_types: tuple[str, ...] = ("30",)
    service_date: date | None = None
    provider_name: str = ""
    provider_npi: str = ""
    provider_first_name: str = ""
    provider_entity: str = "2"
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InquiryBatch:
    """An inbound 270 interchange: envelope facts and its inquiries in file order."""

    sender_id: str
    receiver_id: str
    interchange_control_number: str
    interchange_date: date
    interchange_time: str
    ack_requested: bool
    usage: str
    group_control_number: str
    transaction_control_numbers: tuple[str, ...]
    inquiries: tuple[Inquiry, ...]
    reference: str = ""


@dataclass(frozen=True, slots=True)
class StatusBatch:
    """An inbound 276 interchange: envelope facts and its requests in file order."""

    sender_id: str
    receiver_id: str
    interchange_control_number: str
    interchange_date: date
    interchange_time: str
    ack_requested: bool
    usage: str
    group_control_number: str
    requests: tuple[StatusRequestRecord, ...]
    reference: str = ""
    submitter_name: str = ""
