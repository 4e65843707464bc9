"""The term → block search index of the DuckDB store (ADR 0038), kept behind ingest.

Four derived tables in the event database: ``search_words`` (word, term), every distinct
term (`search_terms.terms_of`) once with a number; ``search_terms`` (project, block, word,
spans), every distinct term of the spans that started in a 5-minute block, by its number,
with how many of them hold it (ADRs 0051, 0054); ``search_blocks`` (project, block,
spans), how many spans each block held when it was indexed; and ``search_unsorted``
(project, block, terms), the blocks whose rows are in no run sorted by word yet (ADR 0058).
A search matches its probes against the few distinct terms, then finds their blocks by
number (an integer column, not a term in every row). They are derived data, rebuilt from
the spans whenever they disagree, so they are created at open rather than by a migration
(tables of an older shape are dropped and rebuilt; numbers no block uses any more are
dropped at open).

**Behind ingest.** An append only marks its blocks *dirty* (in memory, before the insert
commits); a background thread indexes dirty blocks whose last append is `SETTLE_S` old,
re-reading the block's ``search_text`` in a read snapshot and replacing its rows in one
transaction, so ingest never tokenizes. While appends keep coming it waits, unless a dirty
block has waited `MAX_LAG_S`; then it works at most a `BUSY_SHARE` of the time. It works in
small slices and waits between them while queries run (`search_indexer`, ADR 0041). A query
treats every dirty block as a candidate (the un-indexed tail is scanned), so results never
wait for the index.

**Every path spans take.** At open, after journal replay, after a compaction swap and after a
delete, `refresh` counts the spans per block and marks dirty every block whose count differs
from ``search_blocks`` (or that has index rows but no spans). A crash that loses index
commits, a journal that puts spans back, a retention cut through a block: each leaves counts
that disagree, and the block is indexed again. Backups copy both tables with the spans in one
snapshot. Compaction leaves them behind (copying their rows left free blocks in the
compacted file): the new file's index is rebuilt behind ingest, searches scanning the
blocks not yet indexed meanwhile.
"""

from __future__ import annotations

import atexit
import functools
import threading
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from llmpulse.clock import SystemClock
from llmpulse.store.activity import QUERIES, QueryActivity
from llmpulse.store.events.arrow_numpy import arrow_column, codes
from llmpulse.store.events.search_indexer import (
    MAX_LAG_S,
    ROUND_BLOCKS,
    SETTLE_S,
    Builder,
    IndexerStats,
)
from llmpulse.store.events.search_terms import (
    BLOCK_SQL,
    BLOCK_US,
    Probe,
    block_of,
    lowered,
    probes,
)

_T = TypeVar("_T")
Read = Callable[[Callable[[duckdb.DuckDBPyConnection], _T]], _T]
Query = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]

WINDOW_SPANS = 200_000
"""A search's terms are first looked up in the newest blocks holding this many spans ..."""
COMMON_SHARE = 0.6
"""... and when blocks holding more than this share of their spans hold the terms, the
older blocks are not looked up: they are candidates, and such a search is not narrowed by
the index (`search_scan.PLAIN_SHARE`)."""
MEMO_SIZE = 64
"""Candidate answers kept until the next append or indexing round (a page, then its count)."""
TABLES = (
    "CREATE TABLE IF NOT EXISTS search_words (word INTEGER NOT NULL, term VARCHAR NOT NULL)",
    "CREATE TABLE IF NOT EXISTS search_terms "
    "(project VARCHAR NOT NULL, block BIGINT NOT NULL, word INTEGER NOT NULL, "
    "spans INTEGER NOT NULL, row BIGINT, span_hash UBIGINT)",
    "CREATE TABLE IF NOT EXISTS search_blocks "
    "(project VARCHAR NOT NULL, block BIGINT NOT NULL, spans BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS search_unsorted "
    "(project VARCHAR NOT NULL, block BIGINT NOT NULL, terms BIGINT NOT NULL)",
)
COPIED = ("search_terms", "search_blocks", "search_words", "search_unsorted")
"""The index tables."""


@dataclass(frozen=True, slots=True)
class Candidates:
    """The blocks of a project that may hold a search's matches, newest first."""

    blocks: list[int]
    spans: list[int]  # spans per block (as last indexed; 0 when not indexed yet)
    narrowed: bool  # False: the index rules nothing out (scan everything)
    total_spans: int  # spans in every block of the range (as last indexed)
    matching: list[int | None] | None = None
    """For a query of one term and nothing else (`lone`), per block: how many of its spans
    contain the text, when the index knows (the block is indexed and one of its terms holds
    the text); else None (ADR 0051)."""
    at_least: list[int] | None = None
    """For such a query, per block: how many of its spans surely contain the text (the most
    spans that hold one of its terms holding the text; 0 when not indexed yet)."""
    posted: dict[int, tuple[int, int]] = field(default_factory=dict)
    """Blocks (indexed, not dirty) where one term only is accepted by the query's first probe
    and one span only holds it, with that span's row id and hash (`SPAN_HASH_SQL`): it is
    the block's only possible match (ADR 0056)."""
    moved: Callable[[list[int]], None] | None = None
    """Tells the index that spans it names in these blocks are not at their row ids."""


