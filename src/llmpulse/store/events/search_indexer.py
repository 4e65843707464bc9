"""The search index's builder: rounds of settled dirty blocks, in slices that yield to queries.

ADR 0038 keeps the index behind ingest; ADR 0041 keeps it behind queries as well. A **round**
takes up to `ROUND_BLOCKS` settled dirty blocks of one project, counts their spans, reads their
``search_text`` in parts of about `READ_SPANS` spans (whole blocks, in one snapshot per part)
and tallies their terms a block at a time (`search_terms.tally`: in C, without the interpreter
lock, ADR 0061); the round's rows replace the blocks' old ones in one transaction under the
writer's lock. Each read, each block's tally and the write is a **slice**. Between two slices
the background thread yields: while a query runs or one ended less than `QUIET_S` ago
(`QueryActivity`) it waits, at most `MAX_HOLD_S` at a time, so a steady stream of queries slows
the index down but never stops it; and while appends keep coming it waits as before. A query
that arrives while the index builds so shares the process with at most the rest of one slice,
instead of with a whole build after a bulk load (seconds of CPU in the interpreter, which made
every hand-over of the interpreter lock in the query's path wait). The index state moves only
when a round is written (`SearchIndex.done`), so a round abandoned at `stop` leaves its blocks
dirty, and queries scan dirty blocks: yielding changes how soon the index narrows a search,
never what a search finds.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from llmpulse.clock import SystemClock
from llmpulse.store.activity import QUIET_S, QueryActivity
from llmpulse.store.events.search_terms import (
    BLOCK_SQL,
    SPAN_HASH_SQL,
    ranges,
    ranges_sql,
    tally,
)

if TYPE_CHECKING:
    from llmpulse.store.events.search_index import SearchIndex

log = logging.getLogger(__name__)

SETTLE_S = 1.0
"""A dirty block is indexed once no append touched it for this long."""
MAX_LAG_S = 60.0
"""While appends keep coming, indexing waits until the oldest dirty block is this old ..."""
BUSY_SHARE = 0.1
"""... and then works at most this share of the time."""
ROUND_BLOCKS = 48
"""Blocks indexed per transaction."""
READ_SPANS = 2_000
"""Spans whose text one read fetches (whole blocks; a larger block is read alone)."""
MAX_HOLD_S = 2.0
"""The indexer waits for quiet (`QUIET_S`) at most this long at once (a steady query stream
slows it, never stops it)."""
RUN_ROWS = 262_144
"""Index rows of a project not yet in a run sorted by word that make one (ADR 0058): the
rows of its oldest such blocks, at least this many, are written again in word order, so that
a lookup of a word reads about one 16k-row group of each run instead of every group."""
_TERMS_SCHEMA = pa.schema(
    [
        ("project", pa.string()),
        ("block", pa.int64()),
        ("term", pa.string()),
        ("spans", pa.int32()),
        ("row", pa.int64()),
        ("span_hash", pa.uint64()),
    ]
)
_BLOCKS_SCHEMA = pa.schema([("project", pa.string()), ("block", pa.int64()), ("spans", pa.int64())])
Read = Callable[[Callable[[duckdb.DuckDBPyConnection], Any]], Any]
Write = Callable[[Callable[[duckdb.DuckDBPyConnection], None]], None]


@dataclass(slots=True)
class IndexerStats:
    """What the builder did so far (observability and tests)."""

    rounds: int = 0
    runs: int = 0
    """Runs of index rows written again in word order (ADR 0058)."""
    slices: int = 0
    yields: int = 0
    """Times it found queries running (or just ended) between two slices and waited."""
    held: int = 0
    """... of which it waited `MAX_HOLD_S` and went on while queries still ran."""


@dataclass(slots=True)
class Block:
    """What a round read of one block, per term (the lists align): the term, how many spans
    hold it, and for a term one span holds, that span's row id and `SPAN_HASH_SQL` (ADR
    0056; else None)."""

    terms: list[bytes]
    spans: list[int]
    rows: list[int | None]
    hashes: list[int | None]


class Stopped(Exception):
    """The indexer was stopped in the middle of a round (its blocks stay dirty)."""


class Builder:
    """Indexes the dirty blocks of a `SearchIndex`: by hand (`round`) or in a thread."""

    def __init__(
        self,
        index: SearchIndex,
        read: Read,
        write: Write,
        activity: QueryActivity,
    ) -> None:
        """Args:
        index: the dirty blocks and indexed counts.
        read: runs a function on a reader cursor (a consistent snapshot).
        write: runs a function on the write connection under the writer's lock.
        activity: the queries to yield to.
        """
        self._index = index
        self._read = read
        self._write = write
        self.activity = activity
        self.stats = IndexerStats()
        self._round = threading.Lock()  # one round at a time
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one round -----------------------------------------------------------------------

    def round(self, settle_s: float, *, yielding: bool = False) -> int:
        """Index up to `ROUND_BLOCKS` dirty blocks of one project; returns how many.

        ``yielding``: wait between slices while queries run (the background thread).

        Raises:
            Stopped: `stop` was called while it waited.
        """
        with self._round:
            picked = self._index.pick(settle_s)
            if picked is None:
                return 0
            project, generations, had = picked
            self._slice_done(yielding)
            where, params = ranges_sql(ranges(generations))
            counts: list[tuple[Any, ...]] = self._read(
                lambda cur: cur.execute(
                    f"SELECT {BLOCK_SQL} AS block, count(*) FROM spans "
                    f"WHERE project = ? AND {where} GROUP BY ALL",
                    [project, *params],
                ).fetchall()
            )
            found: dict[int, Block] = {}
            seen: dict[int, int] = {}
            for part in _parts({int(b): int(n) for b, n in counts}):
                self._slice_done(yielding)
                self._read_part(project, part, found, seen, yielding)
            self._slice_done(yielding)
            moved = self._store(project, list(generations), had, found, seen)
            kept = {b: g for b, g in generations.items() if b not in moved}
            self._index.done(project, kept, seen)
            self.stats.rounds += 1
            return len(generations)

    def _read_part(
        self,
        project: str,
        blocks: list[int],
        found: dict[int, Block],
        seen: dict[int, int],
        yielding: bool,
    ) -> None:
        """Read and tokenize the spans of ``blocks`` (one snapshot), a block at a time
        (`tally`, without the interpreter lock where the extension is built): per block, how
        many spans hold each term, and the span holding a term only one span holds."""
        where, params = ranges_sql(ranges(blocks))
        rows: list[tuple[Any, ...]] = self._read(
            lambda cur: cur.execute(
                f"SELECT {BLOCK_SQL} AS block, rowid, {SPAN_HASH_SQL}, search_text FROM spans "
                f"WHERE project = ? AND {where}",
                [project, *params],
            ).fetchall()
        )
        per_block: dict[int, list[int]] = {}
        for at, row in enumerate(rows):
            per_block.setdefault(int(row[0]), []).append(at)
        for b, ats in per_block.items():  # a part holds whole blocks: counts are final
            self._slice_done(yielding)
            terms, spans, last = tally([rows[at][3] for at in ats])
            lone = [rows[ats[at]] if n == 1 else None for n, at in zip(spans, last, strict=True)]
            found[b] = Block(
                terms,
                spans,
                [None if r is None else int(r[1]) for r in lone],
                [None if r is None else int(r[2]) for r in lone],
            )
            seen[b] = len(ats)

    def _store(
        self,
        project: str,
        picked: list[int],
        had: list[int],
        found: dict[int, Block],
        seen: dict[int, int],
    ) -> set[int]:
        """Replace the blocks' index rows by the round's, but for blocks whose spans changed
        since they were read (returned: they stay dirty, their rows as they were).

        A block is marked dirty before its spans commit, so a commit slower than `SETTLE_S`
        can let a round read the block without them and find it unchanged since: under the
        writer's lock every commit is done, and the recount sees it (named spans would
        otherwise hide a new match of the block, ADR 0056)."""
        terms, blocks = _tables(project, found, seen)
        moved: set[int] = set()
        where, params = ranges_sql(ranges(picked))

        def store(con: duckdb.DuckDBPyConnection) -> None:
            nonlocal terms, blocks
            con.begin()
            try:
                now = con.execute(
                    f"SELECT {BLOCK_SQL} AS block, count(*) FROM spans "
                    f"WHERE project = ? AND {where} GROUP BY ALL",
                    [project, *params],
                ).fetchall()
                counts = {int(b): int(n) for b, n in now}
                moved.update(b for b in picked if counts.get(b, 0) != seen.get(b, 0))
                if moved:
                    terms, blocks = _tables(
                        project,
                        {b: f for b, f in found.items() if b not in moved},
                        {b: n for b, n in seen.items() if b not in moved},
                    )
                gone = [b for b in had if b not in moved]
                if gone:
                    marks = ", ".join("?" * len(gone))
                    for table in ("search_terms", "search_blocks", "search_unsorted"):
                        con.execute(
                            f"DELETE FROM {table} WHERE project = ? AND block IN ({marks})",
                            [project, *gone],
                        )
                _insert_terms(con, terms)
                con.from_arrow(blocks).insert_into("search_blocks")
                con.commit()
            except BaseException:
                con.rollback()
                raise

        self._write(store)
        return moved

    def sort_run(self, *, yielding: bool = False) -> int:
        """Write the index rows of the oldest blocks of one project not in a sorted run yet
        again, in word order, when they hold at least `RUN_ROWS` rows; returns how many.

        Raises:
            Stopped: `stop` was called while it waited.
        """
        with self._round:
            pending: list[tuple[Any, ...]] = self._read(
                lambda cur: cur.execute(
                    "SELECT project, block, terms FROM search_unsorted ORDER BY project, block"
                ).fetchall()
            )
            per_project: dict[str, list[tuple[int, int]]] = {}
            for project, block, terms in pending:
                per_project.setdefault(str(project), []).append((int(block), int(terms)))
            for project, blocks in per_project.items():
                if sum(n for _, n in blocks) < RUN_ROWS:
                    continue
                picked: list[int] = []
                rows = 0
                for block, n in blocks:  # oldest first, until they make a run
                    picked.append(block)
                    rows += n
                    if rows >= RUN_ROWS:
                        break
                self._slice_done(yielding)
                self._write(functools.partial(_sort_run, project=project, blocks=picked))
                self.stats.runs += 1
                return rows
            return 0

    def _slice_done(self, yielding: bool) -> None:
        """Count a slice; when ``yielding``, wait while queries run or appends keep coming.

        Raises:
            Stopped: `stop` was called.
        """
        self.stats.slices += 1
        if not yielding:
            return
        if self._stop.is_set():
            raise Stopped
        if not self.activity.quiet(QUIET_S):
            self.stats.yields += 1
            if not self.activity.wait_quiet(QUIET_S, MAX_HOLD_S, self._stop):
                if self._stop.is_set():
                    raise Stopped
                self.stats.held += 1
        clock = SystemClock()
        while self._index.busy(clock.monotonic_s()):  # ingest resumed: it goes first
            if self._stop.wait(0.1):
                raise Stopped

    # -- the thread ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the background thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="llmpulse-search", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background thread (an unfinished round's blocks stay dirty)."""
        self._stop.set()
        self._index.wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._thread = None

    def _run(self) -> None:
        clock = SystemClock()
        wake = self._index.wake
        while not self._stop.is_set():
            wake.wait(SETTLE_S)
            wake.clear()
            while not self._stop.is_set() and not self._index.busy(clock.monotonic_s()):
                began = clock.monotonic_s()
                try:
                    n = self.round(SETTLE_S, yielding=True)
                except Stopped:
                    return
                except Exception:  # the store is closing or a write failed: try later
                    log.debug("search indexing round failed", exc_info=True)
                    break
                if not n:
                    try:
                        n = self.sort_run(yielding=True)
                    except Stopped:
                        return
                    except Exception:
                        log.debug("sorting a run of search index rows failed", exc_info=True)
                        break
                if not n:
                    break
                spent = clock.monotonic_s() - began
                if self._index.appending(clock.monotonic_s()):  # ingest is busy (lag forced)
                    self._stop.wait(spent * (1 - BUSY_SHARE) / BUSY_SHARE)


