"""Decode, normalize, price and columnarize OTLP bodies in worker processes.

Per-span Python work (attributes → typed columns → Arrow) is what limits ingest (NOTES: the
decode itself is cheap); in one process it shares the GIL with HTTP handling and the writer.
`DecodePool` moves it to ``workers`` processes that return ready Arrow tables, so the server
process only reads requests and commits batches (DuckDB releases the GIL while inserting).
With ``workers=0`` the same function runs on a thread of the server process instead.

A worker that dies (killed, out of memory) breaks its `ProcessPoolExecutor`; the pool is then
replaced by a fresh one, so later requests decode again without a restart. Workers ask Linux
to kill them when the server dies (``PR_SET_PDEATHSIG``), and also watch their parent's pid,
so a crashed server leaves no orphaned workers behind.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import partial

import pyarrow as pa

from llmpulse.domain.errors import Unavailable
from llmpulse.domain.spans import Rejection, Span
from llmpulse.domain.specs import PriceTable
from llmpulse.ingest.enrich import CostEnricher
from llmpulse.ingest.isolate import Unstorable, storable_table
from llmpulse.ingest.otlp import decode_request_rows
from llmpulse.ingest.pricing import PriceBook
from llmpulse.ingest.types import RowBatch
from llmpulse.store.events.codec import ROW_INDEX, skip_pandas_probe, span_to_row


@dataclass(frozen=True, slots=True)
class DecodedBatch:
    """One request's spans as an Arrow table, with what the caller needs to know about them."""

    table: pa.Table | None
    num_spans: int
    rejections: list[Rejection]
    projects: tuple[str, ...]
    refused: tuple[Unstorable, ...] = ()  # rows found unstorable, by index in the input


@dataclass(frozen=True, slots=True)
class PriceSnapshot:
    """The price tables in force, tagged with a version so workers rebuild only on change."""

    version: int
    tables_json: tuple[str, ...]


log = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_PARENT_POLL_S = 1.0
_ENRICHER: tuple[int, CostEnricher] | None = None
_ATTRIBUTES = ROW_INDEX["attributes"]


def _enricher(prices: PriceSnapshot) -> CostEnricher:
    global _ENRICHER
    if _ENRICHER is None or _ENRICHER[0] != prices.version:
        book = PriceBook([PriceTable.model_validate_json(t) for t in prices.tables_json])
        _ENRICHER = (prices.version, CostEnricher(book))
    return _ENRICHER[1]


def columnarize(spans: list[Span], enricher: CostEnricher) -> DecodedBatch:
    """Price domain spans and turn them into an Arrow table (the spans are left as they are)."""
    rows = [span_to_row(s) for s in spans]
    for row in rows:
        row[_ATTRIBUTES] = dict(row[_ATTRIBUTES])  # pricing writes into the row's own copy
    return columnarize_rows(RowBatch(rows, []), enricher)


def columnarize_rows(batch: RowBatch, enricher: CostEnricher) -> DecodedBatch:
    """Price freshly decoded span rows (in place) and turn them into an Arrow table."""
    rows = batch.rows
    enricher.enrich_rows(rows)
    table, kept, bad = storable_table(rows)
    rejections = batch.rejections
    if bad:  # rare: name each refused span by its OTLP path, keep the rest
        rejections = rejections + [
            Rejection(f"{batch.span_path(i)}.{field}", reason) for i, field, reason in bad
        ]
        rows = [rows[i] for i in kept]
    projects = tuple(sorted({row[0] for row in rows}))
    return DecodedBatch(table, len(rows), rejections, projects, tuple(bad))


def decode_body(
    body: bytes,
    content_type: str | None,
    content_encoding: str | None,
    max_body_bytes: int,
    header_project: str | None,
    prices: PriceSnapshot | CostEnricher,
) -> DecodedBatch:
    """The whole per-request CPU work; runs in a worker process (or a thread).

    ``prices`` is the server's own enricher on a thread, or a picklable snapshot that a worker
    process turns into an enricher once per price version.
    """
    batch = decode_request_rows(
        body,
        content_type,
        content_encoding,
        max_body_bytes=max_body_bytes,
        header_project=header_project,
    )
    enricher = prices if isinstance(prices, CostEnricher) else _enricher(prices)
    return columnarize_rows(batch, enricher)


