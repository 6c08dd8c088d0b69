"""Values and people as the builders write them (shared by the 270 and 837P builders)."""

from __future__ import annotations

import unicodedata
from datetime import date
from decimal import Decimal
from functools import lru_cache

from pipeline.gcpause import no_cyclic_gc
from pipeline.practice.model import Address, Coverage, Patient
from pipeline.practice.records import Person

__all__ = [
    "CHARSET_MESSAGE",
    "d8",
    "money",
    "no_cyclic_gc",
    "patient_person",
    "person",
    "subscriber_of",
    "up",
]


# --- values ----------------------------------------------------------------------------------


@lru_cache(maxsize=8192)
def money(amount: Decimal) -> str:
    """X12 R type: no exponent, no trailing zeros after the point (``150``, ``40.5``)."""
    text = f"{amount:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


@lru_cache(maxsize=8192)
def d8(day: date) -> str:
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


def up(value: str | None) -> str:
    """Upper-case (DOMAIN §1.1); accents are dropped (``José`` -> ``JOSE``) for the X12 set."""
    text = (value or "").strip().upper()
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


CHARSET_MESSAGE = "holds characters outside the X12 character set (a name or address)"


def person(
    last: str | None,
    first: str | None,
    middle: str | None = None,
    dob: date | None = None,
    sex: str | None = None,
    address: Address | None = None,
) -> Person:
    a = address
    return Person(
        last_name=up(last), first_name=up(first), middle_name=up(middle), dob=dob,
        sex=(sex or "U") if dob else "", address_line1=up(a.line1) if a else "",
        address_line2=up(a.line2) if a else "", city=up(a.city) if a else "",
        state=up(a.state) if a else "", zip=a.zip if a else "",
    )  # fmt: skip


def patient_person(patient: Patient) -> Person:
    return person(
        patient.last_name, patient.first_name, patient.middle_name, patient.dob, patient.sex,
        patient.address,
    )  # fmt: skip


def subscriber_of(coverage: Coverage, patient: Patient) -> tuple[Person, str, str]:
    """(subscriber, member id, relationship) as the payer knows them.

    A dependent with a member id of their own is sent as the subscriber (IG 2000C note).
    """
    if coverage.is_self or coverage.patient_member_id:
        member = coverage.patient_member_id or coverage.member_id
        return patient_person(patient), member, "18"
    subscriber = person(
        coverage.subscriber_last_name, coverage.subscriber_first_name, None,
        coverage.subscriber_dob, coverage.subscriber_sex,
        coverage.subscriber_address or patient.address,
    )  # fmt: skip
    return subscriber, coverage.member_id, coverage.relationship
