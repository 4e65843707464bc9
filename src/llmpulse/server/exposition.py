"""``/metrics``: Prometheus exposition of SLOs, ingest health and the event store's size and
memory, on llmpulse's own registry.

Never the global ``prometheus_client`` registry: each app has its `Exposition`, so two apps
in one process (tests) never share or clash. Collectors that need the stores (SLO status) are
`Refreshable`: the route awaits their ``refresh`` and then renders, so ``collect`` stays a
plain read. Adding a collector is one line: ``services.exposition.add(collector)`` (the
monitor scheduler's health collector goes in the same way).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from llmpulse.ingest.admission import ByteBudget
from llmpulse.ingest.service import IngestService
from llmpulse.ingest.writer import SpanWriter
from llmpulse.slos.evaluate import SloStatus
from llmpulse.slos.service import SloService
from llmpulse.slos.spec import format_duration
from llmpulse.store.api import EventStore, StoreStats

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@runtime_checkable
class Refreshable(Protocol):
    """A collector whose figures are read from the stores before each scrape."""

    async def refresh(self, now: datetime) -> None:
        """Recompute the figures `collect` reports."""
        ...


class Exposition:
    """The app's metric registry and its collectors."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self._refreshable: list[Refreshable] = []

    def add(self, collector: Collector) -> None:
        """Register a collector (refreshed before each scrape when it is `Refreshable`)."""
        self.registry.register(collector)
        if isinstance(collector, Refreshable):
            self._refreshable.append(collector)

    async def render(self, now: datetime) -> bytes:
        """Refresh what needs the stores, then the text exposition format."""
        for c in self._refreshable:
            await c.refresh(now)
        return generate_latest(self.registry)


def _value(v: float) -> float:
    return v if not math.isinf(v) else math.copysign(1e308, v)


class SloCollector:
    """Per SLO: SLI, objective, budget remaining, burn rate per window, status, alerts.

    Statuses are recomputed at most once per ``min_interval`` (a cycle over a large project
    takes seconds; scrapes closer together get the previous figures), and at once when the
    stored SLO definitions changed (compared as stored, so a change through the generic
    ``apply`` counts as well as one through `SloService`).
    """

    def __init__(self, slos: SloService, min_interval: timedelta = timedelta(seconds=15)) -> None:
        self._slos = slos
        self._statuses: list[SloStatus] = []
        self._min_interval = min_interval
        self._at: datetime | None = None
        self._definitions: tuple[tuple[str, str, str], ...] | None = None

    async def refresh(self, now: datetime) -> None:
        """Evaluate every project's SLOs (one store query per project)."""
        definitions = await self._slos.definitions()
        fresh = self._at is not None and timedelta(0) <= now - self._at < self._min_interval
        if fresh and definitions == self._definitions:
            return
        self._at, self._definitions = now, definitions
        out: list[SloStatus] = []
        for project in sorted({project for project, _, _ in definitions}):
            out.extend((await self._slos.evaluate_slos(project, now)).statuses)
        self._statuses = out

    def collect(self) -> Iterator[Metric]:
        """The families of the last refresh (NaN where there is no data)."""
        labels = ["project", "slo"]
        sli = GaugeMetricFamily("llmpulse_slo_sli", "Good/valid events over the SLO period",
                                labels=labels)  # fmt: skip
        target = GaugeMetricFamily("llmpulse_slo_objective", "The SLO's target", labels=labels)
        remaining = GaugeMetricFamily(
            "llmpulse_slo_error_budget_remaining", "Share of the error budget left (may be < 0)",
            labels=labels,
        )  # fmt: skip
        burn = GaugeMetricFamily("llmpulse_slo_burn_rate", "Burn rate over a window ending now",
                                 labels=[*labels, "window"])  # fmt: skip
        valid = GaugeMetricFamily("llmpulse_slo_period_valid_events", "Valid events in period",
                                  labels=labels)  # fmt: skip
        status = GaugeMetricFamily("llmpulse_slo_status", "1 for the SLO's current status",
                                   labels=[*labels, "status"])  # fmt: skip
        firing = GaugeMetricFamily("llmpulse_slo_alerts_firing", "Burn-rate rules firing now",
                                   labels=[*labels, "severity"])  # fmt: skip
        for s in self._statuses:
            key = [s.spec.project, s.name]
            sli.add_metric(key, s.budget.sli)
            target.add_metric(key, float(s.spec.objective))
            remaining.add_metric(key, s.budget.remaining)
            valid.add_metric(key, s.valid)
            for w in s.windows:
                burn.add_metric([*key, format_duration(w.window)], _value(w.burn_rate))
            status.add_metric([*key, s.budget.status], 1.0)
            for severity in ("page", "ticket"):
                n = sum(1 for a in s.alerts if a.labels["severity"] == severity)
                firing.add_metric([*key, severity], float(n))
        yield from (sli, target, remaining, burn, valid, status, firing)