def _warm_up() -> int:
    return 0


def init_worker(parent_pid: int) -> None:
    """Worker start-up: die with the server, and skip pyarrow's pandas probe."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # The parent may have died before prctl ran, and on other systems there is no prctl:
    # a daemon thread checks the parent pid once a second.
    if os.getppid() != parent_pid:
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    skip_pandas_probe()


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(_PARENT_POLL_S)
    os._exit(1)


def auto_workers(cpus: int | None) -> int:
    """Decode processes for ``cpus`` cores: the writer and HTTP keep about two cores busy, so
    workers pay off only beyond that (0 on a 2-core machine, up to 4)."""
    return max(0, min(4, (cpus or 1) - 2))


class DecodePool:
    """A `Service`: the worker processes (or none) that decode request bodies."""

    def __init__(self, workers: int) -> None:
        self.workers = auto_workers(os.cpu_count()) if workers < 0 else workers
        self._executor: Executor | None = None
        self.replaced = 0
        """How many times a broken pool (a dead worker) was replaced."""
        # Decoding is CPU-bound: on threads it holds the GIL, so one decode at a time is as
        # fast as several and keeps one decoded batch in memory instead of several (peak RSS
        # during ingest 403 MiB instead of ~450 at the same throughput); one per process.
        self._slots = asyncio.Semaphore(max(1, self.workers))

    async def start(self) -> None:
        """Start the workers and warm them up in the background."""
        if self.workers > 0:
            self._executor = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        ctx = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=ctx,
            initializer=init_worker,
            initargs=(os.getpid(),),
        )
        for _ in range(self.workers):
            pool.submit(_warm_up)
        return pool

    def _replace(self, broken: Executor) -> None:
        """Swap a broken pool for a new one (once, however many requests saw it break)."""
        if self._executor is not broken:
            return
        log.warning("a decode worker died; starting a new pool of %d workers", self.workers)
        broken.shutdown(wait=False, cancel_futures=True)
        self._executor = self._new_pool()
        self.replaced += 1

    def worker_pids(self) -> list[int]:
        """Process ids of the live decode workers (empty on threads)."""
        pool = self._executor
        if not isinstance(pool, ProcessPoolExecutor):
            return []
        procs = dict(getattr(pool, "_processes", None) or {})
        return [pid for pid, p in procs.items() if p.is_alive()]

    def problem(self) -> str | None:
        """Why decoding cannot run right now, or None; replaces a broken pool on the way."""
        pool = self._executor
        if not isinstance(pool, ProcessPoolExecutor):
            return None
        if getattr(pool, "_broken", False):
            self._replace(pool)
            return "a decode worker died; a new pool is starting"
        return None

    async def stop(self) -> None:
        """Stop the workers (after the requests they are serving)."""
        if self._executor is not None:
            await asyncio.to_thread(self._executor.shutdown, True, cancel_futures=False)

    async def decode(
        self,
        body: bytes,
        content_type: str | None,
        content_encoding: str | None,
        max_body_bytes: int,
        header_project: str | None,
        prices: PriceSnapshot,
        enricher: CostEnricher,
    ) -> DecodedBatch:
        """Decode one body off the event loop (``enricher`` on threads, ``prices`` in workers).

        Raises:
            InvalidInput: the body cannot be decoded (raised in the worker, re-raised here).
            Unavailable: the worker pool broke.
        """
        args = (body, content_type, content_encoding, max_body_bytes, header_project)
        async with self._slots:
            if self._executor is None:
                return await asyncio.to_thread(decode_body, *args, enricher)
            call = partial(decode_body, *args, prices)
            loop = asyncio.get_running_loop()
            pool = self._executor
            try:
                pending = loop.run_in_executor(pool, call)
            except BrokenProcessPool:
                # The pool broke before this body reached it (a worker was killed): the body
                # is not to blame, so it goes to a fresh pool at once.
                self._replace(pool)
                pool = self._executor
                pending = loop.run_in_executor(pool, call)
            try:
                return await pending
            except BrokenProcessPool as exc:
                # A worker died while holding this body; the body may be what killed it, so
                # it is not retried here: the client retries after Retry-After.
                self._replace(pool)
                raise Unavailable(
                    "a decode worker died while decoding this request; retry", retry_after_s=1
                ) from exc
