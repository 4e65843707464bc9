"""Query compiler: cursors, escaping, key resolution and the JSON pre-filter rule."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from llmpulse.domain.errors import InvalidInput
from llmpulse.domain.ids import ProjectName
from llmpulse.store.api import AttrEquals, SpanQuery, TimeRange
from llmpulse.store.events.columns import json_path, resolve_attribute_key
from llmpulse.store.events.compiler import (
    _json_prefilter_value,
    compile_filters,
    decode_cursor,
    encode_cursor,
    escape_like,
)
from llmpulse.store.events.duckdb import DIALECT


def test_cursor_round_trips_microseconds_and_span_id() -> None:
    start = datetime(2026, 11, 23, 12, 0, 0, 123456)
    assert decode_cursor(encode_cursor(start, "00ab")) == (start, "00ab")


def test_cursor_round_trips_before_epoch() -> None:
    start = datetime(1969, 12, 31, 23, 59, 59, 999999)
    assert decode_cursor(encode_cursor(start, "x")) == (start, "x")


def test_escape_like_escapes_wildcards_and_escape_char() -> None:
    assert escape_like(r"50%_a\b") == r"50\%\_a\\b"


@pytest.mark.parametrize(
    ("key", "column", "json_key"),
    [
        ("session_id", "session_id", None),
        ("prediction_id", "prediction_id", None),
        ("metadata.tier", "metadata", "tier"),
        ("metadata.a.b", "metadata", "a.b"),
        ("llm.model_name", "attributes", "llm.model_name"),
        ("tag", "tags", None),
    ],
)
def test_resolve_attribute_key_maps_each_form(key: str, column: str, json_key: str | None) -> None:
    ref = resolve_attribute_key(key, "k")
    assert (ref.column, ref.json_key) == (column, json_key)


def test_json_path_quotes_dotted_keys() -> None:
    assert json_path("a.b") == '$."a.b"'


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("gold", True),
        ("42", True),
        ("-7", True),
        ("1.5", False),
        ("1e3", False),
        ("nan", False),
        ('a"b', False),
        ("a\\b", False),
        ("tab\there", False),
        ("", True),
    ],
)
def test_prefilter_applies_only_when_value_text_is_verbatim(value: str, safe: bool) -> None:
    assert _json_prefilter_value(value) is safe


def test_compile_filters_binds_every_user_value() -> None:
    hostile = "'; DROP TABLE spans; --"
    q = SpanQuery(
        project=ProjectName(hostile),
        time=TimeRange(datetime(2026, 1, 1, tzinfo=UTC), None),
        names=(hostile,),
        attributes=(AttrEquals("metadata.k", hostile), AttrEquals("tag", hostile)),
        text=hostile,
    )
    where = compile_filters(q, DIALECT)
    assert hostile not in where.sql()
    assert where.sql().count("?") == len(where.params)


def test_compile_filters_rejects_naive_time() -> None:
    q = SpanQuery(project=ProjectName("p"), time=TimeRange(datetime(2026, 1, 1), None))
    with pytest.raises(InvalidInput):
        compile_filters(q, DIALECT)
