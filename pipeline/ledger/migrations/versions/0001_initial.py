"""Initial ledger: file registry, outbox, claims and their events, eligibility, control numbers.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
MONEY = sa.Numeric(12, 2)


def _pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=f"pk_{table}")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("transaction_type", sa.String(8), nullable=True),
        sa.Column("local_path", sa.Text(), nullable=True),
        sa.Column("isa13", sa.String(9), nullable=True),
        sa.Column("quarantine_reason", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        _pk("files"),
        sa.UniqueConstraint("sha256", "direction", name="uq_files_sha256_direction"),
    )
    op.create_index("ix_files_state", "files", ["state"])
    op.create_index("ix_files_isa13", "files", ["isa13"])

    op.create_table(
        "file_names",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("seen_at", TS, nullable=False),
        _pk("file_names"),
        _fk("file_names", "file_id", "files"),
        sa.UniqueConstraint("file_id", "name", name="uq_file_names_file_id_name"),
    )
    op.create_index("ix_file_names_file_id", "file_names", ["file_id"])

    op.create_table(
        "file_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        _pk("file_events"),
        _fk("file_events", "file_id", "files"),
    )
    op.create_index("ix_file_events_file_id", "file_events", ["file_id"])

    op.create_table(
        "file_transactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("isa13", sa.String(9), nullable=False),
        sa.Column("gs06", sa.String(9), nullable=False),
        sa.Column("st02", sa.String(9), nullable=False),
        sa.Column("transaction_set_id", sa.String(3), nullable=False),
        _pk("file_transactions"),
        _fk("file_transactions", "file_id", "files"),
        sa.UniqueConstraint("file_id", "isa13", "gs06", "st02", name="uq_file_transactions_key"),
    )
    op.create_index("ix_file_transactions_file_id", "file_transactions", ["file_id"])

    op.create_table(
        "outbox",
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("staged_at", TS, nullable=False),
        sa.Column("uploaded_at", TS, nullable=True),
        sa.Column("remote_name", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("file_id", name="pk_outbox"),
        sa.ForeignKeyConstraint(["file_id"], ["files.id"], name="fk_outbox_file_id_files"),
    )

    op.create_table(
        "claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_control_number", sa.String(38), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("replaces_claim_id", sa.Integer(), nullable=True),
        sa.Column("frequency_code", sa.String(1), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("payer_id", sa.String(80), nullable=False),
        sa.Column("payer_name", sa.String(120), nullable=True),
        sa.Column("payer_claim_control_number", sa.String(50), nullable=True),
        sa.Column("charge_amount", MONEY, nullable=False),
        sa.Column("service_date_start", sa.Date(), nullable=False),
        sa.Column("service_date_end", sa.Date(), nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=True),
        sa.Column("encounter_id", sa.String(64), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        _pk("claims"),
        _fk("claims", "replaces_claim_id", "claims"),
        sa.UniqueConstraint(
            "patient_control_number", "version", name="uq_claims_patient_control_number_version"
        ),
    )
    op.create_index("ix_claims_patient_control_number", "claims", ["patient_control_number"])
    op.create_index("ix_claims_state", "claims", ["state"])

    op.create_table(
        "claim_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("line_number", sa.Integer(), nullable=False),
        sa.Column("line_control_number", sa.String(30), nullable=False),
        sa.Column("procedure_code", sa.String(48), nullable=False),
        sa.Column("modifiers", sa.String(20), nullable=False),
        sa.Column("units", sa.Numeric(10, 3), nullable=False),
        sa.Column("charge_amount", MONEY, nullable=False),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("place_of_service", sa.String(2), nullable=True),
        _pk("claim_lines"),
        _fk("claim_lines", "claim_id", "claims"),
        sa.UniqueConstraint("claim_id", "line_number", name="uq_claim_lines_claim_id_line_number"),
        sa.UniqueConstraint(
            "claim_id", "line_control_number", name="uq_claim_lines_claim_id_line_control_number"
        ),
    )
    op.create_index("ix_claim_lines_claim_id", "claim_lines", ["claim_id"])

    op.create_table(
        "claim_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("from_state", sa.String(20), nullable=True),
        sa.Column("to_state", sa.String(20), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=True),
        sa.Column("segment_number", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(40), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reference", sa.String(80), nullable=True),
        sa.Column("amount", MONEY, nullable=True),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        _pk("claim_events"),
        _fk("claim_events", "claim_id", "claims"),
        _fk("claim_events", "file_id", "files"),
        sa.UniqueConstraint("claim_id", "dedupe_key", name="uq_claim_events_claim_id_dedupe_key"),
    )
    op.create_index("ix_claim_events_claim_id", "claim_events", ["claim_id"])

    op.create_table(
        "claim_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("isa13", sa.String(9), nullable=False),
        sa.Column("gs06", sa.String(9), nullable=False),
        sa.Column("st02", sa.String(9), nullable=False),
        sa.Column("submitted_at", TS, nullable=False),
        _pk("claim_submissions"),
        _fk("claim_submissions", "claim_id", "claims"),
        _fk("claim_submissions", "file_id", "files"),
        sa.UniqueConstraint("claim_id", "file_id", name="uq_claim_submissions_claim_id_file_id"),
    )
    op.create_index("ix_claim_submissions_claim_id", "claim_submissions", ["claim_id"])
    op.create_index("ix_claim_submissions_file_id", "claim_submissions", ["file_id"])
    op.create_index("ix_claim_submissions_isa13", "claim_submissions", ["isa13"])

    op.create_table(
        "eligibility_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trace_number", sa.String(50), nullable=False),
        sa.Column("payer_id", sa.String(80), nullable=True),
        sa.Column("member_id", sa.String(80), nullable=True),
        sa.Column("patient_id", sa.String(64), nullable=True),
        sa.Column("service_date", sa.Date(), nullable=True),
        sa.Column("service_types", sa.String(120), nullable=True),
        sa.Column("request_file_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", TS, nullable=True),
        sa.Column("response_file_id", sa.Integer(), nullable=True),
        sa.Column("responded_at", TS, nullable=True),
        sa.Column("coverage_status", sa.String(16), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        _pk("eligibility_checks"),
        _fk("eligibility_checks", "request_file_id", "files"),
        _fk("eligibility_checks", "response_file_id", "files"),
        sa.UniqueConstraint("trace_number", name="uq_eligibility_checks_trace_number"),
    )
    op.create_index("ix_eligibility_checks_patient_id", "eligibility_checks", ["patient_id"])

    counters = op.create_table(
        "control_counters",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", name="pk_control_counters"),
    )
    op.bulk_insert(
        counters,
        [{"kind": k, "value": 0} for k in ("interchange", "group", "transaction")],
    )


def downgrade() -> None:
    for table in (
        "control_counters",
        "eligibility_checks",
        "claim_submissions",
        "claim_events",
        "claim_lines",
        "claims",
        "outbox",
        "file_transactions",
        "file_events",
        "file_names",
        "files",
    ):
        op.drop_table(table)
