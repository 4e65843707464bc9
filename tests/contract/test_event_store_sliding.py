"""EventStore contract: sliding-window metric series (`MetricQuery.slide`), checked with numpy."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from store_factories import make_span

from llmpulse.domain.errors import InvalidInput
from llmpulse.domain.ids import ProjectName
from llmpulse.domain.metrics import parse_metric
from llmpulse.domain.spans import Span, StatusCode
from llmpulse.store.api import EventStore, TimeRange
from llmpulse.store.metric_api import MetricQuery

P = ProjectName("sliding")
T0 = datetime(2026, 11, 1, tzinfo=UTC)
MIN = timedelta(minutes=1)


def _spans() -> list[Span]:
    rng = random.Random(11)
    out = []
    for i in range(900):  # 900 spans over 30 minutes, two regions
        start = T0 + timedelta(seconds=2 * i)
        latency = rng.lognormvariate(5, 0.6)
        out.append(
            replace(
                make_span(i),
                project=P,
                start_time=start,
                end_time=start + timedelta(milliseconds=latency),
                status_code=StatusCode.ERROR if rng.random() < 0.1 else StatusCode.OK,
                metadata={"region": ("us", "eu")[i % 2]},
            )
        )
    return out


def _latency(s: Span) -> float:
    return (s.end_time - s.start_time).total_seconds() * 1000


def test_sliding_window_rows_equal_each_window_recomputed(event_store: EventStore) -> None:
    spans = _spans()
    event_store.append_spans(spans)
    q = MetricQuery(
        P,
        (parse_metric("latency_ms:p95"), parse_metric("error:rate")),
        TimeRange(T0 + 5 * MIN, T0 + 30 * MIN),
        bucket=MIN,
        group_by=("metadata.region",),
        slide=10,
    )
    frame = event_store.metric(q)
    buckets = sorted({r.bucket for r in frame.rows if r.bucket is not None})
    # Windows of ten minutes ending at 15, 16, ..., 30 minutes: 16 complete windows.
    assert buckets[0] == T0 + 14 * MIN
    assert buckets[-1] == T0 + 29 * MIN
    assert len(buckets) == 16
    for row in frame.rows:
        assert row.bucket is not None
        end = row.bucket + MIN
        inside = [
            s
            for s in spans
            if end - 10 * MIN <= s.start_time < end and s.metadata["region"] == row.group[0]
        ]
        assert row.n == len(inside)
        p95 = float(np.quantile([_latency(s) for s in inside], 0.95))
        assert row.values[0] == pytest.approx(p95, rel=1e-9)
        rate = sum(s.status_code is StatusCode.ERROR for s in inside) / len(inside)
        assert row.values[1] == pytest.approx(rate)


def test_slide_without_bucket_is_refused_naming_the_field(event_store: EventStore) -> None:
    q = MetricQuery(P, (parse_metric("count"),), slide=3)
    with pytest.raises(InvalidInput) as err:
        event_store.metric(q)
    assert err.value.errors[0].path == "slide"
