"""`sketch.frame_of_bins` (an unbucketed answer from numpy per-bin counts) equals
`sketch.frame` of the same rows, value for value."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from llmpulse.domain.ids import ProjectName
from llmpulse.domain.metrics import parse_metric
from llmpulse.store.api import TimeRange
from llmpulse.store.events import sketch
from llmpulse.store.metric_api import MetricQuery

METRICS = tuple(
    parse_metric(m, "m")
    for m in ("count", "latency_ms:p50", "latency_ms:p90", "latency_ms:p95", "latency_ms:p99")
)


@pytest.mark.parametrize("seed", range(6))
def test_frame_of_bins_equals_the_frame_of_the_rows(seed: int) -> None:
    rng = np.random.default_rng(seed)
    q = MetricQuery(
        ProjectName("p"),
        METRICS,
        TimeRange(datetime(2026, 1, 1, tzinfo=UTC), None),
        approximate=True,
    )
    p = sketch.Plan("", [], None, tuple(m.quantile for m in METRICS))
    for size in (0, 1, 2, 7, 300):
        bins = np.unique(rng.integers(-600, 900, size)).astype(np.int64)
        if size > 1 and seed % 2:
            bins = np.concatenate([[sketch.ZERO_BIN], bins[1:]]).astype(np.int64)
        counts = rng.integers(0, 4 if seed < 3 else 500, len(bins)).astype(np.int64)
        rows = [(None, int(b), int(n)) for b, n in zip(bins, counts, strict=True)]
        assert sketch.frame_of_bins(q, p, bins, counts) == sketch.frame(q, p, rows), size


def test_shape_is_the_plan_without_its_sql() -> None:
    """`sketch.shape` answers exactly when `sketch.plan` does, with its width and quantiles."""
    from dataclasses import replace
    from datetime import timedelta

    from llmpulse.store.api import AttrEquals, SpanFilter

    t0 = datetime(2026, 1, 1, 3, 7, tzinfo=UTC)
    base = MetricQuery(ProjectName("p"), METRICS[:2], TimeRange(t0, t0 + timedelta(hours=5)))
    variants = [
        base,
        replace(base, approximate=True),
        replace(base, metrics=METRICS[:1]),
        replace(base, metrics=METRICS, approximate=True, where=SpanFilter(root_only=True)),
        replace(base, metrics=METRICS[:1], bucket=timedelta(hours=1)),
        replace(base, metrics=METRICS[:1], bucket=timedelta(minutes=5)),
        replace(base, metrics=METRICS[:1], group_by=("model",)),
        replace(base, metrics=(parse_metric("cost_usd:sum", "m"),)),
        replace(base, metrics=METRICS[:1], where=SpanFilter(models=("gpt",))),
        replace(
            base, metrics=METRICS[:1], where=SpanFilter(attributes=(AttrEquals("metadata.r", "x"),))
        ),
    ]
    answered = 0
    for q in variants:
        p, s = sketch.plan(q), sketch.shape(q)
        assert (p is None) == (s is None), q
        if p is not None and s is not None:
            answered += 1
            assert (s.bucket_s, s.quantiles) == (p.bucket_s, p.quantiles)
    assert answered == 4
