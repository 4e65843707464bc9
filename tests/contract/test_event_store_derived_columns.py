"""EventStore contract: the derived span columns ingest builds in Python (ADR 0059) are those
the store's SQL derives (`layout`), value for value, and a batch whose values Python cannot
reproduce exactly leaves its column to SQL."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pytest
from store_factories import make_full_span, make_rag_span, trace_id

from llmpulse.domain.spans import Message, RetrievedDocument, Span
from llmpulse.store.events import derived, summary_row
from llmpulse.store.events.codec import spans_to_arrow
from llmpulse.store.events.columns import SPAN_COLUMN_NAMES
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.events.journal import SPANS, journal_path, read_journal
from llmpulse.store.events.layout import (
    DERIVED_NAMES,
    DERIVED_SQL,
    METADATA_KV_COLUMN,
    SEARCH_TEXT_COLUMN,
    brought_columns,
)

UNICODE = "İSTANBUL ΟΔΟΣ ΣΑΣ ẞtraße Ǆemal ﬁle Ωmega 😀 Ⅻ"
"""Upper case whose lower case Python's `str.lower` and DuckDB's ``lower`` could disagree on:
a dotted capital I, final and inner sigmas, a capital sharp s, a digraph, a ligature."""


def _varied() -> list[Span]:
    """Spans whose derived columns have edges: messages and documents with empty, missing or
    odd contents, empty status, plain metadata of every JSON kind, keys no query may name."""
    cases: list[dict[str, Any]] = [
        {"input_value": UNICODE, "output_value": UNICODE.lower()},
        {"input_value": "", "output_value": None, "status_message": ""},
        {"input_value": None, "input_messages": (Message("user", ""), Message("user", "B"))},
        {"input_messages": (), "output_messages": (), "documents": ()},
        {"documents": (RetrievedDocument(id="d", content="Doc ΣΑΣ", score=None),)},
        {"exception_type": "ValueError", "exception_message": "Bad İnput", "status_message": "X"},
        {"metadata": {"tier": "gold", "n": 3, "ok": True, "no": False, "none": None}},
        {"metadata": {"bad key": "x", "ünï": "y", "a" * 257: "z", "fine.key/x:y@z-": "v"}},
        {"metadata": {"big": 2**63 - 1, "neg": -(2**62), "empty": "", "ctl": "a\x01b"}},
        {"metadata": {"deep": {"a": [1, 'x\ny\t"q"', None], "b": {}}, "list": ["ü", 2]}},
        {"metadata": {}, "tags": ()},
    ]
    base = [make_full_span(200 + n, trace_id=trace_id(200 + n)) for n in range(len(cases))]
    return [replace(s, **kw) for s, kw in zip(base, cases, strict=True)]


def _compare(tmp_path: Path, spans: list[Span]) -> tuple[list[str], tuple[str, ...]]:
    """Store ``spans`` in one batch; return the span ids whose derived columns differ from
    what the SQL derives from the stored columns, and the columns the batch brought."""
    brought = brought_columns(spans_to_arrow(spans).column_names)
    assert brought is not None
    store = DuckDBEventStore(tmp_path / "events.duckdb", journal=False)
    try:
        assert store.append_spans(spans) == len(spans)
        stored = ", ".join(DERIVED_NAMES)
        sql = ", ".join(DERIVED_SQL[n] for n in DERIVED_NAMES)
        rows = store._query(f"SELECT span_id, {stored}, {sql} FROM spans")
    finally:
        store.close()
    assert len(rows) == len(spans)
    k = len(DERIVED_NAMES)
    differ = [
        r[0] for r in rows if [_typed(v) for v in r[1 : 1 + k]] != [_typed(v) for v in r[1 + k :]]
    ]
    return differ, brought


def _typed(value: Any) -> Any:
    """A derived value as compared: the summary array parsed, type and sign of each value."""
    if isinstance(value, str) and value.startswith("["):
        return [
            (type(v), v, math.copysign(1, v) if isinstance(v, float) else 0)
            for v in json.loads(value)
        ]
    return value


def test_every_derived_column_ingest_builds_equals_the_sql(tmp_path: Path) -> None:
    spans = _varied() + [make_rag_span(n) for n in range(40)]
    differ, brought = _compare(tmp_path, spans)
    assert brought == DERIVED_NAMES  # the batch brought all three
    assert differ == []


def test_a_double_or_a_nested_value_in_metadata_leaves_the_pairs_to_sql(tmp_path: Path) -> None:
    """DuckDB writes these in its own JSON (``1e20`` as ``100000000000000000000.0``)."""
    cases = [{"t": 0.7, "big": 1e20}, {"deep": {"a": [1.5]}}, {"deep": ["\x1f"]}]
    for n, metadata in enumerate(cases):
        spans = [replace(s, metadata=metadata) for s in _varied()]
        (tmp_path / str(n)).mkdir()
        differ, brought = _compare(tmp_path / str(n), spans)
        assert METADATA_KV_COLUMN not in brought
        assert SEARCH_TEXT_COLUMN in brought
        assert differ == []


def test_a_stored_pair_of_a_double_is_the_text_a_filter_names(tmp_path: Path) -> None:
    span = replace(make_full_span(1), metadata={"t": 0.7, "big": 1e20, "n": 2})
    store = DuckDBEventStore(tmp_path / "events.duckdb", journal=False)
    try:
        store.append_spans([span])
        ((pairs,),) = store._query(f"SELECT {METADATA_KV_COLUMN} FROM spans")
    finally:
        store.close()
    assert sorted(pairs) == ["big\x1f100000000000000000000.0", "n\x1f2", "t\x1f0.7"]


def test_lower_is_duckdbs_for_every_code_point() -> None:
    """`derived.lower` against DuckDB's ``lower``, one code point at a time (no surrogates)
    and in words where a sigma ends a word."""
    points = [c for c in range(0x80, 0x110000) if not 0xD800 <= c <= 0xDFFF]
    con = duckdb.connect()
    try:
        rows = con.execute("SELECT c, lower(chr(c)) FROM unnest(?) AS t(c)", [points]).fetchall()
        words = ["ΟΔΟΣ", "ΣΑΣ Σ", UNICODE, "İi", "plain ASCII Text"]
        (lowered,) = con.execute("SELECT [lower(w) FOR w IN ?]", [words]).fetchone() or ()
    finally:
        con.close()
    assert [(c, d) for c, d in rows if derived.lower(chr(c)) != d] == []
    assert [derived.lower(w) for w in words] == lowered


def test_the_journal_holds_the_span_columns_alone(tmp_path: Path) -> None:
    """A journal record replays through SQL, which derives the columns again."""
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        store.append_spans([make_full_span(1), make_full_span(2)])
        records = read_journal(journal_path(tmp_path / "events.duckdb")).records
    finally:
        store.close()
    assert [k for k, _ in records] == [SPANS]
    assert tuple(records[0][1].column_names) == SPAN_COLUMN_NAMES
    assert summary_row.COLUMN not in records[0][1].column_names


def test_a_batch_of_other_columns_is_refused(tmp_path: Path) -> None:
    table = spans_to_arrow([make_full_span(1)])
    swapped = table.select([*SPAN_COLUMN_NAMES, summary_row.COLUMN, SEARCH_TEXT_COLUMN])
    assert brought_columns(swapped.column_names) is None
    store = DuckDBEventStore(tmp_path / "events.duckdb", journal=False)
    try:
        with pytest.raises(ValueError, match="not the span columns"):
            store.append_columns(swapped)
        assert store.stats().num_spans == 0
        assert store.append_columns(table.select(list(SPAN_COLUMN_NAMES))) == 1
    finally:
        store.close()
