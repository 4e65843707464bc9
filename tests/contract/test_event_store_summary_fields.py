"""EventStore contract: ``fields="summary"`` lists the same spans in the same order as
``full``, each with the bulky fields left out and the input as its stored preview (ADR 0045),
read from the summary row kept whole in one column (ADR 0057)."""

from __future__ import annotations

import json
import math
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
from llmpulse.store.events import summary_row
from llmpulse.store.events.columns import SPAN_COLUMN_NAMES
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.events.layout import INPUT_PREVIEW_SQL, PREVIEW_CHARS, SUMMARY_ROW_SQL
from llmpulse.store.events.migrate import load_migrations

P = ProjectName("rich")
COST = SPAN_COLUMN_NAMES.index("cost_usd")
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
    """Migrations 0006 and 0007 derive the summary row of rows stored under layout v6."""
    path = tmp_path / "events.duckdb"
    store = DuckDBEventStore(path, journal=False)
    store.append_spans(_spans())
    store.close()
    con = duckdb.connect(str(path))  # back to schema version 5: no preview, no summary row
    con.execute("ALTER TABLE spans DROP COLUMN summary_row")
    con.execute("DELETE FROM schema_version WHERE version >= 6")
    con.close()
    store = DuckDBEventStore(path, journal=False)
    try:
        got = _walk(store, "summary", sort="latency")
        assert got == [_summary(s) for s in _walk(store, "full", sort="latency")]
        assert sum(s.input_value is not None for s in got) == 9
    finally:
        store.close()


def test_spans_stored_with_a_preview_column_get_a_summary_row(tmp_path: Path) -> None:
    """Migration 0007 replaces layout v7's preview column by the summary row."""
    path = tmp_path / "events.duckdb"
    store = DuckDBEventStore(path, journal=False)
    store.append_spans(_spans())
    store.close()
    con = duckdb.connect(str(path))  # back to schema version 6: the preview column alone
    con.execute("ALTER TABLE spans DROP COLUMN summary_row")
    con.execute("ALTER TABLE spans ADD COLUMN input_preview VARCHAR")
    con.execute(f"UPDATE spans SET input_preview = {INPUT_PREVIEW_SQL}")
    con.execute("DELETE FROM schema_version WHERE version >= 7")
    con.close()
    store = DuckDBEventStore(path, journal=False)
    try:
        got = _walk(store, "summary", sort="cost")
        assert got == [_summary(s) for s in _walk(store, "full", sort="cost")]
        assert len(got) == 12
    finally:
        store.close()
    con = duckdb.connect(str(path))
    names = [r[0] for r in con.execute("DESCRIBE spans").fetchall()]
    con.close()
    assert "input_preview" not in names
    assert names[-1] == summary_row.COLUMN


_ODD_TEXT = 'quote " backslash \\ newline\n tab\t nul-free ü 😀 \u2028 </script>'


def _odd_spans() -> list[Span]:
    """Spans whose values a JSON round trip could bend: escapes, astral characters, the
    extremes of doubles and integers, a negative zero, empty and odd tags, nested metadata."""
    costs = [0.1 + 0.2, 5e-324, 1.7976931348623157e308, -0.0, 1e-7, None, 123456789.12345679]
    out = []
    for n, cost in enumerate(costs):
        s = make_full_span(n, trace_id=trace_id(n), parent_span_id=None)
        out.append(
            replace(
                s,
                name=f"{_ODD_TEXT} {n}",
                model=_ODD_TEXT if n % 2 else None,
                cost_usd=cost,
                prompt_tokens=2**62 + n if n % 3 == 0 else None,
                total_tokens=-1 if n == 4 else s.total_tokens,
                session_id="" if n == 2 else _ODD_TEXT,
                user_id=None if n == 3 else "ü",
                http_status=None if n == 5 else 599,
                input_value=_ODD_TEXT * (n + 1),
                metadata={"k": _ODD_TEXT, "deep": {"list": [1.5, None, True, "x"]}, "n": n},
                tags=("", _ODD_TEXT, "ü") if n % 2 else (),
                start_time=s.start_time + timedelta(microseconds=999_877 - n),
            )
        )
    return out


