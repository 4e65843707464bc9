"""The summaries' upkeep behind ingest (ADR 0039): committed batches wait in a backlog.

The span sketch, the trace slots and the pair sketch (`summaries`) cost a statement each per
batch, ~15 ms for a 300-span batch, most of it statement overhead: added one batch at a
time right after each commit they took a fifth of the ingest rate. Now a commit only queues
what the summaries read of its spans (`KEPT_COLUMNS`, zero-copy) in a `Backlog`, and a
background thread adds every queued batch in one statement per summary, under the writer's
lock (the summaries live in the write connection's in-memory catalog), when ingest pauses
for `PAUSE_S`, when `MAX_PENDING_SPANS` wait, or when the oldest has waited `MAX_LAG_S`.

**Exact while they lag.** Queueing a batch and applying the backlog are changes under the
`SketchGuard`, so a reader sees the summaries and the backlog of one moment:

- counts and sketch quantiles add the backlog's own spans in the whole slots they read
  (`sketch.plan(pending=True)`, the backlog registered on the reader's cursor as
  `sketch.PENDING`); the edge slots come from the stored spans as before;
- the trace slots' bound is widened by the slots of the backlog's spans of the asked traces;
- the newest-first bound counts the backlog's spans per slot too (ADR 0055); a span counted
  twice or missing only moves the bound (ADR 0037, 0044); a delete recounts after applying
  the backlog, so deleted spans are never counted.

**Built behind the open.** The summaries are built from the spans on a cursor of their own,
in one read snapshot pinned under the writer's lock (the backlog is emptied at that moment:
the snapshot holds those batches); batches committed meanwhile queue up and are applied
when the build is done, and the guard lets readers use the summaries only from then on.
Traces' totals kept from the last clean close are not built: their readers read them from
the open, and the snapshot adds the backlog to them (ADR 0074).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from llmpulse.clock import SystemClock
from llmpulse.domain.errors import Unavailable
from llmpulse.store.events import kept_totals, recent_rows, summaries, trace_sums
from llmpulse.store.events.duckdb_open import CATALOG
from llmpulse.store.events.edge_spans import EdgeSpans, EdgeState
from llmpulse.store.events.pair_sketch import PairKeys, PairsOfText
from llmpulse.store.events.recent_rows import RecentRows
from llmpulse.store.events.sketch import PENDING
from llmpulse.store.events.summary_guard import SketchGuard

log = logging.getLogger(__name__)

PAUSE_S = 0.25
"""The backlog is applied once no batch was committed for this long ..."""
MAX_LAG_S = 2.0
"""... or once its oldest batch has waited this long ..."""
MAX_PENDING_SPANS = 20_000
"""... or once it holds this many spans (a reader scans the backlog's spans of a project)."""
KEPT_SCHEMA = pa.schema(
    [
        ("project", pa.string()),
        ("trace_id", pa.string()),
        ("span_id", pa.string()),
        ("parent_span_id", pa.string()),
        ("start_time", pa.timestamp("us")),
        ("end_time", pa.timestamp("us")),
        ("latency_ms", pa.float64()),
        ("total_tokens", pa.int64()),
        ("cost_usd", pa.float64()),
        ("status_code", pa.string()),
        ("metadata", pa.string()),
    ]
)
"""The span columns the summaries read, as a batch of the backlog holds them."""
KEPT_COLUMNS = tuple(KEPT_SCHEMA.names)
"""The names of `KEPT_SCHEMA`'s columns."""
Write = Callable[[Callable[[duckdb.DuckDBPyConnection], None]], None]
"""Runs a function on the write connection under the writer's lock."""


class Backlog:
    """Committed batches of spans (`KEPT_COLUMNS`) that the summaries do not hold yet."""

    def __init__(self) -> None:
        """An empty backlog."""
        self._lock = threading.Lock()
        self._batches: list[pa.Table] = []
        self._pending: pa.Table | None = None  # (their concatenation, once asked)
        self._spans = 0
        self._first = 0.0
        self._last = 0.0

    def add(self, batch: pa.Table, now: float) -> bool:
        """Queue a committed batch; True when the upkeep should look (first batch, or full)."""
        kept = batch.select(list(KEPT_COLUMNS))
        if kept.schema != KEPT_SCHEMA:
            kept = kept.cast(KEPT_SCHEMA)
        with self._lock:
            if not self._batches:
                self._first = now
            self._batches.append(kept)
            self._pending = None
            self._spans += kept.num_rows
            self._last = now
            return len(self._batches) == 1 or self._spans >= MAX_PENDING_SPANS

    def batches(self) -> list[pa.Table]:
        """The queued batches, oldest first."""
        with self._lock:
            return list(self._batches)

    def drop(self, n: int) -> None:
        """Forget the ``n`` oldest batches (applied)."""
        with self._lock:
            self._spans -= sum(b.num_rows for b in self._batches[:n])
            del self._batches[:n]
            self._pending = None

    def clear(self) -> None:
        """Forget every batch."""
        self.drop(len(self._batches))

    @property
    def spans(self) -> int:
        """How many spans wait."""
        return self._spans

    def wait_s(self, now: float) -> float | None:
        """Seconds until the backlog is due (0: now), None when it is empty."""
        with self._lock:
            if not self._batches:
                return None
            if self._spans >= MAX_PENDING_SPANS:
                return 0.0
            return max(0.0, min(self._last + PAUSE_S, self._first + MAX_LAG_S) - now)

    def pending(self) -> pa.Table | None:
        """The queued spans as one table (readers select their project in SQL: pyarrow's
        filters import pandas, which the server keeps out); None when there are none. The
        same table until the backlog changes (readers' work on it is kept per table,
        `edge_spans.backlog_chunk`)."""
        with self._lock:
            if self._pending is None and self._batches:
                self._pending = pa.concat_tables(self._batches)
            return self._pending


def query_with(
    cur: duckdb.DuckDBPyConnection, pending: pa.Table | None, sql: str, params: Sequence[Any]
) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` on ``cur``, with ``pending`` readable as `sketch.PENDING`."""
    if pending is None:
        return cur.execute(sql, list(params)).fetchall()
    cur.register(PENDING, pending)
    try:
        return cur.execute(sql, list(params)).fetchall()
    finally:
        cur.unregister(PENDING)


@dataclass(frozen=True, slots=True)
class Moment:
    """What readers of memory alone read besides the rows held (ADR 0068), at one moment:
    the span sketch's version (its copies are taken at one), the backlog and the sketch's
    spans (`EdgeSpans.state`). A round keeps the moment before its changes (ADR 0071)."""

    version: int
    pending: pa.Table | None
    edges: EdgeState | None


class SummaryUpkeep:
    """The backlog, its applying thread and the build behind the open of one engine."""

    def __init__(
        self,
        guard: SketchGuard,
        keys: PairKeys,
        texts: PairsOfText,
        write: Write,
        after_apply: Callable[[], None] | None = None,
        edges: EdgeSpans | None = None,
        recent: RecentRows | None = None,
        totals_kept: bool = False,
    ) -> None:
        """Args:
        guard: the summaries' guard (not ready until `start` has built them).
        keys: which metadata keys the pair sketch counts.
        texts: the pairs of metadata texts, remembered.
        write: runs a function on the write connection under the writer's lock.
        after_apply: run on the thread after the build and after each applied backlog,
            outside the writer's lock (the store takes its copies of the summaries again
            there, so that the next query does not, ADR 0043).
        edges: the sketch's spans' starts and bins, kept with it (ADR 0066).
        recent: stored spans' rows held for newest pages (ADR 0067): cleared when the build
            pins its snapshot, then filled from it.
        totals_kept: the traces' totals were kept from the last clean close and hold every
            stored span (ADR 0074): the build leaves them as they are.
        """
        self.recent = recent
        self._after_apply = after_apply
        self.edges = edges
        self.guard = guard
        self.backlog = Backlog()
        self._keys = keys
        self._texts = texts
        self._write = write
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._built = threading.Event()
        self._thread: threading.Thread | None = None
        self._build_cursor: duckdb.DuckDBPyConnection | None = None
        self._totals_kept = totals_kept
        if totals_kept:
            guard.open_totals()  # (their readers need not wait for the build, ADR 0074)
        self._totals_whole = totals_kept
        """Whether the traces' totals and the backlog hold every committed span together
        (kept from the last close, or built and committed)."""
        self.applied_rounds = 0
        """How many times the backlog was applied (tests, benchmarks)."""

    def committed(self, batch: pa.Table) -> None:
        """Queue a batch of spans just committed (under the writer's lock, inside the
        guard's change)."""
        if self.guard.spoiled:
            return  # nobody reads the summaries again
        try:
            wake = self.backlog.add(batch, SystemClock().monotonic_s())
        except (pa.ArrowException, TypeError, ValueError):  # the batch is committed: its ack stands
            log.warning("queueing a batch for the summaries failed; counts come from the spans")
            self.guard.spoil()
            self.backlog.clear()
            return
        if wake:
            self._wake.set()

    def pending(self) -> pa.Table | None:
        """The committed spans the summaries lack (see `Backlog.pending`)."""
        return self.backlog.pending()

    def moment(self, kept: Moment | None = None) -> Moment:
        """``kept``, else the moment now (read it at a quiet moment of the guard)."""
        if kept is not None:
            return kept
        edges = None if self.edges is None else self.edges.state
        return Moment(self.guard.sketch_version, self.pending(), edges)

    @property
    def caught_up(self) -> bool:
        """Whether no committed span waits to be added (the tables alone answer)."""
        return self.backlog.spans == 0

    def apply_locked(self, con: duckdb.DuckDBPyConnection) -> int:
        """Add every queued batch to the summaries in one statement each (under the writer's
        lock); returns how many batches. A failure spoils the summaries for good."""
        if not self.guard.usable:
            return 0
        # Readers of memory alone read this moment until the copies are taken again after
        # the round (what the summaries and the backlog hold together does not change);
        # its backlog is the round's batch (no commit meanwhile: the writer's lock is held).
        batches = len(self.backlog.batches())
        kept = self.moment()
        batch = kept.pending
        if batch is None:
            return 0
        self.guard.keep(kept)
        sums = con.cursor()
        try:
            # The traces' totals' statements first, uncommitted on a cursor of their own:
            # no reader sees them, so none waits for them (at 10M spans they take tens of
            # milliseconds, ADR 0070). Then the in-memory summaries: readers of the totals
            # need not wait for them, only for the totals' COMMIT and the backlog's removal
            # (ADR 0055). Nothing may checkpoint the totals' database meanwhile (DuckDB
            # refuses it while a write transaction is open); the writer's lock, held for
            # the whole round, keeps every checkpoint and compaction out.
            trace_sums.staged(sums, batch)
            with self.guard.changing(totals=False, content=False):
                summaries.add(
                    con,
                    self._keys,
                    self._texts,
                    batch,
                    self._totals_applied(batches),
                    self.edges,
                    sums,
                )
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                sums.execute("ROLLBACK")  # (none open once committed)
            self.guard.spoil()  # (before the backlog is cleared, ADR 0055; a failed change
            self.backlog.clear()  # spoiled them already, a failed staging not yet)
            raise
        finally:
            sums.close()
        self.applied_rounds += 1
        return batches

    @contextlib.contextmanager
    def _totals_applied(self, batches: int) -> Iterator[None]:
        """Around the COMMIT of the backlog's first ``batches`` to the traces' totals: a
        change of the totals, which then leave the backlog in the same change."""
        with self.guard.changing(content=False):
            yield
            self.backlog.drop(batches)

    def catch_up(self) -> int:
        """Wait for the build, then apply the backlog now (tests, benchmarks, deletes)."""
        self._built.wait()
        done = [0]

        def apply(con: duckdb.DuckDBPyConnection) -> None:
            done[0] = self.apply_locked(con)

        self._write(apply)
        return done[0]

    def keep_totals(self, con: duckdb.DuckDBPyConnection) -> bool:
        """At a clean close (after `stop`, under the writer's lock, no commit to come): add
        the backlog to the traces' totals and stamp them to be kept for the next open
        (`kept_totals.keep`); False when they do not hold every committed span (not built,
        a change failed, or a delete is still in flight) or could not be kept."""
        if not self._totals_whole or self.guard.spoiled or self.guard.changes_in_flight:
            return False  # (in flight: a delete, whose chunks run outside the writer's lock)
        try:
            self._backlog_to_totals(con)
            return kept_totals.keep(con)
        except duckdb.Error:
            log.warning("the traces' totals could not be kept; the next open builds them")
            log.debug("keeping the totals", exc_info=True)
            return False

    def _backlog_to_totals(self, con: duckdb.DuckDBPyConnection) -> None:
        """Add the backlog to the traces' totals alone and take it out of the backlog, in one
        change of the totals: their readers may be in (under the writer's lock: no commit is
        queued meanwhile)."""
        batch = self.backlog.pending()
        if batch is not None:
            trace_sums.add(con, batch, self._totals_applied(len(self.backlog.batches())))

    def wait_built(self) -> bool:
        """Wait until the build behind the open ended; whether the summaries are usable."""
        self._built.wait()
        return self.guard.usable

    # -- the thread --------------------------------------------------------------------

    def start(self) -> None:
        """Build the summaries and then keep applying the backlog, on a thread of its own."""
        self._thread = threading.Thread(target=self._run, name="llmpulse-summaries", daemon=True)
        self._thread.start()
        _RUNNING.add(self)

    def stop(self) -> None:
        """Stop the thread (an unfinished build is interrupted; the backlog stays, for
        `keep_totals`)."""
        self._stop.set()
        self._wake.set()
        cur = self._build_cursor
        if cur is not None:
            cur.interrupt()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._thread = None
        self._built.set()

    def _run(self) -> None:
        try:
            self._build()
            if self.guard.usable:
                self._applied()  # (before `wait_built` returns: the copies are taken then)
        except Exception as exc:
            if not (self._stop.is_set() or isinstance(exc, Unavailable)):
                self.guard.spoil()
                self.backlog.clear()
                log.warning("building the summaries failed; counts come from the spans")
                log.debug("summary build", exc_info=True)
            # (Else the close interrupted it, or closed the store to its writes: nobody reads
            # the summaries again, and the totals, when kept or built, with the backlog still
            # hold every committed span for `keep_totals`.)
        finally:
            self._built.set()
        clock = SystemClock()
        while not self._stop.is_set() and self.guard.usable:
            self._wake.clear()
            wait = self.backlog.wait_s(clock.monotonic_s())
            if wait is None or wait > 0:
                self._wake.wait(wait)
                continue
            try:
                applied = self.catch_up()
            except Unavailable:
                return  # the store is closed (`stop` follows)
            except Exception:
                if not self._stop.is_set():
                    log.warning(
                        "applying the summaries' backlog failed; counts come from the spans"
                    )
                    log.debug("summary upkeep", exc_info=True)
            else:
                if applied:
                    self._applied()

    def _applied(self) -> None:
        """Run ``after_apply``, then forget the round's moment kept before it (the copies
        are taken again: live reads answer, ADR 0071; a moment a round on another thread
        kept meanwhile stays); a failure there only costs the next query the work."""
        kept = self.guard.kept
        try:
            if self._after_apply is not None and not self._stop.is_set():
                self._after_apply()
        except Exception:
            log.debug("after applying the summaries", exc_info=True)
        self.guard.forget(kept)

    def _builds(self) -> list[Callable[[duckdb.DuckDBPyConnection], None]]:
        """What `_build` runs, one pinned transaction each; the traces' totals last (the
        others are opened to readers before them, ADR 0072)."""
        builds = [lambda cur: summaries.build(cur, self._keys, edges=self.edges)]
        recent = self.recent
        if recent is not None:
            builds.append(lambda cur: recent_rows.fill_from(cur, recent))
        if not self._totals_kept:
            builds.append(trace_sums.build)
        return builds

    def _build(self) -> None:
        """Build every summary from one snapshot of the spans, then apply what was committed
        after it and open the summaries to readers.

        The in-memory summaries and the held rows are opened as soon as they are built
        (readers add the backlog: every batch committed after the snapshot), while the
        traces' totals are built; at 10M spans those take 3.9 of the build's 6.4 s, during
        which every other reader read the spans (80-950 ms a query, ADR 0072). The totals'
        readers wait for the backlog's round that ends the build, unless the totals were
        kept from the last close: those are not built, and their readers read them from the
        open (ADR 0074)."""
        opened: list[duckdb.DuckDBPyConnection] = []
        builds = self._builds()

        def pin(con: duckdb.DuckDBPyConnection) -> None:
            # A transaction per build on one snapshot: one DuckDB transaction writes one
            # database, and the traces' totals have their own (`trace_sums.CATALOG`).
            if self._totals_kept:  # they lack what came since the open (ADR 0074)
                self._totals_whole = False  # (until it is in)
                self._backlog_to_totals(con)
                self._totals_whole = True
            for _ in builds:
                cur = con.cursor()
                opened.append(cur)
                cur.execute(f"USE {CATALOG}")
                cur.begin()
                cur.execute("SELECT count(*) FROM (SELECT 1 FROM spans LIMIT 1)").fetchall()
            self.backlog.clear()  # every batch committed so far is in the snapshot
            if self.recent is not None:
                self.recent.clear()  # (and is held again from it)

        try:
            self._write(pin)
            for cur, build in zip(opened, builds, strict=True):
                self._build_cursor = cur  # before the check: `stop` interrupts this one
                if self._stop.is_set():
                    raise duckdb.InterruptException("the store is closing")
                if build is trace_sums.build:  # all but the totals: open them to readers
                    self._write(lambda con: self.guard.set_ready(totals=False))
                build(cur)
                cur.commit()
                self._totals_whole |= build is trace_sums.build
        finally:
            self._build_cursor = None
            for cur in opened:
                cur.close()

        def finish(con: duckdb.DuckDBPyConnection) -> None:
            self.apply_locked(con)  # (a round: readers of the summaries are in already)
            self.guard.set_ready()

        self._write(finish)


_RUNNING: weakref.WeakSet[SummaryUpkeep] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    """Stop the upkeep of stores never closed before the interpreter exits: a daemon thread
    inside DuckDB when Python finalizes aborts the process (as `search_index._stop_all`)."""
    for upkeep in list(_RUNNING):
        upkeep.stop()
