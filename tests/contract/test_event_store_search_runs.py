"""Index rows are written again in word order, in runs (ADR 0058), and search the same.

Eight 5-minute blocks of twelve spans each, every span with words of a 40-word vocabulary
(so each block holds a few dozen terms) and, in two spans, a rare word of its own. With
`RUN_ROWS` set to 60, the indexer sorts the rows of the oldest unsorted blocks once they
hold 60 rows: a run is in (word, block) order, so the rows read in storage order descend
only where one run ends and the next begins. Every list and count is checked against the
plain scan (index off).
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from store_factories import T0, make_span

from llmpulse.domain.ids import ProjectName
from llmpulse.domain.spans import Span
from llmpulse.store.api import SpanQuery
from llmpulse.store.events import search_indexer
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.events.search_terms import block_of, lowered

P = ProjectName("default")
BLOCK = timedelta(minutes=5)
VOCAB = [f"w{i:02d}x" for i in range(40)]
RARE = {7: "zebrafinch", 50: "zebrafinch", 90: "okapi"}
FIRST_BLOCK = block_of(int(T0.timestamp()) * 1_000_000)


def _span(n: int) -> Span:
    """Span ``n``: block ``n // 12``, 20 s after span ``n - 1`` in its block."""
    start = T0 + BLOCK * (n // 12) + timedelta(seconds=20 * (n % 12))
    s = make_span(n, start_time=start, end_time=start + timedelta(milliseconds=5))
    words = [VOCAB[(n * 7 + k * 3) % len(VOCAB)] for k in range(6)]
    text = " ".join([*words, RARE.get(n, "")])
    return replace(s, input_value=text, output_value=f"answer {n % 5}")


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(search_indexer, "RUN_ROWS", 60)
    return 60


def _store(path: Path) -> DuckDBEventStore:
    s = DuckDBEventStore(path)
    s.search_index.stop()  # indexed by hand: each state is the one intended
    return s


def _descents(store: DuckDBEventStore) -> int:
    """Places where (word, block) falls from one index row to the next in storage order,
    among the rows of blocks in a sorted run."""
    rows = store._query(
        "SELECT word, block FROM search_terms WHERE block NOT IN "
        "(SELECT block FROM search_unsorted) ORDER BY rowid"
    )
    return sum(1 for a, b in itertools.pairwise(rows) if b < a)


def _unsorted(store: DuckDBEventStore) -> dict[int, int]:
    return {int(b): int(n) for b, n in store._query("SELECT block, terms FROM search_unsorted")}


def _check_search(store: DuckDBEventStore) -> None:
    """Every word lists and counts the same with the index as with the plain scan."""
    for text in ["zebrafinch", "okapi", "w03x", "W17X", "answer 3", "nothing"]:
        q = SpanQuery(project=P, text=text, limit=200)
        store.search_index.enabled = True
        listed = [s.span_id for s in store.list_spans(q).items]
        counted = store.count_spans(q)
        store.search_index.enabled = False
        assert [s.span_id for s in store.list_spans(q).items] == listed, text
        assert store.count_spans(q) == counted, text
        store.search_index.enabled = True
    q = SpanQuery(project=P, text="zebrafinch")
    assert store.count_spans(q) == 2


def test_rows_are_sorted_by_word_in_runs_and_search_the_same(tmp_path: Path, runs: int) -> None:
    store = _store(tmp_path / "events.duckdb")
    store.append_spans([_span(n) for n in range(96)])
    store.search_index.drain()
    sorted_runs = store.search_index.stats.runs
    assert sorted_runs >= 2
    ((total,),) = store._query("SELECT count(*) FROM search_terms")
    unsorted = _unsorted(store)
    assert sum(unsorted.values()) < runs  # what is left does not make a run yet
    assert sum(unsorted.values()) < total
    # Rows of sorted blocks descend only between two runs (block order would descend at
    # almost every block, as a block's words start again from the smallest).
    assert _descents(store) <= sorted_runs - 1
    _check_search(store)
    store.close()


def test_an_index_from_before_runs_is_sorted_after_open(
    tmp_path: Path, runs: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "events.duckdb"
    store = _store(path)
    store.append_spans([_span(n) for n in range(96)])
    monkeypatch.setattr(search_indexer, "RUN_ROWS", 10**9)  # no run: rows in block order
    store.search_index.drain()
    assert store.search_index.stats.runs == 0
    store.close()
    con = duckdb.connect(str(path))
    con.execute("DROP TABLE search_unsorted")  # the index as ADR 0058 found it
    ((blocks,),) = con.execute("SELECT count(DISTINCT block) FROM search_terms").fetchall()
    con.close()
    DuckDBEventStore(path, search_index=False).close()  # opened: no indexer thread yet
    con = duckdb.connect(str(path))
    listed = con.execute("SELECT count(*) FROM search_unsorted").fetchall()
    con.close()
    assert listed == [(blocks,)]  # every block listed, none counts as sorted
    monkeypatch.setattr(search_indexer, "RUN_ROWS", runs)
    store = _store(path)
    store.search_index.drain()
    assert store.search_index.stats.runs >= 2
    assert sum(_unsorted(store).values()) < runs
    assert _descents(store) <= store.search_index.stats.runs - 1
    _check_search(store)
    store.close()


def test_a_block_indexed_again_leaves_its_run_and_the_list_survives_a_restart(
    tmp_path: Path, runs: int
) -> None:
    path = tmp_path / "events.duckdb"
    store = _store(path)
    store.append_spans([_span(n) for n in range(96)])
    store.search_index.drain()
    assert FIRST_BLOCK not in _unsorted(store)  # the oldest block is in a run
    late = replace(_span(5), span_id=_span(900).span_id, input_value="late zebrafinch w01x")
    store.append_spans([late])  # into the first block
    store.search_index.drain()
    assert FIRST_BLOCK in _unsorted(store)  # its new rows are in no run yet
    assert store.count_spans(SpanQuery(project=P, text="zebrafinch")) == 3
    left = _unsorted(store)
    store.close()
    store = _store(path)
    assert _unsorted(store) == left
    assert store.count_spans(SpanQuery(project=P, text="zebrafinch")) == 3
    store.close()


@pytest.mark.parametrize(
    "text", ["".join(map(chr, range(128))), "Kiwi SALAD", "ΣΊΣΥΦΟΣ", "İstanbul"]
)
def test_text_is_lower_cased_as_duckdb_does(text: str) -> None:
    con = duckdb.connect()
    asked: list[str] = []

    def query(sql: str, params: list[object]) -> list[tuple[object, ...]]:
        asked.append(sql)
        return con.execute(sql, params).fetchall()

    ((expected,),) = con.execute("SELECT lower(?)", [text]).fetchall()
    assert lowered(text, query) == expected
    assert bool(asked) == (not text.isascii())  # DuckDB is asked only beyond ASCII
