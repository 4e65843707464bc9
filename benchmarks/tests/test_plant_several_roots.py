"""`plant_several_roots.py`: a second root of each picked trace."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import plant_several_roots
from llmpulse.domain.ids import ProjectName, SpanId, TraceId
from llmpulse.domain.spans import Span, SpanKind

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_each_root_gains_a_second_root_of_its_trace_with_a_new_id_two_seconds_later() -> None:
    roots = [
        Span(
            project=ProjectName("p"),
            trace_id=TraceId(f"{t:032x}"),
            span_id=SpanId(f"{t:016x}"),
            parent_span_id=None,
            name="root",
            kind=SpanKind.CHAIN,
            start_time=T0 + timedelta(minutes=t),
            end_time=T0 + timedelta(minutes=t, seconds=1),
        )
        for t in (1, 2)
    ]
    second = plant_several_roots.second_roots(roots, random.Random(1))
    assert [s.trace_id for s in second] == [r.trace_id for r in roots]
    assert all(s.parent_span_id is None for s in second)
    assert {s.span_id for s in second}.isdisjoint(r.span_id for r in roots)
    assert len({s.span_id for s in second}) == 2
    assert [s.start_time - r.start_time for s, r in zip(second, roots, strict=True)] == [
        timedelta(seconds=2)
    ] * 2
    assert second[0].end_time == roots[0].end_time + timedelta(seconds=2)
