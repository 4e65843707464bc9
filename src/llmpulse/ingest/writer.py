"""Group commit through the ingest journal; the event store takes spans in large commits.

Requests hand batches to `SpanWriter.submit_table`, which returns once they are durable
(ADR 0001). Two threads do the work (ADR 0007):

- the **journal thread** takes every queued batch at once, writes its span tables to the
  `Journal` with one fsync, hands them to the loader and acknowledges them;
- the **loader thread** appends what was journaled to the event store in commits of up to
  ``load_spans`` spans: when that many are pending, when the oldest has waited
  ``load_delay_s``, or at once when a reader calls `sync`. The commit records the journal
  position, so a restart replays exactly what the store is missing (`start`).

Annotations, and spans when there is no journal (in-memory stores), are acknowledged after
the event store's commit instead. Readers call `sync` first, so whatever was acknowledged is
visible to the next query (read-your-writes). Admission is bounded in spans not yet in the
event store: a batch that does not fit raises `Overloaded` with a retry-after, never a silent
drop.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from llmpulse.clock import Clock
from llmpulse.domain.errors import Overloaded, Unavailable
from llmpulse.domain.ids import ProjectName
from llmpulse.domain.spans import Annotation
from llmpulse.store.api import EventStore, StateStore
from llmpulse.store.journal import Journal

log = logging.getLogger(__name__)

_RETRY_S = 1.0  # after a failed load of journaled spans (they stay pending, and in the journal)
_SYNC_TIMEOUT_S = 10.0  # longest a reader waits in `sync` for acknowledged spans to load


@dataclass(slots=True)
class _Work:
    table: pa.Table | None  # spans in the event store's columns (see `columnarize`)
    projects: tuple[str, ...]
    annotations: Sequence[Annotation]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]
    acked: bool = False

    @property
    def num_spans(self) -> int:
        return self.table.num_rows if self.table is not None else 0


@dataclass(slots=True)
class WriterStats:
    """What the writer has done since start."""

    commits: int = 0
    spans_written: int = 0
    annotations_written: int = 0
    rejected_overload: int = 0
    last_error: str | None = None
    checkpoints: int = 0
    queued_spans: int = 0
    replayed_spans: int = 0


class SpanWriter:
    """Owns the event store's write side; a `Service` (start/stop)."""

    def __init__(
        self,
        events: EventStore,
        state: StateStore,
        clock: Clock,
        *,
        journal: Journal | None = None,
        max_queued_spans: int = 200_000,
        load_spans: int = 16_384,
        load_delay_s: float = 0.2,
        idle_checkpoint_s: float = 2.0,
    ) -> None:
        self._events = events
        self._state = state
        self._clock = clock
        self._journal = journal
        self._journal_lock = threading.Lock()
        self._max_queued = max_queued_spans
        self._load_spans = load_spans
        self._load_delay_s = load_delay_s
        self._idle_checkpoint_s = idle_checkpoint_s
        self._queue: queue.Queue[_Work | None] = queue.Queue()
        self._lock = threading.Lock()
        self._queued = 0
        self._known_projects: set[ProjectName] = set()
        # Between the threads, under `_cond`: journaled work not yet loaded, and counters of
        # hand-overs so `sync` can wait for the ones it saw.
        self._cond = threading.Condition()
        self._pending: list[_Work] = []
        self._pending_spans = 0
        self._pending_since = 0.0
        self._pending_seq: int | None = None
        self._handed = 0
        self._loaded = 0
        self._flush = False
        self._journal_done = False
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self.stats = WriterStats()

    async def start(self) -> None:
        """Replay what the journal holds beyond the event store, then start both threads."""
        self._known_projects = {p.name for p in self._state.list_projects()}
        if self._journal is not None:
            await asyncio.to_thread(self._replay, self._journal)
        for target, name in ((self._run_journal, "journal"), (self._run_loader, "loader")):
            thread = threading.Thread(target=target, name=f"llmpulse-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    async def stop(self) -> None:
        """Journal and load everything queued, then stop the threads."""
        self._stopping = True
        self._queue.put(None)
        for thread in self._threads:
            await asyncio.to_thread(thread.join)

    @property
    def queued_spans(self) -> int:
        """Spans admitted but not yet in the event store."""
        return self._queued

    def retry_after_s(self) -> int:
        """A retry-after hint proportional to the backlog."""
        return max(1, min(30, self._queued // 50_000 + 1))

    async def submit_table(
        self,
        table: pa.Table | None,
        projects: Sequence[str],
        annotations: Sequence[Annotation] = (),
    ) -> None:
        """Queue spans (in columns) and annotations; return once they are durable.

        Raises:
            Overloaded: the queue has no room for this batch; nothing was queued.
            Unavailable: the writer is stopping or the batch could not be made durable.
        """
        if (table is None or table.num_rows == 0) and not annotations:
            return
        loop = asyncio.get_running_loop()
        work = _Work(table, tuple(projects), annotations, loop, loop.create_future())
        await self._enqueue(work)

    async def sync(self) -> None:
        """Return once everything acknowledged before this call is in the event store."""
        with self._cond:
            target = self._handed
            if self._loaded >= target:
                return
        await asyncio.to_thread(self._wait_loaded, target)

    def _wait_loaded(self, target: int) -> None:
        # Bounded: while the event store refuses commits, reads go ahead without the newest.
        deadline = time.monotonic() + _SYNC_TIMEOUT_S
        with self._cond:
            self._flush = True
            self._cond.notify_all()
            while self._loaded < target and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(min(left, 0.5))

    async def _enqueue(self, work: _Work) -> None:
        if self._stopping or not self._threads:
            raise Unavailable("the ingest writer is not running")
        n = work.num_spans + len(work.annotations)
        with self._lock:
            if self._queued > 0 and self._queued + n > self._max_queued:
                self.stats.rejected_overload += 1
                raise Overloaded(
                    f"ingest queue is full ({self._queued} spans waiting)",
                    retry_after_s=self.retry_after_s(),
                )
            self._queued += n
            self.stats.queued_spans = self._queued
        self._queue.put(work)
        await work.future

    # -- the journal thread -------------------------------------------------------------

    def _run_journal(self) -> None:
        done = False
        while not done:
            batch = self._drain([self._queue.get()])
            done = any(w is None for w in batch)
            work = [w for w in batch if w is not None]
            if work:
                self._journal_work(work)
        with self._cond:
            self._journal_done = True
            self._cond.notify_all()

    def _drain(self, batch: list[_Work | None]) -> list[_Work | None]:
        while batch[-1] is not None:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _journal_work(self, work: list[_Work]) -> None:
        seq = None
        if self._journal is not None:
            tables = [w.table for w in work if w.table is not None and w.table.num_rows]
            try:
                with self._journal_lock:
                    seq = self._journal.append(tables) if tables else self._journal.last_seq
            except Exception as exc:
                log.exception("journal write of %d batches failed", len(work))
                self.stats.last_error = repr(exc)
                self._finish(work, exc)
                return
        with self._cond:
            if not self._pending:
                self._pending_since = time.monotonic()
            self._pending.extend(work)
            self._pending_spans += sum(w.num_spans for w in work)
            self._pending_seq = seq
            self._handed += 1
            self._cond.notify_all()
        if seq is not None:
            for w in work:
                if not w.annotations:
                    w.acked = True
                    w.loop.call_soon_threadsafe(_resolve, w.future, None)

    # -- the loader thread --------------------------------------------------------------

    def _run_loader(self) -> None:
        dirty = False
        while True:
            with self._cond:
                ready = self._wait_ready(dirty)
                if ready is None:
                    return
                take, seq, upto = ready
            if take:
                dirty = self._load(take, seq, upto) or dirty
            elif dirty:
                dirty = not self._checkpoint()

    def _wait_ready(self, dirty: bool) -> tuple[list[_Work], int | None, int] | None:
        """Under `_cond`: wait for a load to do (or an idle moment); None when all is done."""
        while True:
            if self._pending and self._is_due():
                take, seq = self._pending, self._pending_seq
                self._pending, self._pending_spans, self._flush = [], 0, False
                return take, seq, self._handed
            if self._journal_done and not self._pending:
                return None
            if self._pending:
                due_in = self._pending_since + self._load_delay_s - time.monotonic()
                self._cond.wait(max(0.0, due_in))
                continue
            self._flush = False
            idle = not self._cond.wait(self._idle_checkpoint_s if dirty else None)
            if idle and dirty:
                return [], None, self._handed  # time to checkpoint

    def _is_due(self) -> bool:
        return (
            self._flush
            or self._journal_done
            or self._pending_spans >= self._load_spans
            or any(not w.acked for w in self._pending)
            or time.monotonic() - self._pending_since >= self._load_delay_s
        )

    def _load(self, work: list[_Work], seq: int | None, upto: int) -> bool:
        """Commit ``work`` to the event store; on failure keep journaled spans pending."""
        tables = [w.table for w in work if w.table is not None and w.table.num_rows]
        annotations = [a for w in work for a in w.annotations]
        error: Exception | None = None
        try:
            names = {p for w in work for p in w.projects} | {a.project for a in annotations}
            self._ensure_projects(names)
            if tables:
                # One chunk: DuckDB writes a commit of ≥ 16k rows straight into compressed row
                # groups, but only from whole chunks (300-row chunks cost 2.5x as much).
                self._events.append_columns(pa.concat_tables(tables).combine_chunks(), seq)
            if annotations:
                self._events.append_annotations(annotations)
        except Exception as exc:
            log.exception("load of %d spans failed", sum(t.num_rows for t in tables))
            self.stats.last_error = repr(exc)
            error = exc
        if error is not None and all(w.acked for w in work):
            self._retry(work)
            return False
        if error is None:
            self.stats.commits += 1
            self.stats.spans_written += sum(t.num_rows for t in tables)
            self.stats.annotations_written += len(annotations)
            if seq is not None and self._journal is not None:
                with self._journal_lock:
                    self._journal.release(seq)
        self._finish(work, error)
        with self._cond:
            self._loaded = upto
            self._cond.notify_all()
        return error is None

    def _retry(self, work: list[_Work]) -> None:
        time.sleep(_RETRY_S)
        with self._cond:
            self._pending[:0] = work
            self._pending_spans += sum(w.num_spans for w in work)

    def _finish(self, work: list[_Work], error: Exception | None) -> None:
        """Release the admitted spans of ``work`` and answer the requests still waiting."""
        n = sum(w.num_spans + len(w.annotations) for w in work)
        with self._lock:
            self._queued -= n
            self.stats.queued_spans = self._queued
        for w in work:
            if not w.acked:
                w.loop.call_soon_threadsafe(_resolve, w.future, error)

    def _checkpoint(self) -> bool:
        """Fold the write-ahead log into the compressed file while ingest is idle.

        Idle only: a checkpoint during a burst would stall commits. It makes restarts fast
        (no log replay), shrinks the file and lets reads use compressed column segments.
        Returns True when it ran (False keeps it pending for the next idle period).
        """
        try:
            self._events.checkpoint()
        except Exception:
            log.exception("idle checkpoint failed")
            return False
        self.stats.checkpoints += 1
        return True

    def _ensure_projects(self, names: set[str]) -> None:
        new = {ProjectName(n) for n in names} - self._known_projects
        if new:
            self._state.ensure_projects(sorted(new), self._clock.now())
            self._known_projects |= new

    # -- start-up -----------------------------------------------------------------------

    def _replay(self, journal: Journal) -> None:
        """Load the journal's records the event store does not hold yet (after a crash)."""
        applied = self._events.journal_position()
        journal.resume_after(applied)
        batch: list[pa.Table] = []
        seq = applied
        for seq, table in journal.replay(applied):
            batch.append(table)
            if sum(t.num_rows for t in batch) >= self._load_spans:
                self._load_replayed(batch, seq)
                batch = []
        if batch:
            self._load_replayed(batch, seq)
        journal.release(seq)

    def _load_replayed(self, tables: list[pa.Table], seq: int) -> None:
        table = pa.concat_tables(tables)
        self._ensure_projects({str(p) for p in pc.unique(table.column("project")).to_pylist()})
        self._events.append_columns(table, seq)
        self.stats.replayed_spans += table.num_rows
        log.info("replayed %d spans from the ingest journal (up to record %d)", table.num_rows, seq)


def _resolve(fut: asyncio.Future[None], error: Exception | None) -> None:
    if fut.done():
        return
    if error is None:
        fut.set_result(None)
    else:
        fut.set_exception(Unavailable(f"the store could not commit the batch: {error}"))
