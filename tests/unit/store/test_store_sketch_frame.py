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
