"""Tables of the alert runtime: series states, transitions, notifications, pipeline timers.

Created by migration 0005. Alert timers live here, not in memory (STYLE 2.7): a restart
neither drops nor repeats a notification, and catch-up knows where each monitor stopped.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, String, Table, Text

from llmpulse.store.state.tables import UtcDateTime, metadata

alert_series = Table(
    "alert_series",
    metadata,
    Column("project", String(200), primary_key=True),
    Column("series_key", String(600), primary_key=True),
    Column("monitor", String(200), nullable=False),
    Column("labels", Text(), nullable=False),  # JSON object
    Column("status", String(16), nullable=False),
    Column("since", UtcDateTime(), nullable=True),
    Column("state", Text(), nullable=False),  # JSON of the monitors' AlertState
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_alert_series_monitor", "project", "monitor"),
)
"""The current state of every alert series (one row per monitor x segment)."""

alert_transitions = Table(
    "alert_transitions",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("project", String(200), nullable=False),
    Column("monitor", String(200), nullable=False),
    Column("series_key", String(600), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("from_status", String(16), nullable=False),
    Column("to_status", String(16), nullable=False),
    Column("reason", Text(), nullable=False),
    Column("labels", Text(), nullable=False),  # JSON object
    Column("evidence", Text(), nullable=False),  # JSON: value, baseline, bounds, window, ...
    Column("value", Float(), nullable=True),
    Index("ix_alert_transitions_time", "project", "at"),
    Index("ix_alert_transitions_monitor", "project", "monitor", "at"),
)
"""Every status change of every alert series, with its evidence (history, incidents)."""

notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("project", String(200), nullable=False),
    Column("receiver", String(200), nullable=False),
    Column("group_key", String(600), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("status", String(16), nullable=False),  # sent | failed
    Column("attempts", Integer(), nullable=False),
    Column("error", Text(), nullable=False, server_default=""),
    Column("firing", Text(), nullable=False),  # JSON list of fingerprints
    Column("resolved", Text(), nullable=False),  # JSON list of fingerprints
    Column("alerts", Text(), nullable=False),  # JSON list of alert names, for display
    Index("ix_notifications_time", "project", "at"),
    Index("ix_notifications_group", "receiver", "group_key", "at"),
)
"""The notification log: what was sent (or failed) to whom, with attempts and error."""

alert_groups = Table(
    "alert_groups",
    metadata,
    Column("receiver", String(200), primary_key=True),
    Column("group_key", String(600), primary_key=True),
    Column("project", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("alerts", Text(), nullable=False),  # JSON list of alerts (labels, start, end, notes)
)
"""Alert groups of the dispatcher with their creation time (group_wait counts from it)."""

monitor_cursors = Table(
    "monitor_cursors",
    metadata,
    Column("project", String(200), primary_key=True),
    Column("monitor", String(200), primary_key=True),
    Column("last_eval_at", UtcDateTime(), nullable=False),
    Column("last_error", Text(), nullable=False, server_default=""),
    Column("duration_ms", Float(), nullable=False, server_default="0"),
)
"""Where each monitor's evaluations stand: the scheduler catches up from here after a restart."""
