"""EventStore contract: `metrics` answers several queries with exactly `metric`'s frames.

The DuckDB store answers queries over the same spans from one scan, cutting each frame in
numpy (ADR 0033); these tests hold that path to the SQL one, frame for frame and float for
float, on data made to find the differences: NULL group values and NULL values, ties for the
largest groups, quantiles that interpolate between order statistics, empty cells.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import numpy as np
import pytest
from store_factories import make_span

from llmpulse.domain.cohorts import Condition
from llmpulse.domain.ids import ProjectName
from llmpulse.domain.metrics import parse_metric
from llmpulse.domain.spans import Span, SpanKind, StatusCode
from llmpulse.store.api import AttrEquals, EventStore, SpanFilter, TimeRange
from llmpulse.store.events import metric_batch
from llmpulse.store.events.fma import fma
from llmpulse.store.metric_api import CohortKey, MetricColumns, MetricQuery

P = ProjectName("batch")
T0 = datetime(2026, 11, 1, tzinfo=UTC)
REGIONS = ("us-east", "eu-west", "ap-south", None)  # None: the span has no region
KINDS = (SpanKind.LLM, SpanKind.RETRIEVER, SpanKind.CHAIN)
MODELS = ("gpt-4o", "gpt-4o-mini", None)
TEN = timedelta(minutes=10)


def _spans(n: int = 3000, seed: int = 11) -> list[Span]:
    """Two days of spans; latencies with many digits (quantiles interpolate between them)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        start = T0 + timedelta(seconds=57.3 * i)
        region = REGIONS[i % 4]
        meta: dict[str, object] = {"tier": ("free", "pro")[i % 7 % 2], "shard": str(i % 5)}
        if region is not None:
            meta["region"] = region
        latency = rng.lognormvariate(5, 0.8) * (2.5 if region == "eu-west" else 1.0)
        out.append(
            replace(
                make_span(i),
                project=P,
                kind=KINDS[i % 3],
                model=MODELS[i % 3],
                start_time=start,
                end_time=start + timedelta(microseconds=round(latency * 1000)),
                status_code=StatusCode.ERROR if rng.random() < 0.05 else StatusCode.OK,
                prompt_tokens=None if i % 6 == 0 else rng.randint(10, 4000),
                metadata=meta,
            )
        )
    return out


@pytest.fixture
def store(event_store: EventStore) -> EventStore:
    event_store.append_spans(_spans())
    return event_store


METRICS = tuple(
    parse_metric(m)
    for m in (
        "count",
        "error:rate",
        "latency_ms:p50",
        "latency_ms:p90",
        "latency_ms:p95",
        "latency_ms:p99",
        "prompt_tokens:p95",
        "prompt_tokens:count",
        "error:count",
    )
)
FILTERS = (
    SpanFilter(),
    SpanFilter(kinds=(SpanKind.LLM,)),
    SpanFilter(models=("gpt-4o",)),
    SpanFilter(kinds=(SpanKind.LLM,), attributes=(AttrEquals("metadata.tier", "pro"),)),
    SpanFilter(status=StatusCode.OK),
    SpanFilter(conditions=(Condition("metadata.region", "!=", ("us-east",)),)),
)
KEYS: tuple[str | None, ...] = (None, "metadata.region", "model", "metadata.shard")


def _query(
    where: SpanFilter,
    key: str | None,
    time: TimeRange,
    bucket: timedelta | None,
    max_groups: int = 200,
    metrics: tuple[object, ...] = METRICS,
) -> MetricQuery:
    return MetricQuery(
        P,
        metrics,  # type: ignore[arg-type]
        time,
        bucket=bucket,
        group_by=() if key is None else (key,),
        where=where,
        max_groups=max_groups,
    )


def test_every_batched_frame_equals_the_query_asked_alone(store: EventStore) -> None:
    history = TimeRange(T0 - timedelta(days=28), T0 + timedelta(hours=40))
    window = TimeRange(T0 + timedelta(hours=30), T0 + timedelta(hours=30) + TEN)
    qs = [_query(f, k, history, TEN) for f in FILTERS for k in KEYS]
    qs += [_query(f, k, window, None) for f in FILTERS for k in KEYS]
    qs.append(_query(SpanFilter(), None, TimeRange(), timedelta(hours=1)))  # no time bounds
    qs.append(_query(SpanFilter(), "metadata.region", TimeRange(), timedelta(hours=1)))
    # Asked alone, not batched: a mean, a cohort key, a sliding window, a lone query.
    qs.append(_query(SpanFilter(), None, history, TEN, metrics=(parse_metric("cost_usd:mean"),)))
    cohort = CohortKey("slow-eu", (Condition("metadata.region", "=", ("eu-west",)),))
    qs.append(replace(_query(SpanFilter(), None, history, TEN), group_by=(cohort,)))
    qs.append(replace(_query(SpanFilter(), None, history, TEN), slide=3))
    qs.append(_query(SpanFilter(), None, TimeRange(T0, T0 + timedelta(hours=5)), TEN))
    scans = metric_batch.plan_scans(qs)
    # One scan per (time range, bucket width) shared by two or more batchable queries.
    assert sorted(len(s.queries) for s in scans) == [2, 24, 24]
    batched = store.metrics(qs)
    alone = [store.metric(q) for q in qs]
    assert len(batched) == len(qs)
    for i, (got, want) in enumerate(zip(batched, alone, strict=True)):
        assert got == want, (i, qs[i])
    # What was compared is not trivial: regions and NULL regions, values that interpolate.
    grouped = alone[1]
    assert {r.group for r in grouped.rows} == {(r,) for r in REGIONS}
    assert any(r.support[6] < r.n for r in grouped.rows)  # prompt tokens: NULLs left out
    assert any(r.values[5] is not None and r.values[5] % 1 for r in grouped.rows)


