"""`SegmentService` on a real DuckDB store: versions, units, fairness, refused aggregates.

Each test plants an effect (or its absence) in spans and checks the verdict (issue 15).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import numpy as np
import pytest

from llmpulse.domain.errors import InvalidInput
from llmpulse.domain.ids import ProjectName, SpanId, TraceId
from llmpulse.domain.metrics import parse_metric
from llmpulse.domain.spans import Span, SpanKind, StatusCode
from llmpulse.query.segments import Scope, SegmentService
from llmpulse.query.service import QueryService
from llmpulse.store.api import TimeRange
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.state.sql import SqlStateStore

P = ProjectName("svc")
T0 = datetime(2026, 11, 1, tzinfo=UTC)
R = TypeVar("R")


def run(make: Callable[[], Coroutine[Any, Any, R]]) -> R:
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


class Builder:
    """Traces of a few spans each; every span of a trace shares its attributes and fate."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.traces = 0

    def trace(self, at: datetime, latency: float, *, spans: int = 2, error: bool = False,
              cost: float = 0.01, **attrs: Any) -> None:  # fmt: skip
        t = self.traces
        self.traces += 1
        version = attrs.pop("version", None)
        for j in range(spans):
            self.spans.append(
                Span(
                    project=P,
                    trace_id=TraceId(f"{t:032x}"),
                    span_id=SpanId(f"{t * 8 + j + 1:016x}"),
                    parent_span_id=None,
                    name="llm",
                    kind=SpanKind.LLM,
                    start_time=at,
                    end_time=at + timedelta(milliseconds=latency * (1 + 0.05 * j)),
                    status_code=StatusCode.ERROR if error else StatusCode.OK,
                    cost_usd=cost,
                    version=version,
                    user_id=f"u{t % 50}",
                    metadata=dict(attrs),
                )
            )

    def service(self) -> SegmentService:
        events = DuckDBEventStore(None)
        events.append_spans(self.spans)
        return SegmentService(QueryService(events, SqlStateStore("sqlite://")))


def test_version_gate_holds_a_p95_regression_that_has_a_better_median() -> None:
    rng = np.random.default_rng(1)
    b = Builder()
    for i in range(1500):
        at = T0 + timedelta(seconds=10 * i)
        b.trace(at, rng.lognormal(np.log(600), 0.3), version="v1")
        slow = rng.random() < 0.1
        lat = rng.lognormal(np.log(2500), 0.2) if slow else rng.lognormal(np.log(450), 0.3)
        b.trace(at, lat, version="v2")
    svc = b.service()
    metrics = (parse_metric("latency_ms:p50"), parse_metric("latency_ms:p95"))
    report = run(lambda: svc.compare_versions(Scope(P), "version", "v1", "v2", metrics,
                                              guard_rails=("latency_ms:p95",)))  # fmt: skip
    p50, p95 = report.metrics
    assert p50.verdict == "better"
    assert p50.diff < 0
    assert p95.verdict == "worse"
    assert p95.diff > 0
    assert p95.ci_low > 0
    assert p95.test == "cluster_bootstrap"
    assert p95.baseline_units == 1500
    assert p95.baseline_n == 3000  # every span, not a sample
    assert report.signal == "hold"
    assert report.unit == "trace"


def test_versions_are_compared_only_while_both_were_live() -> None:
    # v1 runs hours 0-10, v2 hours 5-15; a cost incident hits hours 11-15, when only v2 ran.
    rng = np.random.default_rng(2)
    b = Builder()
    for minute in range(0, 15 * 60, 2):
        at = T0 + timedelta(minutes=minute)
        incident = minute >= 11 * 60
        if minute < 10 * 60:
            b.trace(at, 500, cost=rng.normal(0.010, 0.002), version="v1")
        if minute >= 5 * 60:
            b.trace(at, 500, cost=rng.normal(0.030 if incident else 0.010, 0.002), version="v2")
    svc = b.service()
    cost = (parse_metric("cost_usd:mean"),)
    windowed = run(lambda: svc.compare_versions(Scope(P), "version", "v1", "v2", cost))
    assert windowed.windowed
    assert windowed.window_start == T0 + timedelta(hours=5)
    assert windowed.window_end is not None
    assert T0 + timedelta(hours=9, minutes=58) < windowed.window_end <= T0 + timedelta(hours=10)
    assert windowed.metrics[0].verdict == "no_detectable_difference"
    assert windowed.signal == "promote"
    whole = run(lambda: svc.compare_versions(Scope(P), "version", "v1", "v2", cost,
                                             overlap=False))  # fmt: skip
    assert not whole.windowed
    assert whole.metrics[0].verdict == "worse"