class IngestCollector:
    """Spans accepted and rejected, ingest rate, queue depth, bytes in flight, commit latency."""

    def __init__(self, writer: SpanWriter, ingest: IngestService, budget: ByteBudget) -> None:
        self._writer, self._ingest, self._budget = writer, ingest, budget
        self._last: tuple[float, int] | None = None

    def _rate(self, written: int) -> float:
        now = time.monotonic()
        last, self._last = self._last, (now, written)
        if last is None or now <= last[0]:
            return 0.0
        return (written - last[1]) / (now - last[0])

    def collect(self) -> Iterable[Metric]:
        """Read the writer's and the ingest service's counters."""
        stats = self._writer.stats
        yield CounterMetricFamily("llmpulse_ingest_spans_accepted", "Spans durably stored",
                                  value=stats.spans_written)  # fmt: skip
        rejected = CounterMetricFamily(
            "llmpulse_ingest_spans_rejected", "Spans refused one by one", labels=["reason"]
        )
        rejected.add_metric(["invalid"], self._ingest.rejected_spans)
        yield rejected
        yield CounterMetricFamily("llmpulse_ingest_requests_overloaded",
                                  "Requests refused because the queue was full",
                                  value=stats.rejected_overload)  # fmt: skip
        yield GaugeMetricFamily("llmpulse_ingest_rate_spans_per_second",
                                "Spans stored per second since the previous scrape",
                                value=self._rate(stats.spans_written))  # fmt: skip
        yield GaugeMetricFamily("llmpulse_ingest_queue_spans", "Spans admitted, not yet committed",
                                value=self._writer.queued_spans)  # fmt: skip
        yield GaugeMetricFamily("llmpulse_ingest_inflight_bytes", "Request body bytes held now",
                                value=self._budget.in_flight)  # fmt: skip
        yield GaugeMetricFamily("llmpulse_ingest_inflight_bytes_limit", "Bound on those bytes",
                                value=self._budget.limit)  # fmt: skip
        buckets, total, _ = stats.commit_latency.snapshot()
        h = HistogramMetricFamily("llmpulse_ingest_commit_seconds", "Duration of group commits")
        h.add_metric([], [(_le(b), float(c)) for b, c in buckets], sum_value=total)
        yield h


class StoreCollector:
    """The event store's size and its buffer pool: spans, bytes on disk and in the write-ahead
    log, the pool's bound (``--memory-limit``) and what it holds now; and the search index's
    lag (blocks not indexed yet)."""

    def __init__(self, events: EventStore) -> None:
        self._events = events
        self._stats: StoreStats | None = None

    async def refresh(self, now: datetime) -> None:
        """Read the store's figures off the event loop (a count and two file sizes)."""
        self._stats = await asyncio.to_thread(self._events.stats)

    def collect(self) -> Iterable[Metric]:
        """The figures of the last refresh (none before the first)."""
        s = self._stats
        if s is None:
            return
        yield GaugeMetricFamily("llmpulse_store_spans", "Spans in the event store",
                                value=s.num_spans)  # fmt: skip
        yield GaugeMetricFamily("llmpulse_store_bytes_on_disk",
                                "Event store file plus its write-ahead log",
                                value=s.bytes_on_disk)  # fmt: skip
        for key, name, doc in _STORE_EXTRAS:
            if key in s.extra:
                yield GaugeMetricFamily(name, doc, value=s.extra[key])


_STORE_EXTRAS = (
    ("wal_bytes", "llmpulse_store_wal_bytes", "Event store write-ahead log"),
    ("memory_limit_bytes", "llmpulse_store_memory_limit_bytes",
     "Bound on the event store's buffer pool (--memory-limit)"),
    ("memory_bytes", "llmpulse_store_memory_bytes", "Memory the event store's buffer pool holds"),
    ("search_pending_blocks", "llmpulse_search_index_pending_blocks",
     "Five-minute blocks of spans the search index has not caught up with (searches scan them)"),
    ("summaries_ready", "llmpulse_summaries_ready",
     "1 when the in-memory summaries answer counts and quantiles (0: built after a start, or "
     "out of use: the spans answer, slower)"),
    ("trace_totals_ready", "llmpulse_trace_totals_ready",
     "1 when the traces' totals answer trace-sorted pages and trace totals"),
    ("trace_totals_kept", "llmpulse_trace_totals_kept",
     "1 when this start used the traces' totals kept by the last clean close"),
    ("summaries_backlog_spans", "llmpulse_summaries_backlog_spans",
     "Committed spans the summaries have not taken in yet (readers add them)"),
)  # fmt: skip


def _le(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else repr(bound)
