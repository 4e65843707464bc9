"""DuckDB event store compaction (ADR 0019): rows unchanged, free blocks given back, appends
and queries going on during it, and a crash at any step leaving every row in place."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from store_factories import make_annotation, make_rag_span

from llmpulse.domain.errors import Conflict
from llmpulse.domain.ids import ProjectName
from llmpulse.domain.metrics import parse_field
from llmpulse.store.api import AttrEquals, SpanQuery
from llmpulse.store.events import compaction
from llmpulse.store.events.codec import spans_to_arrow
from llmpulse.store.events.columns import SPAN_COLUMN_NAMES
from llmpulse.store.events.compaction import compact_path, done_path, wal_path
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.events.migrate import current_version, load_migrations
from llmpulse.store.metric_api import UnitQuery

COMMIT = 300


def _stream(store: DuckDBEventStore, first: int, commits: int) -> int:
    """``commits`` small commits with a checkpoint after each (streaming ingest)."""
    n = first
    for _ in range(commits):
        store.append_spans([make_rag_span(n + k) for k in range(COMMIT)])
        store.checkpoint()
        n += COMMIT
    return n


def _dump(path: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], int]:
    """Every row of both tables (by span id) and the schema version, read with plain DuckDB."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        spans = con.execute("SELECT * FROM spans ORDER BY span_id, start_time").fetchall()
        anns = con.execute("SELECT * FROM annotations ORDER BY id").fetchall()
        (version,) = con.execute("SELECT max(version) FROM schema_version").fetchone() or (0,)
        return spans, anns, int(version)
    finally:
        con.close()


def test_compaction_keeps_every_row_and_frees_the_blocks(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    store = DuckDBEventStore(path)
    n = _stream(store, 0, 60)
    store.append_annotations([make_annotation(i) for i in range(50)])
    before = store.free_space()
    assert before.free_blocks > 0
    store.close()
    rows_before = _dump(path)

    store = DuckDBEventStore(path)
    done = store.compact()
    after = store.free_space()
    page = store.list_spans(SpanQuery(ProjectName("proj-1"), limit=10))
    store.close()

    assert done is not None
    assert done.num_spans == n
    assert after.free_blocks == 0
    assert done.bytes_after < done.bytes_before
    assert len(page.items) == 10
    assert _dump(path) == rows_before
    assert not compact_path(path).exists()
    assert not done_path(path).exists()


def test_compaction_keeps_spans_appended_and_answers_queries_meanwhile(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    store = DuckDBEventStore(path)
    first = _stream(store, 0, 40)
    acked: list[int] = []
    errors: list[BaseException] = []
    answered = [0]
    stop = threading.Event()

    def write() -> None:
        n = first
        try:
            while not stop.is_set():
                store.append_spans([make_rag_span(n + k) for k in range(COMMIT)])
                n += COMMIT
                acked.append(n)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    def read() -> None:
        try:
            while not stop.is_set():
                page = store.list_spans(SpanQuery(ProjectName("proj-2"), limit=20))
                assert len(page.items) == 20
                answered[0] += 1
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=write), threading.Thread(target=read)]
    for t in threads:
        t.start()
    try:
        done = store.compact()
        during = answered[0]
        # keep going for a moment on the new file
        while len(acked) < 5 or answered[0] < during + 5:
            threading.Event().wait(0.01)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors
    assert done is not None
    assert done.num_tail_rows >= 0
    assert during > 0, "no query answered during the compaction"
    total = acked[-1]
    assert store.stats().num_spans == total
    store.close()
    spans, _, _ = _dump(path)
    assert sorted(str(row[2]) for row in spans) == sorted(
        make_rag_span(i).span_id for i in range(total)
    )


def test_second_compaction_at_the_same_time_is_refused(tmp_path: Path) -> None:
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    _stream(store, 0, 5)
    assert store._compacting.acquire(blocking=False)
    try:
        with pytest.raises(Conflict):
            store.compact()
    finally:
        store._compacting.release()
        store.close()