def test_fairness_on_error_rate_names_the_fewest_errors_most_favoured() -> None:
    rng = np.random.default_rng(3)
    b = Builder()
    for i in range(3000):
        tier = ("free", "pro")[i % 2]
        b.trace(
            T0 + timedelta(seconds=i),
            300,
            error=rng.random() < (0.3 if tier == "free" else 0.02),
            tier=tier,
        )
    svc = b.service()
    report = run(lambda: svc.fairness(Scope(P), parse_metric("error:rate"), "metadata.tier"))
    assert report.most_favoured == "pro"
    free = next(g for g in report.groups if g.group == "free")
    assert free.four_fifths == "fail"
    assert report.adverse_groups == ("free",)


def test_segments_report_the_unit_and_leave_spans_without_the_key_out_of_the_rest() -> None:
    rng = np.random.default_rng(4)
    b = Builder()
    for i in range(2000):
        region = ("eu", "us")[i % 2]
        b.trace(T0 + timedelta(seconds=i), 300, error=rng.random() < 0.05, region=region)
    for i in range(2000):  # spans that lack the key and always fail
        b.trace(T0 + timedelta(seconds=i), 300, error=True)
    svc = b.service()
    report = run(lambda: svc.compare_key(Scope(P), parse_metric("error:rate"), "metadata.region"))
    assert report.unit == "trace"
    assert report.total_units == 2000
    assert report.total_n == 4000
    assert report.value_unit == "fraction"
    eu = next(r for r in report.rows if r.keys == (("metadata.region", "eu"),))
    assert eu.rest_value < 0.1  # the rest is region=us only, not the failing unkeyed spans
    assert eu.test == "delta_method"
    assert not eu.significant
    by_user = run(lambda: svc.compare_key(Scope(P), parse_metric("error:rate"),
                                          "metadata.region", unit="user"))  # fmt: skip
    assert by_user.unit == "user"


def test_segments_compare_a_percentile_as_a_percentile() -> None:
    rng = np.random.default_rng(5)
    b = Builder()
    for i in range(4000):
        region = ("eu", "us")[i % 2]
        slow = region == "eu" and rng.random() < 0.1
        lat = rng.lognormal(np.log(3000 if slow else 400), 0.2) if region == "eu" else \
            rng.lognormal(np.log(500), 0.3)  # fmt: skip
        b.trace(T0 + timedelta(seconds=i), lat, region=region)
    svc = b.service()
    report = run(lambda: svc.compare_key(Scope(P), parse_metric("latency_ms:p95"),
                                         "metadata.region"))  # fmt: skip
    eu = next(r for r in report.rows if r.keys == (("metadata.region", "eu"),))
    assert eu.test == "quantile_test"
    assert eu.significant
    assert eu.worse
    assert eu.rank == 1
    assert eu.value > eu.rest_value
    assert report.value_unit == "ms"


@pytest.mark.parametrize("metric", ["latency_ms:p95", "cost_usd:per_trace", "cost_usd:sum"])
@pytest.mark.parametrize("analysis", ["discover", "changes"])
def test_discover_and_changes_refuse_aggregates_they_would_not_compute(
    metric: str, analysis: str
) -> None:
    b = Builder()
    b.trace(T0, 100, tier="free")
    svc = b.service()
    m = parse_metric(metric)
    if analysis == "discover":
        call = lambda: svc.discover(Scope(P), m, ("metadata.tier",))  # noqa: E731
    else:
        call = lambda: svc.changes(Scope(P), TimeRange(), m, ("metadata.tier",))  # noqa: E731
    with pytest.raises(InvalidInput) as err:
        run(call)
    assert err.value.errors[0].path == "metric"
    assert "discover: rate, mean" in err.value.errors[0].message
    assert "segments: rate, mean, p50, p90, p95, p99" in err.value.errors[0].message


def test_discover_and_changes_analyse_traces_as_units() -> None:
    rng = np.random.default_rng(8)
    b = Builder()
    for i in range(3000):
        tier = ("free", "pro", "enterprise")[i % 3]
        p = 0.25 if tier == "free" else 0.03
        b.trace(T0 + timedelta(seconds=i), 300, spans=3, error=rng.random() < p, tier=tier,
                region=("eu", "us")[i % 2])  # fmt: skip
    svc = b.service()
    keys = ("metadata.tier", "metadata.region")
    report = run(lambda: svc.discover(Scope(P), parse_metric("error:rate"), keys))
    assert report.unit == "trace"
    assert report.total_units == 3000
    top = report.rows[0]
    assert top.keys == (("metadata.tier", "free"),)
    assert top.test == "delta_method"
    # spans of a trace fail together: the trace-level interval is wider than the span-level one
    spans = run(lambda: svc.discover(Scope(P), parse_metric("error:rate"), keys, unit="span"))
    top_spans = next(r for r in spans.rows if r.keys == top.keys)
    assert (top.ci_high - top.ci_low) > 1.4 * (top_spans.ci_high - top_spans.ci_low)
    half = T0 + timedelta(seconds=1500)
    changes = run(lambda: svc.changes(Scope(P, TimeRange(half)), TimeRange(T0, half),
                                      parse_metric("error:rate"), keys))  # fmt: skip
    assert changes.unit == "trace"
    assert not any(r.status == "reported" for r in changes.rows)  # nothing changed
