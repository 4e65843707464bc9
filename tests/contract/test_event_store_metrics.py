"""EventStore contract: metric series, slices and samples, checked against numpy on the data."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from store_factories import make_span

from llmpulse.domain.cohorts import Condition
from llmpulse.domain.errors import InvalidInput
from llmpulse.domain.ids import PredictionId, ProjectName
from llmpulse.domain.metrics import parse_field, parse_metric
from llmpulse.domain.spans import Annotation, RetrievedDocument, Span, StatusCode
from llmpulse.store.api import EventStore, SpanFilter, SpanQuery, TimeRange
from llmpulse.store.metric_api import CohortKey, MetricQuery, SampleQuery, SliceQuery, UnitQuery

P = ProjectName("metrics")
T0 = datetime(2026, 11, 1, tzinfo=UTC)
TIERS = ("free", "pro", "enterprise")
REGIONS = ("us", "eu")


def _spans(n: int = 600, seed: int = 3) -> list[Span]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        tier, region = TIERS[i % 3], REGIONS[(i // 3) % 2]
        start = T0 + timedelta(seconds=30 * i)  # 600 spans over 5 hours
        latency = rng.lognormvariate(5, 0.5) * (3 if (tier, region) == ("pro", "eu") else 1)
        error = rng.random() < (0.3 if tier == "free" and region == "eu" else 0.02)
        out.append(
            replace(
                make_span(i),
                project=P,
                start_time=start,
                end_time=start + timedelta(milliseconds=latency),
                status_code=StatusCode.ERROR if error else StatusCode.OK,
                cost_usd=round(rng.uniform(0.001, 0.01), 6),
                prompt_tokens=rng.randint(100, 900),
                trace_id=f"{i // 2:032x}",
                session_id=f"s{i % 40}",
                http_status=(200, 429, 500, None)[i % 4],
                metadata={"tier": tier, "region": region},
                documents=(RetrievedDocument("d", "x", 0.25 + (i % 3) * 0.25),),
                attributes={"prediction.score": (i % 10) / 10},
                prediction_id=PredictionId(f"p{i}"),
            )
        )
    return out


def _latency(s: Span) -> float:
    return (s.end_time - s.start_time).total_seconds() * 1000


@pytest.fixture
def loaded(event_store: EventStore) -> tuple[EventStore, list[Span]]:
    spans = _spans()
    event_store.append_spans(spans)
    return event_store, spans


def test_metric_window_aggregates_match_numpy(loaded: tuple[EventStore, list[Span]]) -> None:
    store, spans = loaded
    metrics = tuple(
        parse_metric(m)
        for m in ("count", "latency_ms:p95", "latency_ms:mean", "error:rate", "cost_usd:sum")
    )
    frame = store.metric(MetricQuery(P, metrics))
    assert len(frame.rows) == 1
    row = frame.rows[0]
    lat = np.array([_latency(s) for s in spans])
    assert row.n == len(spans)
    assert row.values[0] == len(spans)
    assert row.values[1] == pytest.approx(np.percentile(lat, 95), rel=1e-6)
    assert row.values[2] == pytest.approx(lat.mean(), rel=1e-6)
    errors = sum(s.status_code is StatusCode.ERROR for s in spans)
    assert row.values[3] == pytest.approx(errors / len(spans))
    assert row.values[4] == pytest.approx(sum(s.cost_usd or 0 for s in spans))


def test_metric_series_buckets_are_aligned_and_grouped(
    loaded: tuple[EventStore, list[Span]],
) -> None:
    store, spans = loaded
    q = MetricQuery(
        P,
        (parse_metric("latency_ms:p50"), parse_metric("error:rate")),
        bucket=timedelta(hours=1),
        group_by=("metadata.tier",),
    )
    frame = store.metric(q)
    assert {r.group for r in frame.rows} == {(t,) for t in TIERS}
    assert all(r.bucket is not None and r.bucket.minute == 0 for r in frame.rows)
    row = next(r for r in frame.rows if r.group == ("pro",) and r.bucket == T0)
    chosen = [
        s
        for s in spans
        if s.metadata["tier"] == "pro" and T0 <= s.start_time < T0 + timedelta(hours=1)
    ]
    assert row.n == len(chosen)
    assert row.values[0] == pytest.approx(np.percentile([_latency(s) for s in chosen], 50))


def test_metric_outcomes_count_only_spans_with_the_field(
    loaded: tuple[EventStore, list[Span]],
) -> None:
    store, spans = loaded
    frame = store.metric(
        MetricQuery(P, (parse_metric("http_4xx:rate"), parse_metric("http_5xx:rate")))
    )
    with_status = [s for s in spans if s.http_status is not None]
    row = frame.rows[0]
    assert row.support == (len(with_status), len(with_status))
    assert row.values[0] == pytest.approx(
        sum(400 <= (s.http_status or 0) < 500 for s in with_status) / len(with_status)
    )
    assert row.values[1] == pytest.approx(
        sum((s.http_status or 0) >= 500 for s in with_status) / len(with_status)
    )


def test_metric_per_trace_and_document_and_attribute_fields(
    loaded: tuple[EventStore, list[Span]],
) -> None:
    store, spans = loaded
    names = ("cost_usd:per_trace", "document_score:mean", "prediction_score:max")
    row = store.metric(MetricQuery(P, tuple(parse_metric(m) for m in names))).rows[0]
    traces = {s.trace_id for s in spans}
    assert row.values[0] == pytest.approx(sum(s.cost_usd or 0 for s in spans) / len(traces))
    assert row.values[1] == pytest.approx(np.mean([s.documents[0].score for s in spans]))
    assert row.values[2] == pytest.approx(0.9)


def test_metric_annotations_count_toward_the_annotated_span_bucket(
    loaded: tuple[EventStore, list[Span]],
) -> None:
    store, spans = loaded
    late = T0 + timedelta(days=2)
    notes = [
        Annotation(f"a{i}", P, s.span_id, None, "feedback", "HUMAN", late, label=lbl, score=sc)
        for i, (s, lbl, sc) in enumerate(
            [(spans[0], "down", 0.0), (spans[1], "up", 1.0), (spans[2], "up", 1.0)]
        )
    ]
    # an older verdict on span 0 is superseded by the newer one above
    notes.append(Annotation("old", P, spans[0].span_id, None, "feedback", "HUMAN", T0, label="up"))
    notes.append(
        Annotation("pred", P, None, PredictionId("p3"), "feedback", "HUMAN", late, label="down")
    )
    store.append_annotations(notes)
    q = MetricQuery(
        P,
        (parse_metric("annotation.feedback.label=down:rate"),
         parse_metric("annotation.feedback.score:mean")),
        bucket=timedelta(hours=1),
    )  # fmt: skip
    first = store.metric(q).rows[0]
    assert first.bucket == T0
    assert first.support[0] == 4
    assert first.values[0] == pytest.approx(2 / 4)
    assert first.values[1] == pytest.approx(2 / 3)


def test_slices_sum_to_the_totals_for_each_key(loaded: tuple[EventStore, list[Span]]) -> None:
    store, spans = loaded
    frame = store.slices(
        SliceQuery(P, parse_field("error"), keys=("metadata.tier", "metadata.region"))
    )
    assert frame.total.n == len(spans)
    singles = [r for r in frame.rows if len(r.keys) == 1 and r.keys[0][0] == "metadata.tier"]
    assert sum(r.n for r in singles) == frame.total.n
    assert sum(r.sum for r in singles) == pytest.approx(frame.total.sum)
    pair = next(
        r for r in frame.rows if r.keys == (("metadata.tier", "free"), ("metadata.region", "eu"))
    )
    chosen = [s for s in spans if s.metadata == {"tier": "free", "region": "eu"}]
    assert pair.n == len(chosen)
    assert pair.sum == sum(s.status_code is StatusCode.ERROR for s in chosen)


def test_sample_is_seeded_bounded_and_respects_the_segment(
    loaded: tuple[EventStore, list[Span]],
) -> None:
    store, spans = loaded
    seg = (Condition("metadata.tier", "=", ("pro",)), Condition("metadata.region", "=", ("eu",)))
    q = SampleQuery(P, parse_field("latency_ms"), segment=seg, limit=50, seed=11)
    a, b = store.sample(q), store.sample(q)
    assert a == b
    assert len(a) == 50
    inside = {round(_latency(s), 3) for s in spans if s.metadata == {"tier": "pro", "region": "eu"}}
    assert {round(v, 3) for v in a} <= inside
    rest = store.sample(replace(q, complement=True, limit=10_000))
    assert len(rest) == len(spans) - len(inside)


def test_metric_rejects_bad_buckets_and_keys(loaded: tuple[EventStore, list[Span]]) -> None:
    store, _ = loaded
    with pytest.raises(InvalidInput):
        store.metric(MetricQuery(P, (parse_metric("count"),), bucket=timedelta(seconds=5)))
    with pytest.raises(InvalidInput):
        store.metric(MetricQuery(P, (parse_metric("count"),), group_by=("a", "b", "c")))
    with pytest.raises(InvalidInput):
        store.metric(MetricQuery(P, (parse_metric("count"),), group_by=("bad key!",)))


def test_metric_top_groups_keep_the_largest(loaded: tuple[EventStore, list[Span]]) -> None:
    store, _ = loaded
    frame = store.metric(
        MetricQuery(P, (parse_metric("count"),), group_by=("session_id",), max_groups=5)
    )
    assert len({r.group for r in frame.rows}) == 5


def test_unpriced_models_lists_models_with_tokens_but_no_cost(event_store: EventStore) -> None:
    spans = _spans(10)
    spans[0] = replace(spans[0], model="mystery-1", cost_usd=None)
    spans[1] = replace(spans[1], model="mystery-1", cost_usd=None)
    event_store.append_spans(spans)
    assert event_store.unpriced_models(P) == {"mystery-1": 2}


def test_cohort_conditions_filter_and_split_spans(loaded: tuple[EventStore, list[Span]]) -> None:
    store, spans = loaded
    conds = (
        Condition("metadata.tier", "in", ("pro", "enterprise")),
        Condition("metadata.region", "!=", ("eu",)),
    )
    inside = [s for s in spans if s.metadata["tier"] != "free" and s.metadata["region"] != "eu"]
    where = SpanFilter(conditions=conds)
    row = store.metric(MetricQuery(P, (parse_metric("count"),), where=where)).rows[0]
    assert row.n == len(inside)
    key = CohortKey("upmarket-us", conds)
    frame = store.metric(MetricQuery(P, (parse_metric("count"),), group_by=(key,)))
    assert frame.group_by == ("cohort:upmarket-us",)
    assert {r.group: r.n for r in frame.rows} == {
        ("in",): len(inside),
        ("out",): len(spans) - len(inside),
    }
    not_in = SpanFilter(conditions=(Condition("metadata.tier", "not in", ("free", "pro")),))
    row = store.metric(MetricQuery(P, (parse_metric("count"),), where=not_in)).rows[0]
    assert row.n == sum(s.metadata["tier"] == "enterprise" for s in spans)
    page = store.list_spans(SpanQuery(P, conditions=conds, limit=1000))
    assert len(page.items) == len(inside)


def test_units_aggregate_per_value_and_trace_and_match_the_spans(
    loaded: tuple[EventStore, list[Span]],
) -> None:
    store, spans = loaded
    frame = store.units(UnitQuery(P, parse_field("error"), "metadata.tier", unit="trace"))
    assert frame.values == tuple(sorted(TIERS))
    expected: dict[tuple[str, str], list[float]] = {}
    for s in spans:
        bad = 1.0 if s.status_code is StatusCode.ERROR else 0.0
        expected.setdefault((s.metadata["tier"], s.trace_id), []).append(bad)
    assert len(frame.n) == len(expected)
    assert frame.n.sum() == len(spans)
    # cluster codes identify traces: a trace's spans (here in two tiers) share one code
    per_cluster = np.bincount(frame.cluster, weights=frame.n)
    assert sorted(per_cluster.tolist()) == [2.0] * len({s.trace_id for s in spans})
    rows = sorted(zip(frame.group.tolist(), frame.n.tolist(), frame.sum.tolist(), strict=True))
    want = sorted((frame.values.index(t), len(v), sum(v)) for (t, _), v in expected.items())
    assert rows == want
    per_tier = {t: sum(sum(v) for k, v in expected.items() if k[0] == t) for t in TIERS}
    for i, t in enumerate(frame.values):
        assert frame.sum[frame.group == i].sum() == per_tier[t]
        chosen = [s.start_time for s in spans if s.metadata["tier"] == t]
        assert frame.first[i] == min(chosen)
        assert frame.last[i] == max(chosen)


def test_units_raw_are_sorted_values_with_sessions_as_clusters(
    loaded: tuple[EventStore, list[Span]],
) -> None:
    store, spans = loaded
    q = UnitQuery(P, parse_field("latency_ms"), "metadata.region", unit="session", raw=True)
    frame = store.units(q)
    assert frame.n.size == len(spans)
    assert np.all(np.diff(frame.sum) >= 0)
    assert np.unique(frame.cluster).size == len({s.session_id for s in spans})
    eu = frame.values.index("eu")
    want = sorted(_latency(s) for s in spans if s.metadata["region"] == "eu")
    assert frame.sum[frame.group == eu] == pytest.approx(want, rel=1e-6)


def test_slices_by_unit_carry_the_unit_sums_of_each_slice(
    loaded: tuple[EventStore, list[Span]],
) -> None:
    store, spans = loaded
    keys = ("metadata.tier", "metadata.region")
    plain = store.slices(SliceQuery(P, parse_field("cost_usd"), keys=keys))
    frame = store.slices(SliceQuery(P, parse_field("cost_usd"), keys=keys, unit="session"))
    assert sorted((r.keys, r.n) for r in frame.rows) == sorted((r.keys, r.n) for r in plain.rows)
    for row in [*frame.rows, frame.total]:
        chosen = [s for s in spans if all(s.metadata[k.split(".")[1]] == v for k, v in row.keys)]
        per: dict[str, list[float]] = {}
        for s in chosen:
            per.setdefault(str(s.session_id), []).append(float(s.cost_usd or 0.0))
        y = np.array([sum(v) for v in per.values()])
        n = np.array([len(v) for v in per.values()], dtype=float)
        assert row.units is not None
        assert row.units[0] == len(per)
        assert row.units[1:] == pytest.approx((y @ y, y @ n, n @ n), rel=1e-9)
        assert row.sum == pytest.approx(y.sum())
        assert row.n == n.sum()


def test_slices_by_unit_over_no_spans_have_an_empty_total(
    loaded: tuple[EventStore, list[Span]],
) -> None:
    store, _ = loaded
    empty = TimeRange(T0 - timedelta(days=2), T0 - timedelta(days=1))
    q = SliceQuery(P, parse_field("error"), keys=("metadata.tier",), time=empty, unit="trace")
    frame = store.slices(q)
    assert frame.rows == []
    assert frame.total.n == 0


def test_several_quantiles_of_one_field_per_bucket_and_group_match_numpy(
    loaded: tuple[EventStore, list[Span]],
) -> None:
    """Quantiles of one field are computed together (one list quantile); each lands in its
    own place between other metrics, with its own support count."""
    store, spans = loaded
    names = (
        "latency_ms:p99", "count", "prompt_tokens:p50", "latency_ms:p50",
        "cost_usd:sum", "prompt_tokens:p95", "latency_ms:p95",
    )  # fmt: skip
    q = MetricQuery(
        P,
        tuple(parse_metric(m) for m in names),
        bucket=timedelta(hours=1),
        group_by=("metadata.region",),
    )
    frame = store.metric(q)
    assert frame.metrics == names
    assert len(frame.rows) == 10  # 5 hours x 2 regions
    for row in frame.rows:
        assert row.bucket is not None
        chosen = [
            s
            for s in spans
            if (s.metadata or {})["region"] == row.group[0]
            and row.bucket <= s.start_time < row.bucket + timedelta(hours=1)
        ]
        lat = np.array([_latency(s) for s in chosen])
        tok = np.array([s.prompt_tokens for s in chosen], dtype=float)
        expected = (
            np.percentile(lat, 99), len(chosen), np.percentile(tok, 50), np.percentile(lat, 50),
            sum(s.cost_usd or 0 for s in chosen), np.percentile(tok, 95), np.percentile(lat, 95),
        )  # fmt: skip
        assert row.n == len(chosen)
        assert row.values == pytest.approx(expected, rel=1e-9)
        assert row.support == (len(chosen),) * len(names)
