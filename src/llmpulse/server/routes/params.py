"""Query-string parsing shared by the metric, segment and comparison routes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from llmpulse.domain.cohorts import Condition
from llmpulse.domain.durations import parse_duration
from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.metrics import MetricSpec, parse_metric
from llmpulse.domain.spans import SpanKind, StatusCode
from llmpulse.server.routes.spans import parse_attrs
from llmpulse.store.api import SpanFilter, TimeRange


def parse_bucket(text: str | None) -> timedelta | None:
    """The ``bucket`` parameter (``5m``, ``1h``, ``1d`` or seconds); None for no buckets."""
    return parse_duration(text, "bucket") if text else None


def parse_metrics(values: list[str]) -> tuple[MetricSpec, ...]:
    """Each ``metric`` query value as a `MetricSpec`."""
    if not values:
        raise InvalidInput("no metric given", [FieldError("metric", "e.g. latency_ms:p95")])
    return tuple(parse_metric(v, f"metric[{i}]") for i, v in enumerate(values))


def aware(t: datetime | None) -> datetime | None:
    """Naive times are taken as UTC."""
    return t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t


def time_range(start: datetime | None, end: datetime | None) -> TimeRange:
    """A `TimeRange`, refusing an end before the start."""
    s, e = aware(start), aware(end)
    if s is not None and e is not None and e < s:
        raise InvalidInput("end is before start", [FieldError("end", "must be after start")])
    return TimeRange(s, e)


def span_filter(
    kind: list[str], status: str | None, model: list[str], name: list[str], attr: list[str],
    root_only: bool, conditions: tuple[Condition, ...] = (),
) -> SpanFilter:  # fmt: skip
    """The shared span filters from query values."""
    try:
        kinds = tuple(SpanKind(k.upper()) for k in kind)
        st = StatusCode(status.upper()) if status else None
    except ValueError as exc:
        raise InvalidInput(str(exc), [FieldError("kind/status", str(exc))]) from None
    return SpanFilter(
        kinds=kinds,
        status=st,
        models=tuple(model),
        names=tuple(name),
        attributes=parse_attrs(attr),
        root_only=root_only,
        conditions=conditions,
    )