_ROUND = "llmpulse_search_round"


def _insert_terms(con: duckdb.DuckDBPyConnection, terms: pa.Table) -> None:
    """Add a round's (project, block, term, spans, row, span_hash) rows: each term not in
    ``search_words`` yet gets the next numbers, then the rows are stored by number (ADR 0054)."""
    con.register(_ROUND, terms)
    try:
        con.execute(
            "INSERT INTO search_words SELECT "
            "(SELECT coalesce(max(word), 0) FROM search_words) + row_number() OVER (), term "
            f"FROM (SELECT DISTINCT term FROM {_ROUND}) AS r "
            "WHERE NOT EXISTS (SELECT 1 FROM search_words AS w WHERE w.term = r.term)"
        )
        con.execute(
            "INSERT INTO search_terms "
            "SELECT r.project, r.block, w.word, r.spans, r.row, r.span_hash "
            f"FROM {_ROUND} AS r JOIN search_words AS w USING (term)"
        )
        con.execute(  # in no sorted run yet (ADR 0058)
            "INSERT INTO search_unsorted "
            f"SELECT project, block, count(*) FROM {_ROUND} GROUP BY ALL"
        )
    finally:
        con.unregister(_ROUND)


_RUN = "llmpulse_search_run"


def _sort_run(con: duckdb.DuckDBPyConnection, project: str, blocks: list[int]) -> None:
    """Replace the index rows of ``blocks`` by the same rows in word order (one run, one
    transaction) and take the blocks off ``search_unsorted``."""
    picked = "project = ? AND block IN (SELECT unnest(?::BIGINT[]))"
    con.begin()
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {_RUN} AS SELECT * FROM search_terms WHERE {picked}",
            [project, blocks],
        )
        con.execute(f"DELETE FROM search_terms WHERE {picked}", [project, blocks])
        con.execute(f"INSERT INTO search_terms SELECT * FROM {_RUN} ORDER BY word, block")
        con.execute(f"DELETE FROM search_unsorted WHERE {picked}", [project, blocks])
        con.execute(f"DROP TABLE {_RUN}")
        con.commit()
    except BaseException:
        con.rollback()
        raise


