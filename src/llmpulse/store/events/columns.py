"""The logical event schema: typed columns for what queries touch, JSON for the rest.

Every event engine stores these columns under these names, in this order; the engine's
migrations create them and a contract test checks that they match. Instants are UTC with
microsecond precision (the precision of `datetime`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from llmpulse.domain.errors import FieldError, InvalidInput


class ColumnType(StrEnum):
    """Logical column types; each engine maps them to its own."""

    TEXT = "text"
    INT = "int"
    FLOAT = "float"
    TIMESTAMP = "timestamp"
    JSON = "json"
    TEXT_LIST = "text_list"


@dataclass(frozen=True, slots=True)
class Column:
    """One column of an event table."""

    name: str
    type: ColumnType
    nullable: bool = True


_T, _I, _F, _TS, _J, _L = (
    ColumnType.TEXT,
    ColumnType.INT,
    ColumnType.FLOAT,
    ColumnType.TIMESTAMP,
    ColumnType.JSON,
    ColumnType.TEXT_LIST,
)

SPAN_COLUMNS: tuple[Column, ...] = (
    Column("project", _T, nullable=False),
    Column("trace_id", _T, nullable=False),
    Column("span_id", _T, nullable=False),
    Column("parent_span_id", _T),
    Column("name", _T, nullable=False),
    Column("kind", _T, nullable=False),
    Column("start_time", _TS, nullable=False),
    Column("end_time", _TS, nullable=False),
    Column("latency_ms", _F, nullable=False),
    Column("status_code", _T, nullable=False),
    Column("status_message", _T, nullable=False),
    Column("model", _T),
    Column("provider", _T),
    Column("prompt_tokens", _I),
    Column("completion_tokens", _I),
    Column("total_tokens", _I),
    Column("cost_usd", _F),
    Column("session_id", _T),
    Column("user_id", _T),
    Column("environment", _T),
    Column("version", _T),
    Column("prediction_id", _T),
    Column("http_status", _I),
    Column("input_value", _T),
    Column("output_value", _T),
    Column("exception_type", _T),
    Column("exception_message", _T),
    Column("input_messages", _J),
    Column("output_messages", _J),
    Column("documents", _J),
    Column("events", _J),
    Column("metadata", _J),
    Column("attributes", _J),
    Column("resource_attributes", _J),
    Column("tags", _L),
)
SPAN_COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in SPAN_COLUMNS)

ANNOTATION_COLUMNS: tuple[Column, ...] = (
    Column("id", _T, nullable=False),
    Column("project", _T, nullable=False),
    Column("span_id", _T),
    Column("prediction_id", _T),
    Column("name", _T, nullable=False),
    Column("annotator_kind", _T, nullable=False),
    Column("created_at", _TS, nullable=False),
    Column("label", _T),
    Column("score", _F),
    Column("explanation", _T),
    Column("metadata", _J),
)
ANNOTATION_COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in ANNOTATION_COLUMNS)

# `AttrEquals` keys answered by a typed column rather than by JSON (see store.api).
TYPED_ATTRIBUTE_KEYS: frozenset[str] = frozenset(
    {"session_id", "user_id", "environment", "version", "provider", "prediction_id"}
)
# OpenInference names of typed columns, accepted wherever a key is (filters, group-by, cohorts).
KEY_ALIASES: dict[str, str] = {"session.id": "session_id", "user.id": "user_id"}
TAG_KEY = "tag"
METADATA_PREFIX = "metadata."

# Keys that may be turned into a JSON path. OTLP keys are dotted ASCII words
# (`llm.model_name`, `http.response.status_code`); anything else is refused rather than quoted.
KEY_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_.\-:/@]{0,255}"
_KEY_RE = re.compile(KEY_PATTERN)


@dataclass(frozen=True, slots=True)
class AttributeRef:
    """Where an `AttrEquals` key lives: a typed column, the tags list or a JSON key."""

    column: str
    json_key: str | None = None  # None: compare the column itself
    is_tag: bool = False


def resolve_attribute_key(key: str, path: str) -> AttributeRef:
    """Map an `AttrEquals` key to the column (and JSON key) that holds it.

    Args:
        key: the key as the caller gave it.
        path: field path used in the error, e.g. ``attributes[0].key``.

    Raises:
        InvalidInput: the key is empty or holds characters a key may not hold.
    """
    key = canonical_key(key)
    if key in TYPED_ATTRIBUTE_KEYS:
        return AttributeRef(column=key)
    if key == TAG_KEY:
        return AttributeRef(column="tags", is_tag=True)
    column, json_key = "attributes", key
    if key.startswith(METADATA_PREFIX):
        column, json_key = "metadata", key[len(METADATA_PREFIX) :]
    return AttributeRef(column=column, json_key=checked_json_key(json_key, path, shown=key))


def canonical_key(key: str) -> str:
    """The typed column an OpenInference key names (``session.id`` → ``session_id``), or
    ``key`` itself."""
    return KEY_ALIASES.get(key, key)


def checked_json_key(json_key: str, path: str, *, shown: str | None = None) -> str:
    """``json_key`` if it may name a JSON attribute; an `InvalidInput` naming ``path`` if not.

    Raises:
        InvalidInput: the key is empty, too long or holds a character outside the key set
            (a ``"`` or ``\\`` would otherwise end or escape the quoted JSON path).
    """
    if not _KEY_RE.fullmatch(json_key):
        raise InvalidInput(
            f"attribute key {shown if shown is not None else json_key!r} is not a valid key",
            [FieldError(path, "letters, digits and _ . - : / @ only, at most 256")],
        )
    return json_key


def json_path(json_key: str) -> str:
    """The JSON path that names one top-level key, quoted so dots stay part of the key (and
    escaped, so that no key can end the quotes: keys are also checked before they get here)."""
    escaped = json_key.replace("\\", "\\\\").replace('"', '\\"')
    return f'$."{escaped}"'
