"""Practice data: the canonical model and the CSV loaders (``mappings/practice``).

result = load_practice("sample_edi/practice")
result.practice.encounters      # canonical Encounter objects with their charges
result.issues                   # [Issue(file, row, column, reason), ...]
"""

from __future__ import annotations

from pipeline.practice.cache import PracticeCache
from pipeline.practice.loader import Issue, LoadResult, load_payers, load_practice
from pipeline.practice.model import (
    Address,
    Appointment,
    BillingProvider,
    Charge,
    ClaimAdjustment,
    Coverage,
    Encounter,
    Patient,
    Payer,
    PayerRule,
    Practice,
    PrimaryAdjudication,
    PrimaryLineAdjudication,
    Provider,
    ServiceFacility,
)
from pipeline.practice.records import (
    Adjustment,
    ClaimLine,
    ClaimRecord,
    InquiryRecord,
    LineAdjudication,
    OtherPayer,
    Person,
    ServiceFacilityLocation,
)

__all__ = [
    "Address",
    "Adjustment",
    "Appointment",
    "BillingProvider",
    "Charge",
    "ClaimAdjustment",
    "ClaimLine",
    "ClaimRecord",
    "Coverage",
    "Encounter",
    "InquiryRecord",
    "Issue",
    "LineAdjudication",
    "LoadResult",
    "OtherPayer",
    "Patient",
    "Payer",
    "PayerRule",
    "Person",
    "Practice",
    "PracticeCache",
    "PrimaryAdjudication",
    "PrimaryLineAdjudication",
    "Provider",
    "ServiceFacility",
    "ServiceFacilityLocation",
    "load_payers",
    "load_practice",
]
