"""Single-writer group commit: requests wait until their spans are durable.

Requests hand batches to `SpanWriter.submit`, which returns only after the writer thread's
commit that contains them (ADR 0001, ack-after-durable). While one commit runs, new batches
queue up and the next commit takes all of them at once, so throughput grows with load while
each request waits at most about one commit. Admission is bounded in spans: a batch that
does not fit raises `Overloaded` with a retry-after, never a silent drop.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import pyarrow as pa

from llmpulse.clock import Clock
from llmpulse.domain.errors import LlmpulseError, Overloaded, Unavailable
from llmpulse.domain.ids import ProjectName
from llmpulse.domain.spans import Annotation
from llmpulse.ingest.commit_latency import LatencyHistogram
from llmpulse.store.activity import QUERIES, QUIET_S, QueryActivity
from llmpulse.store.api import EventStore, StateStore

log = logging.getLogger(__name__)
_P = TypeVar("_P")


@dataclass(slots=True)
class _Work:
    table: pa.Table | None  # spans in the event store's columns (see `columnarize`)
    projects: tuple[str, ...]
    annotations: Sequence[Annotation]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]

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
    failing: str | None = None  # why the latest commit failed; None once one succeeds
    checkpoints: int = 0
    checkpoints_deferred: int = 0  # idle checkpoints put off while queries ran (ADR 0041)
    compactions: int = 0
    queued_spans: int = 0
    commit_latency: LatencyHistogram = field(default_factory=LatencyHistogram)


CHECKPOINT_RETRY_S = 0.1
"""An idle checkpoint put off while queries run is looked at again after this long."""


class SpanWriter:
    """Owns the event store's write side; a `Service` (start/stop)."""

    def __init__(
        self,
        events: EventStore,
        state: StateStore,
        clock: Clock,
        *,
        max_queued_spans: int = 200_000,
        max_commit_spans: int = 50_000,
        idle_checkpoint_s: float = 2.0,
        activity: QueryActivity = QUERIES,
    ) -> None:
        self._events = events
        self._activity = activity
        self._state = state
        self._clock = clock
        self._max_queued = max_queued_spans
        self._max_commit = max_commit_spans
        self._idle_checkpoint_s = idle_checkpoint_s
        self._queue: queue.Queue[_Work | None] = queue.Queue()
        self._lock = threading.Lock()
        self._queued = 0
        self._known_projects: set[ProjectName] = set()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._attempts = 0
        self.stats = WriterStats()

    async def start(self) -> None:
        """Start the writer thread."""
        self._known_projects = {p.name for p in self._state.list_projects()}
        self._thread = threading.Thread(target=self._run, name="llmpulse-writer", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        """Drain everything queued, commit it, then stop the thread."""
        self._stopping = True
        self._queue.put(None)
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)

    @property
    def running(self) -> bool:
        """True while the writer thread is alive and not stopping."""
        return self._thread is not None and self._thread.is_alive() and not self._stopping

    @property
    def data_version(self) -> int:
        """Changes whenever the stores may have changed: after every commit attempt, failed
        ones included (a commit fails as a whole for its requests, but its project rows or
        its spans may already be written when a later step fails)."""
        return self._attempts

    def touch(self) -> None:
        """Move `data_version` on after the stores changed outside the writer (a project
        deleted, spans purged, an annotation edited), so no cached read outlives it."""
        self._attempts += 1

    def forget_project(self, name: ProjectName) -> None:
        """A project was deleted: its next span creates it again."""
        self._known_projects.discard(name)
        self.touch()

    @property
    def queued_spans(self) -> int:
        """Spans admitted but not yet committed."""
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
            Unavailable: the writer is stopping or the commit failed.
        """
        if (table is None or table.num_rows == 0) and not annotations:
            return
        loop = asyncio.get_running_loop()
        work = _Work(table, tuple(projects), annotations, loop, loop.create_future())
        await self._enqueue(work)

    async def _enqueue(self, work: _Work) -> None:
        if self._stopping or self._thread is None:
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

    def _run(self) -> None:
        done = False
        dirty = False
        deferred = False
        self._maintain()
        while not done:
            wait = None
            if dirty:
                wait = CHECKPOINT_RETRY_S if deferred else self._idle_checkpoint_s
            try:
                first = self._queue.get(timeout=wait)
            except queue.Empty:
                # A checkpoint of a bulk load takes seconds of both cores: not while queries
                # run (ADR 0041); looked at again shortly.
                deferred = not self._activity.quiet(QUIET_S)
                if deferred:
                    self.stats.checkpoints_deferred += 1
                    continue
                dirty = not self._checkpoint()
                if not dirty:
                    self._maintain()
                continue
            deferred = False
            if first is None:
                done = True
                batch = self._drain([])
            else:
                batch = self._drain([first])
                done = any(w is None for w in batch)
            work = [w for w in batch if w is not None]
            if work:
                self._commit(work)
                dirty = True

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

    def _maintain(self) -> None:
        """Start a background compaction if the store's file has too much free space (the
        store decides; ADR 0019). Runs at start and after each idle checkpoint."""
        try:
            if self._events.compact_if_fragmented():
                self.stats.compactions += 1
        except Exception:
            log.exception("could not start a compaction")

    def _drain(self, batch: list[_Work | None]) -> list[_Work | None]:
        n = sum(w.num_spans for w in batch if w is not None)
        while n < self._max_commit:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            batch.append(item)
            if item is None:
                break
            n += item.num_spans
        return batch

    def _commit(self, work: list[_Work]) -> None:
        """Commit a group; each request learns the fate of its own spans and annotations.

        The group is written with one insert per table. When one fails, the requests of that
        table are retried one by one (a failed insert stores nothing), so a request whose
        data cannot be stored fails alone and never takes its neighbours with it.
        """
        errors: dict[int, Exception] = {}
        began = time.perf_counter()
        try:
            names = {p for w in work for p in w.projects}
            self._ensure_projects(names | {a.project for w in work for a in w.annotations})
        except Exception as exc:
            log.exception("commit of %d requests failed: projects", len(work))
            errors = dict.fromkeys(range(len(work)), exc)
        else:
            errors = self._write_part(work, _spans_of, self._append_tables)
            for i, err in self._write_part(work, _annotations_of, self._append_annotations).items():
                errors.setdefault(i, err)
        self._attempts += 1
        self.stats.commit_latency.observe(time.perf_counter() - began)
        with self._lock:
            self._queued -= sum(w.num_spans + len(w.annotations) for w in work)
            self.stats.queued_spans = self._queued
        # Failing (for /readyz) when nothing of the group could be stored, e.g. a full disk;
        # one request's unstorable item is that request's error, not the writer's.
        failed_all = bool(errors) and len(errors) == len(work)
        self.stats.failing = _detail(next(iter(errors.values()))) if failed_all else None
        ok = [w for i, w in enumerate(work) if i not in errors]
        if ok:
            self.stats.commits += 1
            self.stats.spans_written += sum(w.num_spans for w in ok)
            self.stats.annotations_written += sum(len(w.annotations) for w in ok)
        if errors:
            self.stats.last_error = repr(next(iter(errors.values())))
        for i, w in enumerate(work):
            w.loop.call_soon_threadsafe(_resolve, w.future, errors.get(i))

    def _append_tables(self, tables: list[pa.Table]) -> None:
        self._events.append_columns(pa.concat_tables(tables))

    def _append_annotations(self, groups: list[Sequence[Annotation]]) -> None:
        self._events.append_annotations([a for g in groups for a in g])

    def _write_part(
        self,
        work: list[_Work],
        part: Callable[[_Work], _P | None],
        write: Callable[[list[_P]], None],
    ) -> dict[int, Exception]:
        """Write one part (spans or annotations) of every request; failures by request."""
        items = [(i, p) for i, w in enumerate(work) if (p := part(w)) is not None]
        if not items:
            return {}
        try:
            write([p for _, p in items])
            return {}
        except Exception as exc:
            log.exception("group insert of %d requests failed", len(items))
            if len(items) == 1:
                return {items[0][0]: exc}
        errors: dict[int, Exception] = {}
        for i, p in items:  # isolate the request(s) at fault
            try:
                write([p])
            except Exception as exc:
                log.exception("insert of request %d of the group failed", i)
                errors[i] = exc
        return errors

    def _ensure_projects(self, names: set[str]) -> None:
        new = {ProjectName(n) for n in names} - self._known_projects
        if new:
            self._state.ensure_projects(sorted(new), self._clock.now())
            self._known_projects |= new


def _spans_of(w: _Work) -> pa.Table | None:
    return w.table if w.num_spans else None


def _annotations_of(w: _Work) -> Sequence[Annotation] | None:
    return w.annotations or None


def _resolve(fut: asyncio.Future[None], error: Exception | None) -> None:
    if fut.done():
        return
    if error is None:
        fut.set_result(None)
    elif isinstance(error, Unavailable):
        fut.set_exception(Unavailable(error.detail, retry_after_s=error.retry_after_s))
    else:
        fut.set_exception(Unavailable(f"the store could not commit the batch: {error}"))


def _detail(error: Exception) -> str:
    return error.detail if isinstance(error, LlmpulseError) else repr(error)
