"""Seeded span traffic with planted incidents, for monitor, backtest and scheduler tests."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from llmpulse.domain.ids import ProjectName, SpanId, TraceId
from llmpulse.domain.metrics import parse_metric
from llmpulse.domain.spans import Span, SpanKind, StatusCode
from llmpulse.monitors.engine import SeriesEvaluation
from llmpulse.monitors.evaluation import Evaluation
from llmpulse.monitors.judge import Segment
from llmpulse.monitors.spec import MonitorSpec
from llmpulse.store.api import EventStore
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.metric_api import MetricColumns, MetricFrame, MetricQuery

PROJECT = ProjectName("mon")
END = datetime(2026, 11, 21, tzinfo=UTC)
REGIONS = ("us", "eu")


@dataclass(frozen=True)
class Plant:
    """An incident: latency x ``latency`` and error probability ``errors`` in a region."""

    start: datetime
    end: datetime
    region: str | None = None
    latency: float = 1.0
    errors: float | None = None


def traffic(
    hours: float,
    per_minute: int,
    plants: tuple[Plant, ...] = (),
    seed: int = 5,
    end: datetime = END,
) -> Iterator[Span]:
    """``per_minute`` LLM spans a minute for ``hours`` before ``end``, alternating regions."""
    rng = random.Random(seed)
    start = end - timedelta(hours=hours)
    minutes = int(hours * 60)
    n = 0
    for minute in range(minutes):
        for k in range(per_minute):
            t = start + timedelta(minutes=minute, seconds=60 * k / per_minute)
            region = REGIONS[k % 2]
            latency, p_err = rng.lognormvariate(6.0, 0.3), 0.01
            for p in plants:
                if p.start <= t < p.end and (p.region is None or p.region == region):
                    latency *= p.latency
                    p_err = p.errors if p.errors is not None else p_err
            n += 1
            yield Span(
                project=PROJECT,
                trace_id=TraceId(f"{n:032x}"),
                span_id=SpanId(f"{n:016x}"),
                parent_span_id=None,
                name="llm.call",
                kind=SpanKind.LLM,
                start_time=t,
                end_time=t + timedelta(milliseconds=latency),
                status_code=StatusCode.ERROR if rng.random() < p_err else StatusCode.OK,
                metadata={"region": region},
            )


def store_with(path: Path, spans: Iterator[Span]) -> EventStore:
    """A DuckDB event store in ``path`` holding ``spans`` (appended in batches)."""
    store = DuckDBEventStore(path / "events.duckdb")
    batch: list[Span] = []
    for span in spans:
        batch.append(span)
        if len(batch) == 20_000:
            store.append_spans(batch)
            batch = []
    if batch:
        store.append_spans(batch)
    return store


def monitor(name: str, metric: str = "latency_ms:p95", **spec: object) -> MonitorSpec:
    """A monitor of `PROJECT` on ``metric``, every minute over 10-minute windows unless
    ``spec`` says otherwise."""
    return MonitorSpec.from_manifest(
        {
            "apiVersion": "llmpulse/v1",
            "kind": "Monitor",
            "metadata": {"name": name, "project": PROJECT},
            "spec": {"metric": metric, "every": "1m", "window": "10m", **spec},
        }
    )


class CountingReader:
    """Runs metric queries on a store, uncached, and counts them."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.queries = 0
        self.batches = 0
        self.fail: Callable[[MetricQuery], bool] = lambda q: False

    async def __call__(self, q: MetricQuery) -> MetricFrame:
        self.queries += 1
        if self.fail(q):
            raise RuntimeError("planted query failure")
        return self.store.metric(q)

    async def many(self, qs: Sequence[MetricQuery]) -> list[MetricColumns]:
        """Several queries in one call to the store (`EventStore.metric_columns`), counted as
        one batch and as ``len(qs)`` queries; a planted failure fails the whole batch."""
        self.batches += 1
        self.queries += len(qs)
        if any(self.fail(q) for q in qs):
            raise RuntimeError("planted query failure")
        return self.store.metric_columns(qs)


LATENCY = parse_metric("latency_ms:p95")


def by_series(evs: list[SeriesEvaluation]) -> dict[tuple[str, Segment], Evaluation]:
    """A cycle's evaluations keyed by (monitor, segment), for comparing two engines."""
    return {(e.monitor, e.segment): e.evaluation for e in evs}
