"""A search for one term is counted by the index (ADR 0051), and counts what the scan counts.

Three 5-minute blocks of ten spans each. Block A holds "kiwi" in three spans and "kiwifruit"
in a fourth (two terms contain the text there, so the block is scanned); block B holds it in
two spans, each twice (the index counts spans, not occurrences); block C never.
Every count is checked against the planted spans and against the plain scan (index off).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from store_factories import T0, make_span, span_id

from llmpulse.domain.ids import ProjectName
from llmpulse.domain.spans import Span
from llmpulse.store.api import SpanQuery, TimeRange
from llmpulse.store.events.duckdb import DuckDBEventStore

P = ProjectName("default")
BLOCK = timedelta(minutes=5)
TEXTS = {
    0: "Kiwi first",
    3: "a KIWIFRUIT salad",
    5: "kiwi",
    8: "more kiwi here",
    10 + 2: "kiwi then kiwi",
    10 + 7: "KIWI, kiwi!",
}


def _span(n: int) -> Span:
    """Span ``n``: block ``n // 10`` (A, B, C), 20 s after span ``n - 1`` in its block."""
    start = T0 + BLOCK * (n // 10) + timedelta(seconds=20 * (n % 10))
    s = make_span(n, start_time=start, end_time=start + timedelta(milliseconds=5))
    return replace(s, input_value=TEXTS.get(n, f"plain text {n}"), output_value="fruit salad")


@pytest.fixture
def store(tmp_path: Path) -> DuckDBEventStore:
    s = DuckDBEventStore(tmp_path / "events.duckdb")
    s.search_index.stop()  # indexed by hand: each state is the one intended
    s.append_spans([_span(n) for n in range(30)])
    s.search_index.drain()
    return s


def _both(store: DuckDBEventStore, q: SpanQuery, at_most: int | None = None) -> int:
    """The count with the index, after checking that the scan counts the same."""
    store.search_index.enabled = True
    indexed = store.count_spans(q, at_most)
    store.search_index.enabled = False
    scanned = store.count_spans(q, at_most)
    store.search_index.enabled = True
    assert indexed == scanned, (q, at_most)
    return indexed


def test_a_one_term_search_is_counted_by_the_index(store: DuckDBEventStore) -> None:
    q = SpanQuery(project=P, text="kiwi")
    before = store.search_counts_indexed
    assert _both(store, q) == 6
    assert _both(store, replace(q, text="KIWIFRUIT")) == 1
    assert _both(store, replace(q, text="iwifr")) == 1
    assert _both(store, replace(q, text="fruit")) == 30  # "fruit salad" in every span
    assert _both(store, replace(q, text="grape")) == 0
    assert store.search_counts_indexed - before == 5
    listed = {s.span_id for s in store.list_spans(replace(q, limit=100)).items}
    assert listed == {span_id(n) for n in TEXTS}
    store.close()


def test_a_bounded_count_stops_at_what_the_index_vouches_for(store: DuckDBEventStore) -> None:
    q = SpanQuery(project=P, text="kiwi")
    assert _both(store, q, at_most=3) == 3
    assert _both(store, q, at_most=6) == 6
    assert _both(store, q, at_most=7) == 6
    assert _both(store, replace(q, text="fruit"), at_most=10) == 10
    store.close()


def test_a_range_through_a_block_scans_that_block(store: DuckDBEventStore) -> None:
    # From the middle of block A (span 5 on) to the middle of block B (before span 15).
    window = TimeRange(start=T0 + timedelta(seconds=100), end=T0 + BLOCK + timedelta(seconds=300))
    q = SpanQuery(project=P, text="kiwi", time=window)
    assert _both(store, q) == 4  # spans 5, 8, 12 and 17 (block B ends at 300 s)
    inside = TimeRange(start=T0 + BLOCK, end=T0 + 2 * BLOCK)
    assert _both(store, replace(q, time=inside)) == 2
    store.close()


def test_other_filters_and_several_terms_are_counted_by_the_scan(store: DuckDBEventStore) -> None:
    q = SpanQuery(project=P, text="kiwi")
    before = store.search_counts_indexed
    assert _both(store, replace(q, names=("llm.call",))) == 6
    assert _both(store, replace(q, names=("other",))) == 0
    assert _both(store, replace(q, text="kiwi then")) == 1
    assert _both(store, replace(q, text=" kiwi")) == 4  # spans 3, 8, 12 and 17
    assert store.search_counts_indexed == before
    store.close()


def test_spans_not_indexed_yet_and_deleted_spans_are_counted(store: DuckDBEventStore) -> None:
    q = SpanQuery(project=P, text="kiwi")
    late = replace(_span(14), span_id=span_id(900), input_value="late kiwi")
    store.append_spans([late])  # block B is dirty: scanned
    assert store.search_index.pending() == 1
    assert _both(store, q) == 7
    store.search_index.drain()
    assert _both(store, q) == 7
    store.delete_spans(P, before=T0 + BLOCK)  # block A goes
    assert _both(store, q) == 3
    store.search_index.drain()
    assert _both(store, q) == 3
    store.close()


OLDER_SHAPES = {
    "before ADR 0051 (no spans per term)": (
        "DROP TABLE search_words",
        "CREATE TABLE search_terms (project VARCHAR, block BIGINT, term VARCHAR)",
        "INSERT INTO search_terms VALUES ('default', 0, 'kiwi')",
    ),
    "before ADR 0054 (a term in every row)": (
        "DROP TABLE search_words",
        "CREATE TABLE search_terms (project VARCHAR, block BIGINT, term VARCHAR, spans INTEGER)",
        "INSERT INTO search_terms VALUES ('default', 0, 'kiwi', 1)",
    ),
    "before ADR 0056 (no spans named by row)": (
        "CREATE TABLE search_terms (project VARCHAR, block BIGINT, word INTEGER, spans INTEGER)",
        "INSERT INTO search_terms SELECT 'default', 0, word, 1 FROM search_words",
    ),
}


@pytest.mark.parametrize("shape", list(OLDER_SHAPES))
def test_an_index_of_an_older_shape_is_rebuilt(
    store: DuckDBEventStore, tmp_path: Path, shape: str
) -> None:
    store.close()
    con = duckdb.connect(str(tmp_path / "events.duckdb"))
    con.execute("DROP TABLE search_terms")
    for sql in OLDER_SHAPES[shape]:
        con.execute(sql)
    con.close()
    reopened = DuckDBEventStore(tmp_path / "events.duckdb")
    reopened.search_index.stop()
    columns = reopened._query(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = 'search_terms'"
    )
    assert ("spans",) in columns
    assert ("word",) in columns
    assert ("row",) in columns
    assert _both(reopened, SpanQuery(project=P, text="kiwi")) == 6
    reopened.search_index.drain()
    assert _both(reopened, SpanQuery(project=P, text="kiwi")) == 6
    ((n,),) = reopened._query(
        "SELECT sum(spans) FROM search_terms JOIN search_words USING (word) WHERE term = 'kiwi'"
    )
    assert n == 5  # spans 0, 5, 8, 12 and 17 hold the term itself
    reopened.close()


def test_an_unindexed_store_counts_by_the_plain_bounded_scan(tmp_path: Path) -> None:
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    store.search_index.stop()
    store.append_spans([_span(n) for n in range(30)])  # every block dirty: nothing indexed
    before = store.search_counts_indexed
    assert _both(store, SpanQuery(project=P, text="kiwi")) == 6
    assert _both(store, SpanQuery(project=P, text="fruit"), at_most=10) == 10
    assert store.search_counts_indexed == before
    store.close()


@pytest.mark.parametrize("gone", ["search_terms", "search_words"])
def test_an_index_left_half_dropped_is_rebuilt(
    store: DuckDBEventStore, tmp_path: Path, gone: str
) -> None:
    store.close()
    con = duckdb.connect(str(tmp_path / "events.duckdb"))
    con.execute(f"DROP TABLE {gone}")  # as a crash between two drops would leave it
    con.close()
    reopened = DuckDBEventStore(tmp_path / "events.duckdb")
    reopened.search_index.stop()
    assert _both(reopened, SpanQuery(project=P, text="kiwi")) == 6
    reopened.search_index.drain()
    assert _both(reopened, SpanQuery(project=P, text="kiwi")) == 6
    reopened.close()


def test_blocks_a_delete_reaches_are_scanned_while_it_runs(store: DuckDBEventStore) -> None:
    q = SpanQuery(project=P, text="kiwi")
    store.search_index.unsettle(P, None)  # what a delete does first
    assert store.search_index.pending() == 3
    before = store.search_counts_indexed
    assert _both(store, q) == 6  # every block scanned: nothing counted by the index
    assert store.search_counts_indexed == before
    store.search_index.drain()
    assert _both(store, q) == 6
    assert store.search_counts_indexed == before + 1
    store.close()


def test_words_are_numbered_once_and_those_no_block_uses_go_at_open(
    store: DuckDBEventStore, tmp_path: Path
) -> None:
    """Every term has one number whatever the blocks that hold it (ADR 0054); the numbers of
    terms only deleted spans held stay until the next open, which drops them."""
    words = "SELECT term FROM search_words ORDER BY term"
    assert store._query("SELECT count(*) FROM search_words GROUP BY term HAVING count(*) > 1") == []
    assert ("kiwi",) in store._query(words)
    assert ("first",) in store._query(words)
    store.delete_spans(P, before=T0 + BLOCK)  # block A: the only spans with "first"
    store.search_index.drain()
    assert ("first",) in store._query(words)  # no block uses it any more
    assert _both(store, SpanQuery(project=P, text="first")) == 0
    store.close()
    reopened = DuckDBEventStore(tmp_path / "events.duckdb")
    reopened.search_index.stop()
    kept = reopened._query(words)
    assert ("first",) not in kept
    assert ("kiwifruit",) not in kept
    assert ("kiwi",) in kept
    used = "SELECT DISTINCT term FROM search_terms JOIN search_words USING (word) ORDER BY term"
    assert kept == reopened._query(used)
    assert _both(reopened, SpanQuery(project=P, text="kiwi")) == 2  # spans 12 and 17
    reopened.search_index.drain()
    assert reopened.search_index.pending() == 0
    assert _both(reopened, SpanQuery(project=P, text="fruit")) == 20
    reopened.close()
