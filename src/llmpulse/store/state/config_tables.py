"""Tables of configuration-as-code objects and of the audit log (revision 0004).

Kept beside `tables.py` (same `metadata`) so that each feature's tables stay in its own module.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from llmpulse.store.state.tables import UtcDateTime, metadata

config_objects = Table(
    "config_objects",
    metadata,
    Column("kind", String(64), primary_key=True),
    Column("project", String(200), primary_key=True),  # "" for objects of no project
    Column("name", String(200), primary_key=True),
    Column("spec", Text(), nullable=False),  # canonical JSON of the manifest's spec
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("updated_by", String(200), nullable=False),
)
"""Monitors, alert routes, receivers and silences: one row per (kind, project, name)."""

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(32), nullable=False),  # create, update, delete, expire
    Column("kind", String(64), nullable=False),
    Column("project", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("before", Text(), nullable=True),  # the spec's JSON before the change, if any
    Column("after", Text(), nullable=True),  # and after it
    Index("audit_log_at", "at"),
)
"""Every change to a configuration object: who, when, what, before and after."""