def _parts(counts: dict[int, int]) -> list[list[int]]:
    """Blocks (with spans) grouped in time order into reads of about `READ_SPANS` spans."""
    out: list[list[int]] = []
    size = 0
    for block in sorted(counts):
        if not out or size + counts[block] > READ_SPANS:
            out.append([])
            size = 0
        out[-1].append(block)
        size += counts[block]
    return out


def _tables(
    project: str, found: dict[int, Block], seen: dict[int, int]
) -> tuple[pa.Table, pa.Table]:
    """The index rows of one round: block → terms with their spans (and the span of a term
    only one span holds), block → spans read."""
    terms: dict[str, list[Any]] = {
        "project": [],
        "block": [],
        "term": [],
        "spans": [],
        "row": [],
        "span_hash": [],
    }
    for block, held in found.items():
        words = held.terms
        terms["project"].extend([project] * len(words))
        terms["block"].extend([block] * len(words))
        terms["term"].extend(w.decode() for w in words)
        terms["spans"].extend(held.spans)
        terms["row"].extend(held.rows)
        terms["span_hash"].extend(held.hashes)
    blocks = {
        "project": [project] * len(seen),
        "block": list(seen),
        "spans": list(seen.values()),
    }
    return pa.table(terms, schema=_TERMS_SCHEMA), pa.table(blocks, schema=_BLOCKS_SCHEMA)
