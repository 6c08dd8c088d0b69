"""case_events: No Surprises Act cases and appeal worklist transitions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(80), nullable=False),
        sa.Column("patient_control_number", sa.String(38), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("method", sa.String(16), nullable=True),
        sa.Column("amount", sa.Numeric(12, 2), nullable=True),
        sa.Column("reference", sa.String(80), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("file_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_case_events"),
        sa.ForeignKeyConstraint(["file_id"], ["files.id"], name="fk_case_events_file_id_files"),
        sa.UniqueConstraint("case_id", "dedupe_key", name="uq_case_events_case_id_dedupe_key"),
    )
    op.create_index("ix_case_events_case_id", "case_events", ["case_id"])
    op.create_index(
        "ix_case_events_patient_control_number", "case_events", ["patient_control_number"]
    )


def downgrade() -> None:
    op.drop_index("ix_case_events_patient_control_number", table_name="case_events")
    op.drop_index("ix_case_events_case_id", table_name="case_events")
    op.drop_table("case_events")
