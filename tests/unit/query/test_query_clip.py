"""clip_span cuts every long value of a span and names it; full_value gives it back whole."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from llmpulse.domain.errors import InvalidInput, NotFound
from llmpulse.domain.ids import ProjectName, SpanId, TraceId
from llmpulse.domain.spans import Message, RetrievedDocument, Span, SpanEvent, SpanKind
from llmpulse.query.clip import MAX_CHARS, MAX_ITEMS, Clipped, clip_span, full_value

T = datetime(2026, 1, 1, tzinfo=UTC)
LONG = "x" * (MAX_CHARS + 1)


def span(**fields: object) -> Span:
    base: dict[str, object] = {
        "project": ProjectName("p"), "trace_id": TraceId("1" * 32), "span_id": SpanId("2" * 16),
        "parent_span_id": None, "name": "llm", "kind": SpanKind.LLM, "start_time": T,
        "end_time": T,
    }  # fmt: skip
    return Span(**{**base, **fields})  # type: ignore[arg-type]


def test_a_span_without_long_values_is_returned_as_it_is() -> None:
    s = span(input_value="x" * MAX_CHARS, attributes={"a": "b", "n": [1, 2]})
    assert clip_span(s) == (s, ())


def test_every_kind_of_long_value_is_cut_and_named() -> None:
    s = span(
        name=LONG,
        input_value=LONG,
        attributes={"big": LONG, "nested": {"k": [LONG]}, "small": 1},
        metadata={"blob": LONG},
        input_messages=(Message("user", LONG),),
        documents=(RetrievedDocument("d", "short", metadata={"m": LONG}),),
        events=tuple(SpanEvent("e", T) for _ in range(MAX_ITEMS + 1)),
    )
    shown, clipped = clip_span(s)
    assert set(clipped) == {
        Clipped("name"), Clipped("input_value"), Clipped("attributes", "big"),
        Clipped("attributes", "nested"), Clipped("metadata", "blob"),
        Clipped("input_messages", "0"), Clipped("documents", "0"), Clipped("events"),
    }  # fmt: skip
    assert shown.input_value == "x" * MAX_CHARS + "…"
    assert isinstance(shown.attributes["nested"], str)
    assert len(shown.attributes["nested"]) == MAX_CHARS + 1
    assert shown.attributes["small"] == 1
    assert shown.documents[0].metadata == {}
    assert len(shown.events) == MAX_ITEMS
    assert full_value(s, "input_messages", "0") == {
        "role": "user", "content": LONG, "tool_calls": []
    }  # fmt: skip
    assert full_value(s, "attributes", "big") == LONG
    assert full_value(s, "input_value", None) == LONG


def test_url_quotes_the_key() -> None:
    assert Clipped("attributes", "a b&c").url("ab") == (
        "/api/v1/spans/ab/value?field=attributes&key=a%20b%26c"
    )


@pytest.mark.parametrize(
    ("field", "key", "error"),
    [
        ("secret", None, InvalidInput),
        ("attributes", "missing", NotFound),
        ("events", "x", InvalidInput),
        ("events", "3", NotFound),
        ("input_value", "k", InvalidInput),
    ],
)
def test_full_value_names_a_bad_field_or_key(field: str, key: str | None, error: type) -> None:
    with pytest.raises(error):
        full_value(span(), field, key)
