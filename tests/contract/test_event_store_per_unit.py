"""EventStore contract: cost per trace, session and user is a mean over units with a known cost.

Planted: traces with an unpriced LLM call (their cost is unknown, not cheaper), spans without
a session or user (their cost belongs to no session), and a retrieval-only trace (costs 0).
"""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pytest
from store_factories import T0, make_span, trace_id

from llmpulse.domain.ids import ProjectName
from llmpulse.domain.metrics import parse_metric
from llmpulse.domain.spans import Span, SpanKind
from llmpulse.store.api import EventStore
from llmpulse.store.metric_api import MetricQuery

P = ProjectName("default")
_n = iter(range(1, 1_000_000))


def _llm(trace: int, cost: float | None, *, minute: int = 0, **kw: object) -> Span:
    n = next(_n)
    start = T0 + timedelta(minutes=minute, milliseconds=n)
    return make_span(
        n,
        trace_id=trace_id(trace),
        start_time=start,
        end_time=start + timedelta(milliseconds=250, microseconds=7),
        model="gpt-4o-mini" if cost is not None else "in-house-llm",
        prompt_tokens=100,
        completion_tokens=10,
        cost_usd=cost,
        **kw,
    )


def _query(store: EventStore, *metrics: str, **kw: object) -> MetricQuery:
    return MetricQuery(P, tuple(parse_metric(m) for m in metrics), **kw)  # type: ignore[arg-type]


def test_traces_with_an_unpriced_call_are_excluded_and_counted(event_store: EventStore) -> None:
    spans = [_llm(t, 0.5) for t in range(10) for _ in range(2)]  # 10 traces of $1.00
    spans += [_llm(t, c) for t in range(10, 15) for c in (0.5, None)]  # 5 unknown traces
    retrieval = make_span(next(_n), trace_id=trace_id(99), kind=SpanKind.RETRIEVER)
    spans.append(retrieval)  # a trace with no LLM call costs $0
    event_store.append_spans(spans)
    (row,) = event_store.metric(_query(event_store, "cost_usd:per_trace", "count")).rows
    assert row.values[0] == pytest.approx(10.0 / 11)
    assert row.support[0] == 11  # traces averaged
    assert row.excluded == (5, 0)
    assert row.n == len(spans)


def test_spans_without_a_session_or_user_do_not_load_the_others(event_store: EventStore) -> None:
    spans = [_llm(1, 1.0, session_id="s1", user_id="u1"), _llm(1, 1.0, session_id="s1")]
    spans += [_llm(2, 4.0, session_id="s2", user_id="u2")]
    spans += [_llm(3, 50.0), _llm(4, 50.0)]  # no session, no user: batch jobs, say
    event_store.append_spans(spans)
    metrics = ("cost_usd:per_session", "cost_usd:per_user", "cost_usd:per_trace")
    (row,) = event_store.metric(_query(event_store, *metrics)).rows
    assert row.values[0] == pytest.approx((2.0 + 4.0) / 2)
    assert row.values[1] == pytest.approx((1.0 + 4.0) / 2)
    assert row.values[2] == pytest.approx((2.0 + 4.0 + 50.0 + 50.0) / 4)
    assert row.support == (2, 2, 4)
    assert row.excluded == (0, 0, 0)


def test_per_unit_metrics_keep_buckets_groups_and_other_metrics_apart(
    event_store: EventStore,
) -> None:
    spans = [_llm(1, 1.0, minute=0, environment="prod")]
    spans += [_llm(2, 3.0, minute=0, environment="prod"), _llm(2, None, minute=0)]
    spans += [_llm(3, 2.0, minute=90, environment="prod"), _llm(4, 6.0, minute=90)]
    event_store.append_spans(spans)
    q = _query(
        event_store,
        "cost_usd:per_trace",
        "cost_usd:sum",
        "latency_ms:p50",
        bucket=timedelta(hours=1),
        group_by=("environment",),
    )
    rows = {(r.bucket, r.group): r for r in event_store.metric(q).rows}
    first, second = T0, T0 + timedelta(hours=1)
    assert rows[(first, ("prod",))].values[0] == pytest.approx((1.0 + 3.0) / 2)
    assert rows[(first, ("prod",))].excluded == (0, 0, 0)
    # trace 2's unpriced span has no environment: in that group, trace 2 is unknown
    assert rows[(first, (None,))].values[0] is None
    assert rows[(first, (None,))].excluded == (1, 0, 0)
    assert rows[(first, (None,))].values[1] is None
    assert rows[(second, ("prod",))].values[:2] == (pytest.approx(2.0), pytest.approx(2.0))
    assert rows[(second, (None,))].values[:2] == (pytest.approx(6.0), pytest.approx(6.0))
    assert [r.values[2] for r in rows.values()] == [pytest.approx(250.007)] * 4


def test_sums_and_means_are_the_correctly_rounded_numbers_in_any_row_order(
    event_store: EventStore,
) -> None:
    """A floating sum depends on the order rows arrive in (a parallel scan, a hash table), so
    a plain sum can move in its last bits between two runs or across a restart. The number
    is the correctly rounded one, every time."""
    rng = np.random.default_rng(7)
    costs = rng.lognormal(-8, 2, size=(12_000, 2))  # dollars: fractions of a cent, long tail
    spans = [_llm(t, float(c)) for t in range(len(costs)) for c in costs[t]]
    event_store.append_spans(spans)
    metrics = ("cost_usd:per_trace", "cost_usd:sum", "cost_usd:mean")
    flat = [float(c) for c in costs.ravel()]
    expected = (
        math.fsum(math.fsum(map(float, pair)) for pair in costs) / len(costs),
        math.fsum(flat),
        math.fsum(flat) / len(flat),
    )
    for _ in range(5):
        (row,) = event_store.metric(_query(event_store, *metrics)).rows
        assert row.values == expected
