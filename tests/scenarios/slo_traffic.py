"""Deterministic request traffic for SLO scenarios: root spans at a steady rate, with errors
planted at an exact ratio over chosen intervals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from llmpulse.domain.ids import ProjectName, SpanId, TraceId
from llmpulse.domain.spans import Span, SpanKind, StatusCode

ErrorEvery = Callable[[datetime], int]
"""For a span's start time: 0 for no errors, k for one error in every k spans."""


def traffic(
    project: str,
    start: datetime,
    end: datetime,
    per_minute: int,
    error_every: ErrorEvery,
    latency_ms: Callable[[datetime], float] = lambda _t: 200.0,
    version: str | None = None,
    offset: int = 0,
) -> list[Span]:
    """One root span every ``60/per_minute`` seconds over ``[start, end)``."""
    step = timedelta(minutes=1) / per_minute
    n = int((end - start) / step)
    out = []
    counters: dict[int, int] = {}
    for i in range(n):
        t = start + step * i
        k = error_every(t)
        counters[k] = counters.get(k, 0) + 1
        bad = k > 0 and counters[k] % k == 0
        j = i + offset
        out.append(
            Span(
                project=ProjectName(project),
                trace_id=TraceId(f"{j:032x}"),
                span_id=SpanId(f"{j:016x}"),
                parent_span_id=None,
                name="answer",
                kind=SpanKind.CHAIN,
                start_time=t,
                end_time=t + timedelta(milliseconds=latency_ms(t)),
                status_code=StatusCode.ERROR if bad else StatusCode.OK,
                version=version,
            )
        )
    return out
