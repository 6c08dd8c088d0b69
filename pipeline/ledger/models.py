"""SQLAlchemy 2 models of the claims ledger (the migrations in ``migrations/`` create them).

Tables: ``files`` (+ ``file_names``, ``file_events``, ``file_transactions``, ``outbox``),
``claims`` (+ ``claim_lines``, ``claim_events``, ``claim_submissions``),
``eligibility_checks``, ``claim_status_checks``, ``case_events`` (NSA cases and appeals) and
``control_counters``. Money is ``Numeric(12, 2)``; every timestamp is timezone-aware UTC
(:class:`UTCDateTime`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "Base",
    "CaseEvent",
    "Claim",
    "ClaimEvent",
    "ClaimLine",
    "ClaimStatusCheck",
    "ClaimSubmission",
    "ControlCounter",
    "EligibilityCheck",
    "FileEvent",
    "FileName",
    "FileRow",
    "FileTransaction",
    "Money",
    "OutboxEntry",
    "UTCDateTime",
]

# Stable constraint names, so later migrations can alter them on SQLite (batch mode) too.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC in, aware UTC out (SQLite keeps naive UTC text; PostgreSQL ``timestamptz``)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the ledger; use UTC-aware datetimes")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


Money = Numeric(12, 2, asdecimal=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: UTCDateTime, Decimal: Money}


class FileRow(Base):
    """One file content (SHA-256) per direction; every name it came under is in ``file_names``."""

    __tablename__ = "files"
    __table_args__ = (UniqueConstraint("sha256", "direction", name="uq_files_sha256_direction"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    direction: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16), index=True)
    transaction_type: Mapped[str | None] = mapped_column(String(8))
    local_path: Mapped[str | None] = mapped_column(Text)
    isa13: Mapped[str | None] = mapped_column(String(9), index=True)
    quarantine_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    names: Mapped[list[FileName]] = relationship(order_by="FileName.id")
    transactions: Mapped[list[FileTransaction]] = relationship(order_by="FileTransaction.id")


class FileName(Base):
    __tablename__ = "file_names"
    __table_args__ = (UniqueConstraint("file_id", "name", name="uq_file_names_file_id_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id"), index=True)
    name: Mapped[str] = mapped_column(Text)
    seen_at: Mapped[dt.datetime]


class FileEvent(Base):
    """Append-only: registered, duplicate (same bytes seen again), and every state change."""

    __tablename__ = "file_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id"), index=True)
    at: Mapped[dt.datetime]
    event: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)


class FileTransaction(Base):
    """One row per ST/SE in a file: (ISA13, GS06, ST02) — how 999/TA1 find their claims."""

    __tablename__ = "file_transactions"
    __table_args__ = (
        UniqueConstraint("file_id", "isa13", "gs06", "st02", name="uq_file_transactions_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id"), index=True)
    isa13: Mapped[str] = mapped_column(String(9))
    gs06: Mapped[str] = mapped_column(String(9))
    st02: Mapped[str] = mapped_column(String(9))
    transaction_set_id: Mapped[str] = mapped_column(String(3))


class OutboxEntry(Base):
    """An outbound file's bytes, kept until (and after) the remote rename is confirmed."""

    __tablename__ = "outbox"

    file_id: Mapped[int] = mapped_column(ForeignKey("files.id"), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    staged_at: Mapped[dt.datetime]
    uploaded_at: Mapped[dt.datetime | None]
    remote_name: Mapped[str | None] = mapped_column(Text)


class Claim(Base):
    """One version of a claim; a corrected claim is a new version linked to the one it replaces."""

    __tablename__ = "claims"
    __table_args__ = (
        UniqueConstraint(
            "patient_control_number", "version", name="uq_claims_patient_control_number_version"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_control_number: Mapped[str] = mapped_column(String(38), index=True)
    version: Mapped[int] = mapped_column(Integer)
    replaces_claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"))
    frequency_code: Mapped[str] = mapped_column(String(1))
    state: Mapped[str] = mapped_column(String(20), index=True)
    payer_id: Mapped[str] = mapped_column(String(80))
    payer_name: Mapped[str | None] = mapped_column(String(120))
    payer_claim_control_number: Mapped[str | None] = mapped_column(String(50))
    charge_amount: Mapped[Decimal]
    service_date_start: Mapped[dt.date] = mapped_column(Date)
    service_date_end: Mapped[dt.date] = mapped_column(Date)
    patient_id: Mapped[str | None] = mapped_column(String(64))
    encounter_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    lines: Mapped[list[ClaimLine]] = relationship(
        order_by="ClaimLine.line_number", cascade="all, delete-orphan"
    )


class ClaimLine(Base):
    __tablename__ = "claim_lines"
    __table_args__ = (
        UniqueConstraint("claim_id", "line_number", name="uq_claim_lines_claim_id_line_number"),
        UniqueConstraint(
            "claim_id", "line_control_number", name="uq_claim_lines_claim_id_line_control_number"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    line_number: Mapped[int] = mapped_column(Integer)
    line_control_number: Mapped[str] = mapped_column(String(30))
    procedure_code: Mapped[str] = mapped_column(String(48))
    modifiers: Mapped[str] = mapped_column(String(20))
    units: Mapped[Decimal] = mapped_column(Numeric(10, 3))
    charge_amount: Mapped[Decimal]
    service_date: Mapped[dt.date] = mapped_column(Date)
    place_of_service: Mapped[str | None] = mapped_column(String(2))


class ClaimEvent(Base):
    """Append-only lifecycle log; ``dedupe_key`` makes replaying the same cause a no-op."""

    __tablename__ = "claim_events"
    __table_args__ = (
        UniqueConstraint("claim_id", "dedupe_key", name="uq_claim_events_claim_id_dedupe_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    at: Mapped[dt.datetime]
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    file_id: Mapped[int | None] = mapped_column(ForeignKey("files.id"))
    segment_number: Mapped[int | None] = mapped_column(Integer)
    code: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(80))
    amount: Mapped[Decimal | None]
    dedupe_key: Mapped[str] = mapped_column(String(200))


class ClaimSubmission(Base):
    """Which file (and ISA13/GS06/ST02) carried a claim: TA1/999 mapping and filing proof."""

    __tablename__ = "claim_submissions"
    __table_args__ = (
        UniqueConstraint("claim_id", "file_id", name="uq_claim_submissions_claim_id_file_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id"), index=True)
    isa13: Mapped[str] = mapped_column(String(9), index=True)
    gs06: Mapped[str] = mapped_column(String(9))
    st02: Mapped[str] = mapped_column(String(9))
    submitted_at: Mapped[dt.datetime]


class EligibilityCheck(Base):
    """A 270 inquiry (by trace number) and the 271 summary once it arrives."""

    __tablename__ = "eligibility_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trace_number: Mapped[str] = mapped_column(String(50), unique=True)
    payer_id: Mapped[str | None] = mapped_column(String(80))
    member_id: Mapped[str | None] = mapped_column(String(80))
    patient_id: Mapped[str | None] = mapped_column(String(64), index=True)
    service_date: Mapped[dt.date | None] = mapped_column(Date)
    service_types: Mapped[str | None] = mapped_column(String(120))
    request_file_id: Mapped[int | None] = mapped_column(ForeignKey("files.id"))
    requested_at: Mapped[dt.datetime | None]
    response_file_id: Mapped[int | None] = mapped_column(ForeignKey("files.id"))
    responded_at: Mapped[dt.datetime | None]
    coverage_status: Mapped[str | None] = mapped_column(String(16))
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ClaimStatusCheck(Base):
    """A 276 claim status request (by trace number) and the 277 answer once it arrives."""

    __tablename__ = "claim_status_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trace_number: Mapped[str] = mapped_column(String(50), unique=True)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"), index=True)
    patient_control_number: Mapped[str | None] = mapped_column(String(38), index=True)
    payer_id: Mapped[str | None] = mapped_column(String(80))
    channel: Mapped[str] = mapped_column(String(16))
    """``batch`` (a file through the clearinghouse) or ``realtime`` (CORE)."""
    request_file_id: Mapped[int | None] = mapped_column(ForeignKey("files.id"))
    requested_at: Mapped[dt.datetime | None]
    response_file_id: Mapped[int | None] = mapped_column(ForeignKey("files.id"))
    responded_at: Mapped[dt.datetime | None]
    status_category: Mapped[str | None] = mapped_column(String(3))
    status_code: Mapped[str | None] = mapped_column(String(30))
    status: Mapped[str | None] = mapped_column(String(24))
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ControlCounter(Base):
    """Last issued ISA13 / GS06 / ST02; only ever incremented."""

    __tablename__ = "control_counters"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class CaseEvent(Base):
    """Append-only log of No Surprises Act cases and appeals (``pipeline.ledger.cases``).

    ``on`` is the business date the thing happened (a notice sent, a payment received), which
    the clocks count from; ``recorded_at`` is when the ledger heard of it.
    """

    __tablename__ = "case_events"
    __table_args__ = (
        UniqueConstraint("case_id", "dedupe_key", name="uq_case_events_case_id_dedupe_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(String(80), index=True)
    patient_control_number: Mapped[str] = mapped_column(String(38), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    event: Mapped[str] = mapped_column(String(32))
    on: Mapped[dt.date] = mapped_column(Date)
    method: Mapped[str | None] = mapped_column(String(16))
    amount: Mapped[Decimal | None]
    reference: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(Text)
    file_id: Mapped[int | None] = mapped_column(ForeignKey("files.id"))
    recorded_at: Mapped[dt.datetime]
    dedupe_key: Mapped[str] = mapped_column(String(200))
