"""alert runtime: series states, transitions, notifications, groups, monitor cursors

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the alert runtime tables (see `llmpulse.store.state.alert_tables`)."""
    op.create_table(
        "alert_series",
        sa.Column("project", sa.String(200), primary_key=True),
        sa.Column("series_key", sa.String(600), primary_key=True),
        sa.Column("monitor", sa.String(200), nullable=False),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_alert_series_monitor", "alert_series", ["project", "monitor"])
    op.create_table(
        "alert_transitions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("project", sa.String(200), nullable=False),
        sa.Column("monitor", sa.String(200), nullable=False),
        sa.Column("series_key", sa.String(600), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=False),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
    )
    op.create_index("ix_alert_transitions_time", "alert_transitions", ["project", "at"])
    op.create_index(
        "ix_alert_transitions_monitor", "alert_transitions", ["project", "monitor", "at"]
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("project", sa.String(200), nullable=False),
        sa.Column("receiver", sa.String(200), nullable=False),
        sa.Column("group_key", sa.String(600), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False, server_default=""),
        sa.Column("firing", sa.Text(), nullable=False),
        sa.Column("resolved", sa.Text(), nullable=False),
        sa.Column("alerts", sa.Text(), nullable=False),
    )
    op.create_index("ix_notifications_time", "notifications", ["project", "at"])
    op.create_index("ix_notifications_group", "notifications", ["receiver", "group_key", "at"])
    op.create_table(
        "alert_groups",
        sa.Column("receiver", sa.String(200), primary_key=True),
        sa.Column("group_key", sa.String(600), primary_key=True),
        sa.Column("project", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("alerts", sa.Text(), nullable=False),
    )
    op.create_table(
        "monitor_cursors",
        sa.Column("project", sa.String(200), primary_key=True),
        sa.Column("monitor", sa.String(200), primary_key=True),
        sa.Column("last_eval_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False, server_default=""),
        sa.Column("duration_ms", sa.Float(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    """Drop the alert runtime tables."""
    for name in ("monitor_cursors", "alert_groups", "notifications"):
        op.drop_table(name)
    op.drop_index("ix_alert_transitions_monitor", "alert_transitions")
    op.drop_index("ix_alert_transitions_time", "alert_transitions")
    op.drop_table("alert_transitions")
    op.drop_index("ix_alert_series_monitor", "alert_series")
    op.drop_table("alert_series")
