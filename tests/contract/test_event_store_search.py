"""EventStore contract: full-text search (``SpanQuery.text``) over every searched field."""

from __future__ import annotations

import random
import string
from pathlib import Path

import duckdb
import pytest
from store_factories import make_span, span_id

from llmpulse.domain.errors import Unavailable
from llmpulse.domain.ids import ProjectName
from llmpulse.domain.spans import Message, RetrievedDocument, StatusCode
from llmpulse.store.api import EventStore, SpanQuery
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.events.layout import SEARCH_TEXT_SQL
from llmpulse.store.events.migrate import load_migrations

P = ProjectName("default")


def _seed(store: EventStore) -> None:
    store.append_spans(
        [
            make_span(0, input_value="What is the Capital of France?"),
            make_span(1, output_value="Paris is the capital."),
            make_span(2, input_messages=(Message("user", "Tell me about Zanzibar"),)),
            make_span(3, output_messages=(Message("assistant", "A quokka smiles"),)),
            make_span(4, documents=(RetrievedDocument(id="d1", content="The Okapi lives"),)),
            make_span(
                5,
                status_code=StatusCode.ERROR,
                exception_type="TimeoutError",
                exception_message="upstream Llama-Guard timed out",
            ),
            make_span(6, metadata={"note": "zanzibar only in metadata"}, name="zanzibar"),
            make_span(7, input_value='say "100% off_" \\ now'),
        ]
    )


def _found(store: EventStore, text: str) -> list[str]:
    page = store.list_spans(SpanQuery(project=P, text=text, limit=100))
    return sorted(s.span_id for s in page.items)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("capital", [0, 1]),  # input value and output value, any case
        ("ZANZIBAR", [2]),  # an input message; not the name or the metadata
        ("quokka", [3]),  # an output message
        ("okapi lives", [4]),  # a retrieved document
        ("llama-guard", [5]),  # the exception message
        ("timeouterror", [5]),  # the exception type
        ('"100% off_" \\', [7]),  # quotes, LIKE wildcards and backslashes are plain text
        ("nowhere", []),
    ],
)
def test_search_matches_each_searched_field_in_any_case(
    event_store: EventStore, text: str, expected: list[int]
) -> None:
    _seed(event_store)
    assert _found(event_store, text) == [span_id(n) for n in expected]


def test_search_counts_like_it_lists(event_store: EventStore) -> None:
    _seed(event_store)
    assert event_store.count_spans(SpanQuery(project=P, text="capital")) == 2


def test_search_finds_spans_stored_before_the_search_column_existed(tmp_path: Path) -> None:
    """Migration 0005 derives the search text of rows stored under layout v3."""
    path = tmp_path / "events.duckdb"
    store = DuckDBEventStore(path, journal=False)
    _seed(store)
    store.close()
    con = duckdb.connect(str(path))  # back to schema version 4: no search_text column
    con.execute("ALTER TABLE spans DROP COLUMN summary_row")  # added by migration 0007
    con.execute("ALTER TABLE spans DROP COLUMN search_text")
    con.execute("DELETE FROM schema_version WHERE version >= 5")
    con.close()
    store = DuckDBEventStore(path, journal=False)
    try:
        assert _found(store, "okapi") == [span_id(4)]
        assert _found(store, "capital") == [span_id(0), span_id(1)]
    finally:
        store.close()


def test_migration_derives_search_text_with_the_store_expression() -> None:
    sql = next(m.sql for m in load_migrations("duckdb") if m.name == "search_text")
    assert SEARCH_TEXT_SQL in sql


def test_the_search_migration_of_a_large_table_does_not_run_out_of_memory(tmp_path: Path) -> None:
    """The layout migration sorts the whole span table once; at the store's bounded buffer
    pool it ran out of memory on large tables (found on a 1M-span directory at 512 MB; here
    5,000 spans of 8 kB at 16 MB). Migrations run with more memory, then the bound returns."""
    path = tmp_path / "events.duckdb"
    store = DuckDBEventStore(path, journal=False)
    rng = random.Random(1)
    letters = string.ascii_letters + " "
    for first in range(0, 5000, 1000):
        store.append_spans(
            [
                make_span(
                    i,
                    input_value="".join(rng.choices(letters, k=4000))
                    + (" okapi42" if i == 7 else ""),
                    output_value="x" * 4000,
                )
                for i in range(first, first + 1000)
            ]
        )
    store.close()
    con = duckdb.connect(str(path))  # back to schema version 4: no search_text column
    con.execute("ALTER TABLE spans DROP COLUMN summary_row")  # added by migration 0007
    con.execute("ALTER TABLE spans DROP COLUMN search_text")
    con.execute("DELETE FROM schema_version WHERE version >= 5")
    con.close()
    store = DuckDBEventStore(path, journal=False, memory_limit="16MB")
    try:
        limit = store._query("SELECT current_setting('memory_limit')")[0][0]
        assert "MiB" in str(limit)  # the bound is back (the migration had GiB)
    finally:
        store.close()
    store = DuckDBEventStore(path, journal=False)
    try:
        assert _found(store, "okapi42") == [span_id(7)]
    finally:
        store.close()


def test_a_query_beyond_the_memory_limit_is_unavailable_not_an_engine_error(
    tmp_path: Path,
) -> None:
    """A listing that needs more memory than the store's buffer pool (DuckDB's top-N carries
    every selected column; found sorting 1M spans with retrieved documents by tokens at 512 MB)
    is a 503 with Retry-After, not an uncaught engine error (a 500)."""
    path = tmp_path / "events.duckdb"
    store = DuckDBEventStore(path, journal=False)
    rng = random.Random(1)
    for first in range(0, 5000, 1000):
        store.append_spans(
            [
                make_span(
                    i,
                    output_value="".join(rng.choices(string.ascii_letters, k=8000)),
                    total_tokens=i % 3,
                )
                for i in range(first, first + 1000)
            ]
        )
    store.close()
    # Nothing behind the open: the search indexer and the summaries' build share the 16 MB
    # with the count below and can run it out of memory too (seen once in CI, under xdist).
    store = DuckDBEventStore(path, journal=False, memory_limit="16MB", search_index=False)
    try:
        store.catch_up()
        with pytest.raises(Unavailable, match="more memory") as caught:
            store.list_spans(SpanQuery(ProjectName("default"), sort="tokens"))
        assert caught.value.status == 503
        assert caught.value.retry_after_s > 0
        assert store.count_spans(SpanQuery(ProjectName("default"))) == 5000  # still answers
    finally:
        store.close()
