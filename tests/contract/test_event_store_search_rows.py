"""A block where each term a search accepts is held by one span is read by row id (ADR 0056).

Ten 5-minute blocks of ten spans each. "quokka" is planted once in blocks 0 and 1 (each
block's span named by row); block 2 holds "quokka" and "quokkaland" in one span each (two
terms contain the text: scanned); block 3 holds "quokkas" in two spans (scanned); the other
six never (so the candidates are few enough to narrow the scan). Every page is checked
against the plain scan (index off) and against the planted spans.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from store_factories import T0, make_span, span_id

from llmpulse.domain.ids import ProjectName
from llmpulse.domain.spans import Span, StatusCode
from llmpulse.store.api import SpanQuery, TimeRange
from llmpulse.store.events import search_index, search_scan
from llmpulse.store.events.codec import spans_to_arrow
from llmpulse.store.events.columns import SPAN_COLUMN_NAMES
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.events.layout import SUMMARY_ROW_SQL
from llmpulse.store.events.search_terms import SPAN_HASH_SQL, block_of

P = ProjectName("default")
BLOCK = timedelta(minutes=5)
TEXTS = {
    3: "the quokka smiles",
    14: "a Quokka, tail up",
    22: "quokkaland ferry",
    27: "one quokka again",
    31: "two quokkas here",
    35: "quokkas everywhere",
}
QUOKKA = {span_id(n) for n in TEXTS}


def _span(n: int) -> Span:
    """Span ``n``: block ``n // 10``, 20 s after span ``n - 1`` in its block."""
    start = T0 + BLOCK * (n // 10) + timedelta(seconds=20 * (n % 10))
    s = make_span(n, start_time=start, end_time=start + timedelta(milliseconds=5))
    return replace(s, input_value=TEXTS.get(n, f"plain text {n}"), output_value="tail")


def _open(path: Path) -> DuckDBEventStore:
    store = DuckDBEventStore(path)
    store.search_index.stop()  # indexed by hand: each state is the one intended
    return store


@pytest.fixture
def path(tmp_path: Path) -> Path:
    store = _open(tmp_path / "events.duckdb")
    store.append_spans([_span(n) for n in range(100)])
    store.search_index.drain()
    store.close()
    return tmp_path / "events.duckdb"


def _page(store: DuckDBEventStore, text: str, **more: object) -> list[tuple[str, str | None]]:
    """The summary page of a search (span ids with their excerpts), after checking that the
    plain scan lists the same and that both count its spans."""
    q = SpanQuery(project=P, text=text, fields="summary", limit=100, **more)  # type: ignore[arg-type]
    indexed = store.list_spans(q)
    count = store.count_spans(q)
    store.search_index.enabled = False
    scanned = store.list_spans(q)
    assert store.count_spans(q) == count == len(scanned.items), text
    store.search_index.enabled = True
    found = [
        (str(s.span_id), e) for s, e in zip(indexed.items, indexed.excerpts or [], strict=True)
    ]
    plain = [(s.span_id, e) for s, e in zip(scanned.items, scanned.excerpts or [], strict=True)]
    assert found == plain, text
    return found


def _named(store: DuckDBEventStore, text: str) -> dict[int, tuple[int, int]]:
    found = search_scan.candidates(store.search_index, store._query, SpanQuery(P, text=text))
    assert found is not None
    return found.posted


def _block(n: int) -> int:
    return block_of(int((T0 + BLOCK * n).timestamp() * 1_000_000))


def _row(store: DuckDBEventStore, n: int) -> tuple[int, int]:
    """Span ``n``'s row id and the hash the index keeps of it."""
    ((row, span_hash),) = store._query(
        f"SELECT rowid, {SPAN_HASH_SQL} FROM spans WHERE span_id = ?", [span_id(n)]
    )
    return int(row), int(span_hash)


def test_blocks_whose_terms_one_span_holds_are_named_by_row(path: Path) -> None:
    store = _open(path)
    named = _named(store, "quokka")
    assert named == {_block(0): _row(store, 3), _block(1): _row(store, 14)}
    assert _named(store, "quokkaland") == {_block(2): _row(store, 22)}
    page = _page(store, "quokka")
    assert {s for s, _ in page} == QUOKKA
    assert dict(page)[span_id(14)] == "a quokka, tail up\ntail\n"  # lower-cased
    # Several probes: the first one's named rows, each still checked against the text.
    assert {s for s, _ in _page(store, "quokka smiles")} == {span_id(3)}
    assert {s for s, _ in _page(store, "quokka, tail")} == {span_id(14)}
    assert _page(store, "quokka tail") == []
    assert {s for s, _ in _page(store, "okkala")} == {span_id(22)}
    assert {s for s, _ in _page(store, "quokka", sort="latency")} == QUOKKA
    store.close()


def test_a_named_block_is_read_only_at_the_rows_named(path: Path) -> None:
    """The index says where block 1's match is; pointed at another span of the block, the
    page reads that span alone (which does not hold the text) and not the block: nothing of
    block 1 is listed. (The span named is the one at that row: a consistent, wrong index.)"""
    store = _open(path)
    row, other = _row(store, 15)
    store.close()
    con = duckdb.connect(str(path))
    con.execute(
        "UPDATE search_terms SET row = ?, span_hash = ? WHERE block = ? AND word = "
        "(SELECT word FROM search_words WHERE term = 'quokka')",
        [row, other, _block(1)],
    )
    con.close()
    store = _open(path)
    q = SpanQuery(project=P, text="quokka", fields="summary", limit=100)
    listed = {s.span_id for s in store.list_spans(q).items}
    assert listed == QUOKKA - {span_id(14)}
    assert store.search_index.pending() == 0
    store.close()


@pytest.mark.parametrize("shift", [1, -1, 10_000])
def test_a_span_no_longer_at_its_row_is_scanned_and_indexed_again(path: Path, shift: int) -> None:
    """As a checkpoint after a delete moves rows to lower row ids: every named row now holds
    another span (or none: past the end), so the page scans those blocks, finds what the
    plain scan finds, and the index marks them to be indexed again."""
    con = duckdb.connect(str(path))
    con.execute("UPDATE search_terms SET row = row + ? WHERE row IS NOT NULL", [shift])
    con.close()
    store = _open(path)
    assert store.search_index.pending() == 0
    assert set(_named(store, "the quokka")) == {_block(0)}
    assert store.count_spans(SpanQuery(P, text="the quokka")) == 1  # a count reads it too
    assert store.search_index.pending() == 1  # block 0
    assert {s for s, _ in _page(store, "quokka")} == QUOKKA
    assert store.search_index.pending() == 2  # blocks 0 and 1
    assert {s for s, _ in _page(store, "quokka")} == QUOKKA  # scanned while dirty
    store.search_index.drain()
    assert _named(store, "quokka")[_block(1)] == _row(store, 14)
    assert {s for s, _ in _page(store, "quokka")} == QUOKKA
    assert store.search_index.pending() == 0
    store.close()


@pytest.mark.parametrize("shift", [1, 10_000])
@pytest.mark.parametrize("window", ["time", "status"])
def test_a_moved_named_row_is_caught_under_another_filter(
    path: Path, shift: int, window: str
) -> None:
    """The check of a named row sits in every value a statement filters on (ADR 0060): with
    a time range or a status besides the text, DuckDB pushes those filters down to the named
    rows, and a moved row is caught all the same (not dropped by the filter unseen)."""
    con = duckdb.connect(str(path))
    con.execute("UPDATE search_terms SET row = row + ? WHERE row IS NOT NULL", [shift])
    con.close()
    store = _open(path)
    more: dict[str, object] = (
        {"time": TimeRange(T0, T0 + BLOCK * 10)}
        if window == "time"
        else {"status": StatusCode.UNSET}
    )
    assert store.search_index.pending() == 0
    assert {s for s, _ in _page(store, "quokka", **more)} == QUOKKA
    assert store.search_index.pending() >= 1  # the blocks whose named row moved
    store.close()


def test_spans_added_to_a_named_block_are_scanned(path: Path) -> None:
    store = _open(path)
    late = replace(_span(16), span_id=span_id(900), input_value="late quokka")
    store.append_spans([late])  # block 1 is dirty: not named, scanned
    assert _block(1) not in _named(store, "quokka")
    assert {s for s, _ in _page(store, "quokka")} == QUOKKA | {span_id(900)}
    store.search_index.drain()
    assert _block(1) not in _named(store, "quokka")  # two spans hold it now
    assert {s for s, _ in _page(store, "quokka")} == QUOKKA | {span_id(900)}
    store.close()


def test_a_delete_whose_checkpoint_moves_rows_is_caught(tmp_path: Path) -> None:
    """DuckDB's checkpoint after a delete merges row groups, moving later rows to lower row
    ids: here 4 blocks of 70,000 spans appended 20,000 at a time, block 0 deleted. The span
    of block 1 that the index names moves; the page finds it all the same (the block is
    scanned) and marks the block to be indexed again."""
    per, chunk = 70_000, 20_000
    store = _open(tmp_path / "events.duckdb")
    template = spans_to_arrow([replace(make_span(n), input_value="text") for n in range(chunk)])
    names = list(SPAN_COLUMN_NAMES)  # the store derives the summary row of the new values
    base = int(T0.timestamp() * 1_000_000)
    for first in range(0, 4 * per, chunk):
        ns = range(first, first + chunk)
        starts = [base + (n // per) * 300_000_000 + (n % per) * 1000 for n in ns]
        texts = ["wombat here" if n % per == 500 and n // per < 2 else f"text {n % 7}" for n in ns]
        times = template.schema.field("start_time").type
        cols = {name: template.column(name) for name in names}
        cols["trace_id"] = pa.array([f"{n:032x}" for n in ns])
        cols["span_id"] = pa.array([f"{n:016x}" for n in ns])
        cols["start_time"] = pa.array(starts, pa.timestamp("us")).cast(times)
        cols["end_time"] = pa.array([t + 5000 for t in starts], pa.timestamp("us")).cast(times)
        cols["input_value"] = pa.array(texts)
        store.append_columns(pa.table([cols[n] for n in names], names=names))
    store.checkpoint()
    store.search_index.drain()
    q = SpanQuery(project=P, text="wombat", fields="summary")
    kept = f"{per + 500:016x}"  # block 1's
    ((row,),) = store._query("SELECT rowid FROM spans WHERE span_id = ?", [kept])
    assert _named(store, "wombat")[_block(1)][0] == row
    store.delete_spans(P, before=T0 + BLOCK)  # block 0 goes; the checkpoint moves rows
    ((moved,),) = store._query("SELECT rowid FROM spans WHERE span_id = ?", [kept])
    assert moved != row  # what this test is about: DuckDB moved the span
    assert store.search_index.pending() == 1  # block 0, which the delete reached
    assert [s.span_id for s in store.list_spans(q).items] == [kept]
    assert store.search_index.pending() == 2  # and block 1, whose named span moved
    store.search_index.drain()
    assert _named(store, "wombat")[_block(1)][0] == moved
    assert [s.span_id for s in store.list_spans(q).items] == [kept]
    store.close()


def test_a_term_common_in_the_newest_blocks_is_not_looked_up_further(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the newest 30 spans (blocks 7-9) as the first look: "tail" (in every span) is
    common there, so blocks 0-6 are not looked up but taken as candidates, unknown to the
    count; "quokka" is not, so the rest is looked up and only its blocks are candidates.
    Pages and counts agree with the plain scan either way."""
    monkeypatch.setattr(search_index, "WINDOW_SPANS", 30)
    store = _open(path)
    q = SpanQuery(project=P, text="tail")
    found = search_scan.candidates(store.search_index, store._query, q)
    assert found is not None
    assert found.blocks == [_block(n) for n in range(9, -1, -1)]
    assert found.at_least == [10, 10, 10] + [0] * 7  # looked up: blocks 9, 8 and 7 alone
    assert len(_page(store, "tail")) == 100
    before = store.search_counts_indexed
    assert store.count_spans(q, at_most=30) == 30  # what the newest blocks vouch for
    assert store.search_counts_indexed == before + 1  # answered by the index alone
    assert store.count_spans(q) == 100
    rare = search_scan.candidates(store.search_index, store._query, replace(q, text="quokka"))
    assert rare is not None
    assert rare.blocks == [_block(n) for n in (3, 2, 1, 0)]
    assert {s for s, _ in _page(store, "quokka")} == QUOKKA
    store.close()


def test_a_span_committed_after_its_block_was_read_keeps_the_block_dirty(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A block is marked dirty before its spans commit: a commit slower than the settle time
    lets a round read the block without them, and the block's touch is older than the round.
    Here a span is stored right after the round read block 1, without a touch. The round
    recounts under the writer's lock and leaves the block dirty: else the index would name
    span 14 alone and the page would never read the new one."""
    store = _open(path)
    store.search_index.stale(P, [_block(1)])
    builder = store.search_index._builder
    read, reads = builder._read, []

    def late(run: Any) -> Any:
        out = read(run)
        reads.append(1)
        if len(reads) == 2:  # the counts, then the block's text: a span commits now
            builder._write(
                lambda con: con.execute(
                    f"INSERT INTO spans SELECT * REPLACE ({SUMMARY_ROW_SQL} AS summary_row) "
                    "FROM (SELECT * REPLACE (? AS span_id, 'a late quokka' AS input_value, "
                    "'a late quokka' AS search_text) FROM spans WHERE span_id = ?)",
                    [span_id(900), span_id(16)],
                )
            )
        return out

    monkeypatch.setattr(builder, "_read", late)
    assert store.search_index.index_round(settle_s=0.0) == 1
    assert len(reads) == 2
    assert store.search_index.pending() == 1  # block 1, read before the span came
    assert _block(1) not in _named(store, "quokka")
    assert {s for s, _ in _page(store, "quokka")} == QUOKKA | {span_id(900)}
    monkeypatch.setattr(builder, "_read", read)
    store.search_index.drain()
    assert store.search_index.pending() == 0
    assert {s for s, _ in _page(store, "quokka")} == QUOKKA | {span_id(900)}
    store.close()
