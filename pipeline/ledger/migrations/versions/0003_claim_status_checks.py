"""Claim status checks: each 276 request (by trace number) and the 277 answer to it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
TABLE = "claim_status_checks"


def _fk(column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{TABLE}_{column}_{target}")


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trace_number", sa.String(50), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=True),
        sa.Column("patient_control_number", sa.String(38), nullable=True),
        sa.Column("payer_id", sa.String(80), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("request_file_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", TS, nullable=True),
        sa.Column("response_file_id", sa.Integer(), nullable=True),
        sa.Column("responded_at", TS, nullable=True),
        sa.Column("status_category", sa.String(3), nullable=True),
        sa.Column("status_code", sa.String(30), nullable=True),
        sa.Column("status", sa.String(24), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=f"pk_{TABLE}"),
        _fk("claim_id", "claims"),
        _fk("request_file_id", "files"),
        _fk("response_file_id", "files"),
        sa.UniqueConstraint("trace_number", name=f"uq_{TABLE}_trace_number"),
    )
    op.create_index(f"ix_{TABLE}_claim_id", TABLE, ["claim_id"])
    op.create_index(f"ix_{TABLE}_patient_control_number", TABLE, ["patient_control_number"])


def downgrade() -> None:
    op.drop_table(TABLE)
