"""explanation records (hash-chained) and their external ids

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create explanation_records (one hash chain per project) and explanation_external_ids."""
    op.create_table(
        "explanation_records",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.String(40), nullable=False, unique=True),
        sa.Column("project", sa.String(200), nullable=False),
        sa.Column("subject_kind", sa.String(32), nullable=False),
        sa.Column("subject_id", sa.String(200), nullable=False),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("previous_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index(
        "ix_explanation_records_subject",
        "explanation_records",
        ["project", "subject_kind", "subject_id"],
    )
    op.create_table(
        "explanation_external_ids",
        sa.Column("record_id", sa.String(40), nullable=False),
        sa.Column("project", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("value", sa.String(500), nullable=False),
        sa.PrimaryKeyConstraint("record_id", "name"),
    )
    op.create_index(
        "ix_explanation_external_ids_value",
        "explanation_external_ids",
        ["project", "name", "value"],
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("explanation_external_ids")
    op.drop_table("explanation_records")