class SearchIndex:
    """Dirty blocks, indexed counts and the background indexer of one event database."""

    def __init__(
        self,
        read: Read[Any],
        write: Callable[[Callable[[Any], None]], None],
        activity: QueryActivity = QUERIES,
    ) -> None:
        """Args:
        read: runs a function on a reader cursor (a consistent snapshot), for the indexer.
        write: runs a function on the write connection under the writer's lock.
        activity: the queries the background indexer yields to (ADR 0041).
        """
        self._lock = threading.Lock()
        self._dirty: dict[str, dict[int, int]] = {}  # project → block → touch generation
        self._touched: dict[tuple[str, int], float] = {}
        self._indexed: dict[str, dict[int, int]] = {}  # project → block → spans indexed
        self._generation = 0
        self._memo: dict[tuple[Any, ...], Candidates] = {}  # recent answers, this state only
        self._last_append = -1e9
        self.wake = threading.Event()
        """Set when blocks become dirty (wakes the background indexer)."""
        self._builder = Builder(self, read, write, activity)
        self.enabled = True
        """False: queries ignore the index and scan (comparisons in tests and benchmarks)."""

    # -- state -------------------------------------------------------------------------

    def open(self, con: duckdb.DuckDBPyConnection, *, refresh: bool = True) -> None:
        """Create the tables if needed (dropping those of an older shape) and (``refresh``)
        mark dirty what disagrees with the spans."""
        columns = con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() "
            "WHERE database_name = current_database() "
            "AND table_name IN ('search_terms', 'search_words', 'search_unsorted')"
        ).fetchall()
        runs = ("search_unsorted", "terms") in set(columns)
        if not {("search_terms", "span_hash"), ("search_words", "word")} <= set(columns):
            # None, or before ADR 0054 (a term in every row) or 0056 (no rows), or a part
            # missing: all or none (terms gone with blocks left would look indexed).
            con.begin()
            for table in COPIED:
                con.execute(f"DROP TABLE IF EXISTS {table}")
            con.commit()
        con.begin()
        for sql in TABLES:
            con.execute(sql)
        if not runs:  # an index from before ADR 0058: every block's rows are in block order
            con.execute(
                "INSERT INTO search_unsorted SELECT project, block, count(*) FROM search_terms "
                "GROUP BY ALL"
            )
        con.commit()
        con.execute(  # words of blocks indexed again or deleted since
            "DELETE FROM search_words WHERE word NOT IN (SELECT DISTINCT word FROM search_terms)"
        )
        if refresh:
            self.refresh(lambda sql, params: con.execute(sql, list(params)).fetchall())

    def refresh(self, query: Query) -> None:
        """Reload the indexed counts and mark dirty every block whose spans differ."""
        indexed = query("SELECT project, block, spans FROM search_blocks", [])
        actual = query(
            f"SELECT project, {BLOCK_SQL} AS block, count(*) FROM spans GROUP BY ALL", []
        )
        now = SystemClock().monotonic_s() - SETTLE_S
        with self._lock:
            self._indexed = {}
            for project, block, n in indexed:
                self._indexed.setdefault(project, {})[int(block)] = int(n)
            seen = set()
            for project, block, n in actual:
                seen.add((project, int(block)))
                if self._indexed.get(project, {}).get(int(block)) != int(n):
                    self._mark(project, int(block), now)
            for project, blocks in self._indexed.items():
                for block in blocks:
                    if (project, block) not in seen:
                        self._mark(project, block, now)
        self.wake.set()

    def _mark(self, project: str, block: int, at: float) -> None:
        self._memo.clear()
        self._generation += 1
        self._dirty.setdefault(project, {})[block] = self._generation
        self._touched[(project, block)] = at

    def unsettle(self, project: str, before_us: int | None) -> None:
        """Mark dirty every indexed block of ``project`` that starts before ``before_us``
        (None: all), before a delete: its counts are scanned until it is indexed again."""
        now = SystemClock().monotonic_s()
        with self._lock:
            for block in list(self._indexed.get(project, {})):
                if before_us is None or block * BLOCK_US < before_us:
                    self._mark(project, block, now)

    def stale(self, project: str, blocks: Sequence[int]) -> None:
        """Mark ``blocks`` of ``project`` dirty: the spans their index rows name are not at
        those row ids any more (a checkpoint moved rows after a delete); they are scanned
        until indexed again (ADR 0056)."""
        now = SystemClock().monotonic_s() - SETTLE_S
        with self._lock:
            for block in blocks:
                self._mark(project, block, now)
        self.wake.set()

    def touch(self, batch: pa.Table) -> None:
        """Mark the blocks of an Arrow batch of spans dirty (call before it commits)."""
        us = pc.cast(batch.column("start_time"), pa.timestamp("us")).cast(pa.int64())
        # numpy floors, as `BLOCK_SQL` does. Read from the Arrow buffers and grouped in numpy:
        # pyarrow's to_numpy and Table.group_by would import pandas into the writer.
        blocks = arrow_column(us)[0] // BLOCK_US
        project, _, names = codes(batch.column("project"))
        pairs = np.unique(np.stack([project, blocks]), axis=1)
        now = SystemClock().monotonic_s()
        with self._lock:
            self._last_append = now
            for code, block in pairs.T.tolist():
                self._mark(str(names[code]), int(block), now)
        self.wake.set()

    def pending(self) -> int:
        """How many blocks wait to be indexed."""
        with self._lock:
            return sum(len(b) for b in self._dirty.values())

    # -- indexing ----------------------------------------------------------------------

    @property
    def stats(self) -> IndexerStats:
        """What the indexer did so far: rounds, slices, yields to queries."""
        return self._builder.stats

    def index_round(self, settle_s: float = SETTLE_S) -> int:
        """Index up to `ROUND_BLOCKS` dirty blocks of one project now; returns how many."""
        return self._builder.round(settle_s)

    def pick(self, settle_s: float) -> tuple[str, dict[int, int], list[int]] | None:
        """Up to `ROUND_BLOCKS` settled dirty blocks of one project, with their touch
        generations, and those of them indexed before."""
        now = SystemClock().monotonic_s()
        with self._lock:
            for project, blocks in self._dirty.items():
                picked = sorted(b for b in blocks if now - self._touched[(project, b)] >= settle_s)[
                    :ROUND_BLOCKS
                ]
                if picked:
                    had = [b for b in picked if b in self._indexed.get(project, {})]
                    return project, {b: blocks[b] for b in picked}, had
        return None

    def done(self, project: str, generations: dict[int, int], counts: dict[int, int]) -> None:
        """Record an indexed round; a block touched meanwhile stays dirty."""
        with self._lock:
            self._memo.clear()
            done = self._indexed.setdefault(project, {})
            blocks = self._dirty.get(project, {})
            for b, generation in generations.items():
                if b in counts:
                    done[b] = counts[b]
                else:
                    done.pop(b, None)
                if blocks.get(b) == generation:
                    del blocks[b]
                    self._touched.pop((project, b), None)
            if not blocks:
                self._dirty.pop(project, None)

    def drain(self) -> None:
        """Index every dirty block now and sort every run that is due (tests, benchmarks)."""
        while self.index_round(settle_s=0.0) or self._builder.sort_run():
            pass

    def start(self) -> None:
        """Start the background indexer."""
        self._builder.start()
        _RUNNING.add(self)

    def stop(self) -> None:
        """Stop the background indexer (the dirty blocks stay dirty)."""
        self._builder.stop()

    def appending(self, now: float) -> bool:
        """Whether an append came in the last `SETTLE_S`."""
        with self._lock:
            return now - self._last_append < SETTLE_S

    def busy(self, now: float) -> bool:
        """Whether ingest is busy and no dirty block has waited `MAX_LAG_S` yet."""
        with self._lock:
            if now - self._last_append >= SETTLE_S:
                return False
            oldest = min(self._touched.values(), default=now)
        return now - oldest < MAX_LAG_S

    # -- queries -----------------------------------------------------------------------

    def candidates(
        self, query: Query, project: str, text: str, first: int | None, last: int | None
    ) -> Candidates:
        """The blocks between ``first`` and ``last`` (inclusive; None: open) that may hold a
        span whose ``search_text`` contains ``text``, newest first."""
        key = (project, text, first, last, self.enabled)
        with self._lock:  # dirty blocks first: a block leaves them only once indexed
            memo = self._memo.get(key)
            if memo is not None:  # nothing was appended or indexed since (a page, then its count)
                return memo
            state = self._generation
            dirty = set(self._dirty.get(project, {}))
            known = dict(self._indexed.get(project, {}))
        low = lowered(text, query)
        found = probes(low)
        lo = -(2**62) if first is None else first
        hi = 2**62 if last is None else last
        every = {b for b in known.keys() | dirty if lo <= b <= hi}
        matching: list[int | None] | None = None
        at_least: list[int] | None = None
        posted: dict[int, tuple[int, int]] = {}
        if found and self.enabled:
            counted: dict[int, tuple[int, int]] = {}
            hits = set(dirty & every)

            def look(first: int, last: int) -> None:
                for b, terms, most, row, span_hash in query(*_lookup(found, project, first, last)):
                    hits.add(int(b))
                    counted[int(b)] = (int(terms), int(most))
                    if row is not None and int(b) not in dirty:
                        posted[int(b)] = (int(row), int(span_hash))

            # The newest blocks first: a term in most of their spans is common, and the
            # rest is not looked up (ADR 0056): its blocks are candidates, as if dirty.
            # (One lookup of every block reads a common term's row in each of them: at 10M
            # spans a common word's page took 135 ms instead of 70, ADR 0058.)
            split = _window(sorted(every, reverse=True), known)
            look(lo if split is None else split, hi)
            if split is not None:
                newest = [b for b in every if b >= split]
                if _spans(hits, known, newest) > COMMON_SHARE * _spans(every, known, newest):
                    hits.update(b for b in every if b < split)
                else:
                    look(lo, split - 1)
            blocks = sorted(hits, reverse=True)
            if lone(low, found):
                clean = [b not in dirty and b in counted for b in blocks]
                matching = [
                    counted[b][1] if ok and counted[b][0] == 1 else None
                    for b, ok in zip(blocks, clean, strict=True)
                ]
                at_least = [counted[b][1] if ok else 0 for b, ok in zip(blocks, clean, strict=True)]
        else:
            blocks = sorted(every, reverse=True)
        answer = Candidates(
            blocks=blocks,
            spans=[known.get(b, 0) for b in blocks],
            narrowed=len(blocks) < len(every),
            total_spans=sum(known.get(b, 0) for b in every),
            matching=matching,
            at_least=at_least,
            posted=posted,
            moved=functools.partial(self.stale, project),
        )
        with self._lock:
            if self._generation == state and not self._memo_full():
                self._memo[key] = answer
        return answer

    def _memo_full(self) -> bool:
        return len(self._memo) >= MEMO_SIZE


