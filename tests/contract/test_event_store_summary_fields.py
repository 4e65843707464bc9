"""EventStore contract: ``fields="summary"`` lists the same spans in the same order as
``full``, each with the bulky fields left out and the input as its stored preview (ADR 0045)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from store_factories import make_full_span, make_span, span_id, trace_id

from llmpulse.domain.errors import InvalidInput
from llmpulse.domain.ids import ProjectName
from llmpulse.domain.spans import Message, Span
from llmpulse.store.api import EventStore, SpanQuery
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.events.layout import INPUT_PREVIEW_SQL, PREVIEW_CHARS
from llmpulse.store.events.migrate import load_migrations

P = ProjectName("rich")
LONG = "ü" + "Why is the sky blue at noon but red at dusk? " * 8  # > 160 characters
INDENTED = json.dumps({"question": "why?", "context": ["a", "b"] * 20}, indent=8)  # mostly blanks


def _spans() -> list[Span]:
    """Twelve spans of three traces: long, short, empty and missing inputs, with messages."""
    out = []
    for n in range(12):
        parent = None if n < 3 else span_id(10_000 + n % 3)  # spans 0-2 are the roots
        s = make_full_span(
            n,
            trace_id=trace_id(n % 3),
            parent_span_id=parent,
            cost_usd=n / 1000,
            total_tokens=7 * n,
        )
        s = replace(s, end_time=s.start_time + timedelta(milliseconds=(n * 37) % 11 * 90 + 5))
        if n == 8:
            s = replace(s, input_value=INDENTED)
        elif n % 4 == 0:
            s = replace(s, input_value=LONG)
        elif n % 4 == 1:  # no input value: the last input message is the preview
            s = replace(s, input_value=None, input_messages=(Message("user", LONG[::-1]),))
        elif n % 4 == 2:  # an empty input value counts as none
            s = replace(s, input_value="", input_messages=(Message("user", "short"),))
        else:  # nothing to preview
            s = replace(s, input_value=None, input_messages=())
        out.append(s)
    return out


def _preview(s: Span) -> str | None:
    """The start of the input on one line, ending in "…" when cut (`listing.summary_rows`)."""
    text = s.input_value or (s.input_messages[-1].content if s.input_messages else None)
    if text is None:
        return None
    line = re.sub(r"[ \t\n\r\f]+", " ", text[:PREVIEW_CHARS])
    return line + "…" if len(text) > PREVIEW_CHARS else line


def _summary(s: Span) -> Span:
    """What ``fields="summary"`` promises of ``s``."""
    return replace(
        s,
        input_value=_preview(s),
        output_value=None,
        status_message="",
        exception_message=None,
        input_messages=(),
        output_messages=(),
        documents=(),
        events=(),
        attributes={},
        resource_attributes={},
    )


def _walk(store: EventStore, fields: str, **kw: Any) -> list[Span]:
    got: list[Span] = []
    cursor = None
    while True:
        q = SpanQuery(project=P, limit=5, cursor=cursor, fields=fields, **kw)
        page = store.list_spans(q)
        got.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return got


@pytest.mark.parametrize(
    "sort", ["time", "latency", "tokens", "cost", "trace_cost", "trace_tokens", "trace_latency"]
)
@pytest.mark.parametrize("descending", [True, False])
def test_summary_pages_hold_the_full_pages_spans_with_the_bulk_left_out(
    event_store: EventStore, sort: str, descending: bool
) -> None:
    event_store.append_spans(_spans())
    full = _walk(event_store, "full", sort=sort, descending=descending)
    summary = _walk(event_store, "summary", sort=sort, descending=descending)
    assert len(full) == (3 if sort.startswith("trace_") else 12)
    assert [s.span_id for s in summary] == [s.span_id for s in full]
    assert summary == [_summary(s) for s in full]
    previews = {s.input_value for s in summary}
    assert LONG[:PREVIEW_CHARS] + "…" in previews  # cut at 160 characters, not bytes
    assert LONG[::-1][:PREVIEW_CHARS] + "…" in previews
    assert "short" in previews
    if not sort.startswith("trace_"):  # span 8, a child, holds the indented input
        (indented,) = [s.input_value for s in summary if s.span_id == span_id(10_008)]
        assert indented is not None
        assert "\n" not in indented
        assert "  " not in indented
        assert indented.endswith("…")


def test_summary_applies_to_searches_and_filters(event_store: EventStore) -> None:
    spans = _spans()
    spans[5] = replace(spans[5], output_value="the okapi answer")
    event_store.append_spans(spans)
    for kw in (
        {"text": "okapi"},
        {"text": "okapi", "sort": "latency"},
        {"trace_id": spans[5].trace_id},
    ):
        full = _walk(event_store, "full", **kw)
        assert full
        assert _walk(event_store, "summary", **kw) == [_summary(s) for s in full]


def test_unknown_fields_are_refused_naming_the_parameter(event_store: EventStore) -> None:
    with pytest.raises(InvalidInput) as e:
        event_store.list_spans(SpanQuery(project=P, fields="everything"))
    assert [f.path for f in e.value.errors] == ["fields"]


def test_spans_stored_before_the_preview_existed_get_one(tmp_path: Path) -> None:
    """Migration 0006 derives the preview of rows stored under layout v6."""
    path = tmp_path / "events.duckdb"
    store = DuckDBEventStore(path, journal=False)
    store.append_spans(_spans())
    store.close()
    con = duckdb.connect(str(path))  # back to schema version 5: no input_preview column
    con.execute("ALTER TABLE spans DROP COLUMN input_preview")
    con.execute("DELETE FROM schema_version WHERE version >= 6")
    con.close()
    store = DuckDBEventStore(path, journal=False)
    try:
        got = _walk(store, "summary", sort="latency")
        assert got == [_summary(s) for s in _walk(store, "full", sort="latency")]
        assert sum(s.input_value is not None for s in got) == 9
    finally:
        store.close()


def _all_rows(store: DuckDBEventStore) -> list[Span]:
    got: list[Span] = []
    q = SpanQuery(project=P, sort="latency", fields="summary", limit=1000)
    while True:
        page = store.list_spans(q)
        got += page.items
        if page.next_cursor is None:
            return got
        q = replace(q, cursor=page.next_cursor)


def _preview_compression(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT DISTINCT compression FROM pragma_storage_info('spans') "
        "WHERE column_name = 'input_preview' AND segment_type = 'VARCHAR'"
    ).fetchall()
    return {r[0] for r in rows}


def test_previews_are_stored_uncompressed_and_a_compaction_makes_them_so(tmp_path: Path) -> None:
    """Scattered rows read their preview by row id; a compressed string costs a row group's
    worth for each (ADR 0047). New stores keep previews plain; a table made by migration
    0006 before it said so (DuckDB compressed its repeated previews) gets plain previews,
    row for row, from a compaction, whose new file the migrations make."""
    path = tmp_path / "events.duckdb"
    spans = [
        replace(s, span_id=span_id(1000 * k + i))
        for k in range(200)
        for i, s in enumerate(_spans())
    ]
    store = DuckDBEventStore(path, journal=False)
    store.append_spans(spans)
    want = _all_rows(store)
    store.close()
    con = duckdb.connect(str(path))
    assert _preview_compression(con) == {"Uncompressed"}
    # The table as 0006 made it before: the same columns, compressed as DuckDB chooses.
    con.execute("CREATE TABLE spans_v7 AS SELECT * FROM spans")
    con.execute("DROP TABLE spans")
    con.execute("ALTER TABLE spans_v7 RENAME TO spans")
    con.execute("CHECKPOINT")
    assert "Uncompressed" not in _preview_compression(con)
    con.close()
    store = DuckDBEventStore(path, journal=False)
    try:
        assert _all_rows(store) == want
        assert store.compact() is not None
        assert _all_rows(store) == want
        assert len(want) == len(spans)
    finally:
        store.close()
    con = duckdb.connect(str(path))
    assert _preview_compression(con) == {"Uncompressed"}
    con.close()


def test_migration_derives_the_preview_with_the_store_expression() -> None:
    sql = next(m.sql for m in load_migrations("duckdb") if m.name == "input_preview")
    assert INPUT_PREVIEW_SQL in sql


def test_a_plain_span_keeps_its_fields_in_summary(event_store: EventStore) -> None:
    span = make_span(1, project=P, model="m", total_tokens=3, session_id="s", tags=("a",))
    event_store.append_spans([span])
    (got,) = event_store.list_spans(SpanQuery(project=P, fields="summary")).items
    assert got == span
    assert got.span_id == span_id(1)