def test_summary_rows_keep_every_value_exactly_through_a_compaction(tmp_path: Path) -> None:
    """The summary row holds what the columns hold, type for type: the store's rows read from
    it equal those read from the columns, before and after a compaction (whose new file the
    migrations make) and under every sort (rows read by row id or by a scan)."""
    path = tmp_path / "events.duckdb"
    spans = _odd_spans()
    columns = ", ".join(
        ("''" if n == "status_message" else "NULL")
        if n in summary_row.SUMMARY_CONSTANTS
        else (INPUT_PREVIEW_SQL if n == "input_value" else n)
        for n in SPAN_COLUMN_NAMES
    )
    store = DuckDBEventStore(path, journal=False)
    try:
        store.append_spans(spans)
        for compacted in (False, True):
            if compacted:
                assert store.compact() is not None
            plain = store._query(f"SELECT {columns} FROM spans ORDER BY span_id")
            kept = store._query(
                f"SELECT {summary_row.COLUMN} AS {summary_row.MARK} FROM spans ORDER BY span_id"
            )
            assert len(plain) == len(spans)
            assert [[(type(v), v) for v in r] for r in kept] == [
                [(type(v), v) for v in r] for r in plain
            ]
            signs = [math.copysign(1, r[COST]) for r in kept if r[COST] == 0]
            assert signs == [-1.0]  # the negative zero kept its sign
            for sort in ("time", "latency", "cost", "trace_cost"):
                full = _walk(store, "full", sort=sort)
                assert _walk(store, "summary", sort=sort) == [_summary(s) for s in full]
                assert len(full) == len(spans)
    finally:
        store.close()


def test_migration_derives_the_preview_with_the_store_expression() -> None:
    sql = next(m.sql for m in load_migrations("duckdb") if m.name == "input_preview")
    assert INPUT_PREVIEW_SQL in sql


def test_migration_derives_the_summary_row_with_the_store_expression() -> None:
    sql = next(m.sql for m in load_migrations("duckdb") if m.name == "summary_row")
    assert SUMMARY_ROW_SQL in sql


def test_a_plain_span_keeps_its_fields_in_summary(event_store: EventStore) -> None:
    span = make_span(1, project=P, model="m", total_tokens=3, session_id="s", tags=("a",))
    event_store.append_spans([span])
    (got,) = event_store.list_spans(SpanQuery(project=P, fields="summary")).items
    assert got == span
    assert got.span_id == span_id(1)


def _edge_spans() -> list[Span]:
    """Previews at their edges: a cut inside combining marks and astral characters, an empty
    value with an empty or missing last message, whole numbers given for doubles."""
    marks = "e\u0301" * 200  # 400 code points: the cut falls between a letter and its accent
    astral = "😀" * 170
    cases: list[dict[str, Any]] = [
        {"input_value": marks},
        {"input_value": None, "input_messages": (Message("user", "x"), Message("user", astral))},
        {"input_value": "", "input_messages": (Message("user", ""),)},
        {"input_value": "", "input_messages": ()},
        {"input_value": "a" * 161},
        {"input_value": "a" * 162, "cost_usd": 0, "total_tokens": 0},
        {"input_value": None, "input_messages": (Message("user", "ü" * 161),), "tags": ("t",)},
    ]
    return [
        replace(make_full_span(100 + n, trace_id=trace_id(100 + n), parent_span_id=None), **kw)
        for n, kw in enumerate(cases)
    ]


def test_the_summary_row_ingest_builds_equals_the_one_sql_derives(tmp_path: Path) -> None:
    """Ingest builds the array in Python (ADR 0059); the migrations and the journal's replay
    derive it with `SUMMARY_ROW_SQL`. For every span, both read back the same values, type for
    type, and a double's sign."""
    odd = [replace(s, project=ProjectName("odd")) for s in _odd_spans()]
    spans = _spans() + odd + _edge_spans()
    store = DuckDBEventStore(tmp_path / "events.duckdb", journal=False)
    try:
        store.append_spans(spans)
        rows = store._query(f"SELECT span_id, {summary_row.COLUMN}, {SUMMARY_ROW_SQL} FROM spans")
    finally:
        store.close()
    assert len(rows) == len(spans)
    differ = []
    for span, built, derived in rows:
        got, want = json.loads(built), json.loads(derived)
        typed = [(type(v), v, math.copysign(1, v) if isinstance(v, float) else 0) for v in got]
        if typed != [
            (type(v), v, math.copysign(1, v) if isinstance(v, float) else 0) for v in want
        ]:
            differ.append(span)
    assert differ == []
    previews = {
        json.loads(built)[summary_row.SUMMARY_FIELDS.index("input_value")] for _, built, _ in rows
    }
    assert {"e\u0301" * 80 + "e", "😀" * 161, "", None, "a" * 161} <= previews