_RUNNING: weakref.WeakSet[SearchIndex] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    """Stop indexers of stores never closed before the interpreter exits: a daemon thread
    inside DuckDB when Python finalizes aborts the process."""
    for index in list(_RUNNING):
        index.stop()


def _window(newest: Sequence[int], known: dict[int, int]) -> int | None:
    """The oldest of the newest blocks that hold `WINDOW_SPANS` spans (as last indexed),
    or None when all of ``newest`` (newest first) hold fewer."""
    spans = 0
    for b in newest:
        spans += known.get(b, 0)
        if spans >= WINDOW_SPANS:
            return None if b == newest[-1] else b
    return None


def _spans(blocks: Iterable[int], known: dict[int, int], among: Sequence[int]) -> int:
    """The spans (as last indexed) of the blocks of ``among`` that are in ``blocks``."""
    chosen = set(blocks)
    return sum(known.get(b, 0) for b in among if b in chosen)


def _lookup(found: Sequence[Probe], project: str, lo: int, hi: int) -> tuple[str, list[Any]]:
    """SQL and params: per block between ``lo`` and ``hi`` that holds a term each probe
    accepts, for the first probe: how many of its terms the block holds, the most spans one
    of them holds and, when the block holds one such term and one span holds it, that
    span's row id and hash (`SPAN_HASH_SQL`; else NULLs)."""
    first, *rest = found
    sql = (
        "SELECT block, count(*), max(spans), "
        "CASE WHEN count(*) = 1 THEN min(row) END, CASE WHEN count(*) = 1 THEN min(span_hash) END "
        f"FROM search_terms WHERE project = ? AND block BETWEEN ? AND ? AND {_words(first)}"
    )
    params: list[Any] = [project, lo, hi, first.text]
    if rest:
        sql += (
            " AND block IN ("
            + " INTERSECT ".join(
                f"SELECT block FROM search_terms WHERE project = ? AND block BETWEEN ? AND ? "
                f"AND {_words(p)}"
                for p in rest
            )
            + ")"
        )
        for p in rest:
            params.extend((project, lo, hi, p.text))
    return sql + " GROUP BY block", params


def _words(p: Probe) -> str:
    """SQL: a ``search_terms`` row's word is one that probe ``p`` accepts (one ``?``)."""
    return f"word IN (SELECT word FROM search_words WHERE {p.sql()})"


def lone(low: str, found: Sequence[Probe]) -> bool:
    """Whether a lower-cased query is one term with no separator (its only probe matches
    anywhere inside a term): a span contains it exactly when one of the span's terms does,
    so the spans holding the terms that contain it are its matches (ADR 0051)."""
    return len(found) == 1 and found[0].match == "contains" and found[0].text == low


def block_range(start_us: int | None, end_us: int | None) -> tuple[int | None, int | None]:
    """The first and last block a time range (microseconds, end exclusive) touches."""
    return (
        None if start_us is None else block_of(start_us),
        None if end_us is None else block_of(end_us - 1),
    )