def test_compaction_starts_only_past_the_free_ratio_and_size(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    store = DuckDBEventStore(path, compact_free_ratio=0.99, compact_min_bytes=0)
    n = _stream(store, 0, 40)
    assert not store.compact_if_fragmented()  # ratio below 0.99
    store.close()
    store = DuckDBEventStore(path, compact_free_ratio=0.01, compact_min_bytes=1 << 40)
    assert not store.compact_if_fragmented()  # file smaller than the minimum
    store.close()
    store = DuckDBEventStore(  # no slack (ADR 0042): 40 commits are within it
        path, compact_free_ratio=0.01, compact_min_bytes=0, compact_slack_row_groups=0
    )
    ratio = store.free_space().free_ratio
    assert ratio > 0.01
    assert store.compact_if_fragmented()
    thread = store._compact_thread
    assert thread is not None
    thread.join(120)
    assert store.free_space().free_blocks == 0
    assert store.stats().num_spans == n
    store.close()


def test_in_memory_store_has_nothing_to_compact() -> None:
    store = DuckDBEventStore(None)
    assert store.compact() is None
    assert not store.compact_if_fragmented()
    store.close()


def test_open_discards_an_unfinished_copy(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    store = DuckDBEventStore(path)
    n = _stream(store, 0, 3)
    store.close()
    compact_path(path).write_bytes(b"half a database")
    wal_path(compact_path(path)).write_bytes(b"junk")
    store = DuckDBEventStore(path)
    assert store.stats().num_spans == n
    store.close()
    assert not compact_path(path).exists()
    assert not wal_path(compact_path(path)).exists()


def test_open_finishes_a_swap_whose_copy_was_marked_complete(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    store = DuckDBEventStore(path)
    n = _stream(store, 0, 3)
    store.close()
    # A complete copy with one more span than the old file, marked done; the old file keeps
    # a log that must not be replayed onto the copy.
    copy = compact_path(path)
    copy.write_bytes(path.read_bytes())
    store = DuckDBEventStore(copy)
    store.append_spans([make_rag_span(n)])
    store.close()
    done_path(path).write_bytes(b"")
    wal_path(path).write_bytes(b"not a log of this file")
    store = DuckDBEventStore(path)
    assert store.stats().num_spans == n + 1
    store.close()
    assert not copy.exists()
    assert not done_path(path).exists()


def test_a_file_left_half_free_by_the_layout_migration_gets_compacted(tmp_path: Path) -> None:
    """Migration 0003 rewrites the span table; the old blocks stay free until compaction."""
    path = tmp_path / "events.duckdb"
    con = duckdb.connect(str(path))
    current_version(con)
    for m in load_migrations("duckdb")[:2]:
        con.execute(m.sql)
        con.execute("INSERT INTO schema_version (version, name) VALUES (?, ?)", [m.version, m.name])
    batch = spans_to_arrow([make_rag_span(i) for i in range(20_000)]).select(SPAN_COLUMN_NAMES)
    con.register("batch", batch)
    con.execute("INSERT INTO spans SELECT * FROM batch")
    con.close()

    # No slack: 20,000 spans are less than streaming's working space (ADR 0042).
    store = DuckDBEventStore(
        path, compact_free_ratio=0.25, compact_min_bytes=0, compact_slack_row_groups=0
    )
    migrated = store.free_space()
    assert store.compact_if_fragmented(), migrated
    thread = store._compact_thread
    assert thread is not None
    thread.join(120)
    after = store.free_space()
    assert store.stats().num_spans == 20_000
    store.close()
    assert migrated.free_ratio >= 0.25
    assert after.free_blocks == 0
    assert after.bytes_on_disk < migrated.bytes_on_disk


def test_spilled_sorts_go_beside_the_database(tmp_path: Path) -> None:
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    ((spill,),) = store._query("SELECT current_setting('temp_directory')")
    store.close()
    assert Path(spill) == tmp_path / "events.duckdb.tmp"


def _list(store: DuckDBEventStore) -> object:
    """A page the rows held in memory cannot answer (a filter on an attribute that is not a
    metadata value, ADR 0068): it reads the file."""
    q = SpanQuery(ProjectName("proj-2"), limit=5, attributes=(AttrEquals("tag", "x"),))
    return store.list_spans(q)


def _units(store: DuckDBEventStore) -> object:
    return store.units(UnitQuery(ProjectName("proj-2"), parse_field("latency_ms"), "model"))


@pytest.mark.parametrize("query", [_list, _units], ids=["list_spans", "units"])
def test_a_query_waits_while_compaction_swaps_the_file(
    tmp_path: Path, query: Callable[[DuckDBEventStore], object]
) -> None:
    """No query reads through a connection that the swap is closing: each waits for it."""
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    store.append_spans([make_rag_span(k) for k in range(40)])
    answered = threading.Event()
    thread = threading.Thread(target=lambda: (query(store), answered.set()))
    try:
        with store._swap.exclusive():
            thread.start()
            assert not answered.wait(0.3), "the query ran while the file was being swapped"
        assert answered.wait(30)
    finally:
        thread.join()
        store.close()


def test_a_newest_page_held_in_memory_answers_during_a_swap(tmp_path: Path) -> None:
    """A newest page that the rows held in memory answer (ADR 0067) reads no connection, so
    a swap does not hold it back; its rows are the file's."""
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        store.append_spans([make_rag_span(k) for k in range(40)])
        assert store.summary_upkeep.wait_built()
        q = SpanQuery(ProjectName("proj-2"), limit=5)
        held = store.pages_held
        with store._swap.exclusive():
            during = store.list_spans(q)
        assert store.pages_held == held + 1
        assert during == store.list_spans(q)
    finally:
        store.close()


def test_compaction_of_a_large_table_fits_the_memory_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The copy sorts runs of row ids, not the whole table: one sort of the 1M-span table
    (~2 kB a span) ran out of 512 MB and failed the compaction the layout migration called
    for (ADR 0045). Here 30,000 spans of ~3 kB at 96 MB, in runs of 4,096 row ids (one sort
    of all 30,000 runs out of memory there); each run is in (project, start time) order."""
    monkeypatch.setattr(compaction, "COPY_CHUNK_ROWS", 4096)
    path = tmp_path / "events.duckdb"
    store = DuckDBEventStore(path, journal=False, search_index=False)
    for first in range(0, 30_000, 5000):
        store.append_spans([make_rag_span(i) for i in range(first, first + 5000)])
    store.close()
    rows_before = _dump(path)
    store = DuckDBEventStore(path, journal=False, search_index=False, memory_limit="96MB")
    try:
        done = store.compact()
        assert done is not None
        assert done.num_spans == 30_000
        stored = store._query("SELECT project, start_time FROM spans ORDER BY rowid")
    finally:
        store.close()
    assert _dump(path) == rows_before
    runs = [stored[i : i + 4096] for i in range(0, len(stored), 4096)]
    assert all(run == sorted(run) for run in runs)  # each run in (project, start time) order
    assert stored != sorted(stored)  # four interleaved projects: not one sort of the table
