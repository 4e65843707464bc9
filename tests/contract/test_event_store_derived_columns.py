"""EventStore contract: the derived span columns ingest builds in Python (ADR 0059) are those
the store's SQL derives (`layout`), value for value, and a batch whose values Python cannot
reproduce exactly leaves its column to SQL."""

from __future__ import annotations

import json
import math
import random
import struct
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pytest
from store_factories import make_full_span, make_rag_span, trace_id

from llmpulse.domain.spans import Message, RetrievedDocument, Span, SpanKind
from llmpulse.store.events import derived, duck_json, summary_row
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


def test_metadata_duckdb_writes_its_own_way_is_built_all_the_same(tmp_path: Path) -> None:
    """Doubles (``1e20`` as ``100000000000000000000.0``), nested doubles, non-finite values
    and short escapes are written as DuckDB writes them (`duck_json`)."""
    cases = [
        {"t": 0.7, "big": 1e20, "tiny": 1.5e-7, "neg": -0.0, "nan": math.nan},
        {"deep": {"a": [1.5, 1e21, None, True], "s": "x\ny\t"}, "inf": [math.inf]},
    ]
    for n, metadata in enumerate(cases):
        (tmp_path / str(n)).mkdir()
        spans = [replace(s, metadata=metadata) for s in _varied()]
        differ, brought = _compare(tmp_path / str(n), spans)
        assert brought == DERIVED_NAMES
        assert differ == []


@pytest.mark.parametrize(
    "metadata",
    [{"deep": ["\x1f"], "k": "v"}, {"kind": SpanKind.LLM, "k": "v"}],
    ids=["control-character", "enum"],
)
def test_metadata_python_cannot_reproduce_leaves_the_pairs_to_sql(
    tmp_path: Path, metadata: dict[str, Any]
) -> None:
    """A nested string with a control character DuckDB escapes in capitals, or a string
    value of a subclass (an enum, which the encoder writes by its value)."""
    spans = [replace(s, metadata=metadata) for s in _varied()]
    differ, brought = _compare(tmp_path, spans)
    assert METADATA_KV_COLUMN not in brought
    assert SEARCH_TEXT_COLUMN in brought
    assert differ == []


def test_doubles_are_written_as_duckdb_writes_them() -> None:
    """`duck_json.double_text` against DuckDB's JSON text of the same double: random bit
    patterns, magnitudes from 1e-30 to 1e30, decimals, whole numbers and the edges."""
    rng = random.Random(7)
    values = [0.0, -0.0, 5e-324, 1.7976931348623157e308, 2.2250738585072014e-308, 1e21, 1e-7]
    values += [9.999999999999999e20, 1e-6, 0.1 + 0.2, 1e16, 123456789.12345679]
    for _ in range(20_000):
        bits = struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0]
        if math.isfinite(bits):
            values.append(bits)
        values.append(rng.uniform(0, 1) * 10.0 ** rng.randint(-30, 30))
        values.append(round(rng.uniform(-100, 100), rng.randint(0, 6)))
        values.append(float(rng.randint(-(10**18), 10**18)))
    documents = [json.dumps({"k": v}) for v in values]
    con = duckdb.connect()
    try:
        written = con.execute(
            "SELECT json_extract_string(d, '$.\"k\"') FROM unnest(?) AS t(d)", [documents]
        ).fetchall()
    finally:
        con.close()
    assert len(written) == len(values)
    assert [
        (v, duck_json.double_text(v))
        for v, (w,) in zip(values, written, strict=True)
        if duck_json.double_text(v) != w
    ] == []


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
