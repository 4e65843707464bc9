"""SQLAlchemy Core tables of the state store (SQLite and PostgreSQL alike).

Instants are stored as UTC and always come back timezone-aware (`UtcDateTime`), whatever
the engine does with time zones.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Dialect, Integer, MetaData, String, Table, Text
from sqlalchemy.types import TypeDecorator

metadata = MetaData()


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and read back as an aware UTC `datetime`."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive values; store aware ones as naive UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("state store times must be timezone-aware")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to what the engine returns."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


projects = Table(
    "projects",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("description", Text(), nullable=False, server_default=""),
)

documents = Table(
    "documents",
    metadata,
    Column("kind", String(64), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("body", Text(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)
"""Small named configuration documents (price table overrides, saved cohorts), as JSON text."""

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("token_sha256", String(64), nullable=False),
    Column("scopes", String(64), nullable=False),  # comma-separated Scope values, sorted
    Column("project", String(200), nullable=True),  # NULL: every project
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
)
"""API keys: only the SHA-256 of each token is kept (`llmpulse.governance.keys`)."""

explanation_records = Table(
    "explanation_records",
    metadata,
    Column("seq", Integer(), primary_key=True, autoincrement=True),
    Column("record_id", String(40), nullable=False, unique=True),
    Column("project", String(200), nullable=False),
    Column("subject_kind", String(32), nullable=False),
    Column("subject_id", String(200), nullable=False),
    Column("method", String(64), nullable=False),
    Column("body", Text(), nullable=False),  # canonical JSON of the hashed record
    Column("created_at", UtcDateTime(), nullable=False),
    Column("previous_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
"""Immutable explanation records, one hash chain per project (`llmpulse.explain.records`)."""

explanation_external_ids = Table(
    "explanation_external_ids",
    metadata,
    Column("record_id", String(40), primary_key=True),
    Column("project", String(200), nullable=False),
    Column("name", String(200), primary_key=True),
    Column("value", String(500), nullable=False),
)
"""External record ids (a case id) of each explanation record, for search."""
slos = Table(
    "slos",
    metadata,
    Column("project", String(200), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("spec", Text(), nullable=False),  # the llmpulse/v1 kind: SLO manifest, as JSON
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)
"""SLO definitions (issue 11); their status is computed from the events, never stored."""