def test_the_largest_groups_are_kept_ties_broken_as_sql_breaks_them(store: EventStore) -> None:
    history = TimeRange(T0, T0 + timedelta(hours=40))
    qs = [
        _query(f, k, history, TEN, max_groups=m)
        for f in FILTERS[:3]
        for k in ("metadata.shard", "metadata.region", "model")
        for m in (1, 2, 3)
    ]
    batched = store.metrics(qs)
    for q, got in zip(qs, batched, strict=True):
        assert got == store.metric(q), q
        assert len({r.group for r in got.rows}) <= q.max_groups


def test_empty_scans_and_unknown_projects_give_empty_frames(store: EventStore) -> None:
    later = TimeRange(T0 + timedelta(days=30), T0 + timedelta(days=31))
    qs = [_query(f, k, later, TEN) for f in FILTERS[:2] for k in KEYS[:2]]
    qs += [replace(q, project=ProjectName("nobody")) for q in qs]
    assert store.metrics(qs) == [store.metric(q) for q in qs]
    assert all(not f.rows for f in store.metrics(qs))


def test_the_fused_multiply_add_is_exact() -> None:
    rng = np.random.default_rng(5)
    a = rng.normal(0, 1e3, 20_000) * np.exp(rng.normal(0, 8, 20_000))
    b = rng.random(20_000)
    c = rng.normal(0, 1e3, 20_000)
    got = fma(a, b, c)
    exact = [
        float(Fraction(x) * Fraction(y) + Fraction(z)) for x, y, z in zip(a, b, c, strict=True)
    ]
    assert got.tolist() == exact
    # The unfused expression differs on some of them: the test can tell the two apart.
    assert (a * b + c).tolist() != exact


def _rows(c: MetricColumns) -> list[tuple[object, ...]]:
    """The columns' rows, comparable (NaN as None)."""
    buckets = [None] * len(c.n) if c.bucket_us is None else c.bucket_us.tolist()
    return [
        (b, c.groups[g], n, tuple(None if v != v else v for v in vals), tuple(sup))
        for b, g, n, vals, sup in zip(
            buckets,
            c.group_index.tolist(),
            c.n.tolist(),
            c.values.tolist(),
            c.support.tolist(),
            strict=True,
        )
    ]


def test_columns_hold_the_frames_rows(store: EventStore) -> None:
    history = TimeRange(T0, T0 + timedelta(hours=40))
    qs = [_query(f, k, history, TEN) for f in FILTERS[:3] for k in KEYS]
    qs.append(_query(SpanFilter(), None, history, TEN, metrics=(parse_metric("cost_usd:mean"),)))
    for q, cols in zip(qs, store.metric_columns(qs), strict=True):
        want = MetricColumns.of(store.metric(q))
        assert (cols.metrics, cols.group_by) == (want.metrics, want.group_by)
        assert _rows(cols) == _rows(want), q
        assert len(want.n) > 0


def test_nan_extreme_and_subnormal_values_give_the_frames_sql_gives(
    event_store: EventStore,
) -> None:
    # DuckDB orders NaN above every number and counts it; the batched quantiles must agree
    # (or leave the scan to SQL), and so for values near overflow and subnormal ones.
    values = [math.nan, 1e300, -1e300, 5e-324, 1e-310] + [0.001 * i for i in range(55)]
    spans = [replace(s, cost_usd=v) for s, v in zip(_spans(60), values, strict=True)]
    event_store.append_spans(spans)
    history = TimeRange(T0, T0 + timedelta(hours=2))
    metrics = (parse_metric("cost_usd:p95"), parse_metric("cost_usd:p50"), parse_metric("count"))
    qs = [_query(f, k, history, TEN, metrics=metrics) for f in FILTERS[:2] for k in KEYS[:2]]
    qs += [_query(f, k, history, None, metrics=metrics) for f in FILTERS[:2] for k in KEYS[:2]]
    assert len(metric_batch.plan_scans(qs)) == 2
    want = [event_store.metric(q) for q in qs]
    assert event_store.metrics(qs) == want
    # The edge values are in what was compared: NaN (None), and the extremes, as values.
    cells = [v for f in want for r in f.rows for v in r.values[:2]]
    assert None in cells
    assert any(v is not None and abs(v) > 1e299 for v in cells)
