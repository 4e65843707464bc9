"""EventStore contract: good/valid counts per bucket (SLIs), checked against Python on the data."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from store_factories import make_span

from llmpulse.domain.cohorts import Condition
from llmpulse.domain.errors import InvalidInput
from llmpulse.domain.ids import ProjectName, SpanId, TraceId
from llmpulse.domain.metrics import parse_field
from llmpulse.domain.spans import Annotation, Span, StatusCode
from llmpulse.store.api import EventStore, SpanQuery
from llmpulse.store.slo_api import CountQuery, CountSpec, SpanTest, TimeSlice

P = ProjectName("slo")
T0 = datetime(2026, 11, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
LATENCY = parse_field("latency_ms")


def _spans() -> list[Span]:
    rng = random.Random(5)
    out = []
    for i in range(600):  # every 30 s for 5 h; spans 2k and 2k+1 form one trace
        start = T0 + timedelta(seconds=30 * i)
        latency = rng.lognormvariate(5, 0.6)
        out.append(
            replace(
                make_span(i),
                project=P,
                trace_id=TraceId(f"{i // 2:032x}"),
                parent_span_id=None if i % 2 == 0 else SpanId(f"{i - 1:016x}"),
                start_time=start,
                end_time=start + timedelta(milliseconds=latency),
                status_code=StatusCode.ERROR if rng.random() < 0.1 else StatusCode.OK,
                cost_usd=None if i == 7 else round(rng.uniform(0.001, 0.01), 6),
                metadata={"tier": ("free", "pro")[i % 2]},
                model="gpt-x" if i == 7 else None,  # span 7: an LLM call with no price
                total_tokens=120 if i == 7 else None,
            )
        )
    return out


def _latency(s: Span) -> float:
    return (s.end_time - s.start_time).total_seconds() * 1000


def _bucket(s: Span, width: timedelta = timedelta(minutes=5)) -> int:
    return (s.start_time - T0) // width


@pytest.fixture
def loaded(event_store: EventStore) -> tuple[EventStore, list[Span]]:
    spans = _spans()
    event_store.append_spans(spans)
    return event_store, spans


def _query(*specs: CountSpec, bucket: timedelta = timedelta(minutes=5)) -> CountQuery:
    return CountQuery(P, T0, T0 + 5 * HOUR, bucket, specs)


def test_ratio_counts_per_bucket_match_python(loaded: tuple[EventStore, list[Span]]) -> None:
    store, spans = loaded
    availability = CountSpec(valid=(SpanTest("root"),), good=(SpanTest("ok"),))
    latency = CountSpec(
        valid=(SpanTest("matches", conditions=(Condition("metadata.tier", "=", ("pro",)),)),),
        good=(SpanTest("le", LATENCY, 150.0),),
    )
    a, lat = store.good_valid(_query(availability, latency))
    assert len(a.valid) == 60
    want_valid, want_good = np.zeros(60), np.zeros(60)
    lat_valid, lat_good = np.zeros(60), np.zeros(60)
    for s in spans:
        b = _bucket(s)
        if s.parent_span_id is None:
            want_valid[b] += 1
            want_good[b] += s.status_code is not StatusCode.ERROR
        if s.metadata["tier"] == "pro":
            lat_valid[b] += 1
            lat_good[b] += _latency(s) <= 150.0
    np.testing.assert_array_equal(a.valid, want_valid)
    np.testing.assert_array_equal(a.good, want_good)
    np.testing.assert_array_equal(lat.valid, lat_valid)
    np.testing.assert_array_equal(lat.good, lat_good)
    assert 0 < a.good.sum() < a.valid.sum()


def test_trace_cost_counts_each_priced_trace_once(loaded: tuple[EventStore, list[Span]]) -> None:
    store, spans = loaded
    spec = CountSpec(
        valid=(SpanTest("root"), SpanTest("priced")), good=(SpanTest("trace_cost_le", value=0.01),)
    )
    (c,) = store.good_valid(_query(spec, bucket=HOUR))
    totals: dict[str, float | None] = {}
    for s in spans:
        prev = totals.get(s.trace_id, 0.0)
        unpriced = s.cost_usd is None and s.total_tokens is not None
        totals[s.trace_id] = None if prev is None or unpriced else prev + (s.cost_usd or 0.0)
    roots = [s for s in spans if s.parent_span_id is None and totals[s.trace_id] is not None]
    assert c.valid.sum() == len(roots) == 299  # the trace of span 7 has an unpriced call
    good = sum(1 for s in roots if (totals[s.trace_id] or 0) <= 0.01)
    assert c.good.sum() == good
    assert 0 < good < len(roots)


def test_time_slices_judge_each_slice_by_its_quantile(
    loaded: tuple[EventStore, list[Span]],
) -> None:
    store, spans = loaded
    sliced = CountSpec(
        valid=(), slice=TimeSlice(LATENCY, 0.95, 300.0, timedelta(minutes=10))
    )  # a second width in the same query as the 5-minute ratio
    ratio = CountSpec(valid=(), good=(SpanTest("ok"),))
    r, ts = store.good_valid(_query(ratio, sliced))
    assert ts.width == timedelta(minutes=10)
    assert len(ts.valid) == 30
    assert r.valid.sum() == 600
    for k in range(30):
        values = [_latency(s) for s in spans if _bucket(s, timedelta(minutes=10)) == k]
        assert ts.valid[k] == 1.0
        assert ts.good[k] == float(np.quantile(values, 0.95) <= 300.0)
    assert 0 < ts.good.sum() < 30


def test_quality_counts_annotated_spans_by_latest_score(
    loaded: tuple[EventStore, list[Span]],
) -> None:
    store, spans = loaded
    notes = []
    for i, s in enumerate(spans[:100]):
        for k, score in enumerate((0.2, 0.9 if i % 3 else 0.5)):  # the later one counts
            notes.append(
                Annotation(
                    id=f"a{i}-{k}", project=P, span_id=s.span_id, prediction_id=None,
                    name="correctness", annotator_kind="LLM",
                    created_at=T0 + timedelta(days=1, seconds=k), score=score,
                )
            )  # fmt: skip
    store.append_annotations(notes)
    field = parse_field("annotation.correctness.score")
    spec = CountSpec(valid=(SpanTest("present", field),), good=(SpanTest("ge", field, 0.8),))
    (c,) = store.good_valid(_query(spec, bucket=HOUR))
    assert c.valid.sum() == 100
    assert c.good.sum() == sum(1 for i in range(100) if i % 3)


def test_misaligned_ranges_are_refused_naming_the_field(event_store: EventStore) -> None:
    spec = CountSpec(valid=())
    with pytest.raises(InvalidInput) as err:
        event_store.good_valid(CountQuery(P, T0 + timedelta(seconds=30), T0 + HOUR, HOUR, (spec,)))
    assert err.value.errors[0].path == "start"
    with pytest.raises(InvalidInput):
        event_store.good_valid(CountQuery(P, T0, T0 + HOUR, timedelta(seconds=30), (spec,)))


@pytest.mark.parametrize(("op", "values"), [("!=", ("pro",)), ("not in", ("pro", "team"))])
def test_a_negated_metadata_condition_counts_spans_without_metadata_as_list_spans_does(
    event_store: EventStore, op: str, values: tuple[str, ...]
) -> None:
    """An SLO scoped to ``tier != pro`` counts a span that carries no metadata at all (it
    lacks the key), exactly as listing spans with the same condition finds it."""
    spans = [replace(s, metadata={} if i % 3 == 0 else s.metadata) for i, s in enumerate(_spans())]
    event_store.append_spans(spans)
    cond = Condition("metadata.tier", op, values)  # type: ignore[arg-type]
    spec = CountSpec(valid=(SpanTest("matches", conditions=(cond,)),), good=(SpanTest("ok"),))
    (counts,) = event_store.good_valid(_query(spec))
    want = [s for s in spans if s.metadata.get("tier") not in values]
    assert sum(not s.metadata for s in want) == 200  # planted: a third have no metadata
    assert counts.valid.sum() == len(want)
    assert counts.good.sum() == sum(s.status_code is not StatusCode.ERROR for s in want)
    listed = event_store.count_spans(SpanQuery(P, conditions=(cond,), limit=1))
    assert listed == len(want)
