"""Query-string parsing shared by the metric, segment and comparison routes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from llmpulse.domain.cohorts import Condition
from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.metrics import MetricSpec, parse_metric
from llmpulse.domain.spans import SpanKind, StatusCode
from llmpulse.server.routes.spans import parse_attrs
from llmpulse.store.api import SpanFilter, TimeRange

_DURATION = re.compile(r"^(\d+)\s*(s|m|h|d)?$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(text: str | None, field: str = "bucket") -> timedelta | None:
    """``30s``, ``5m``, ``1h``, ``1d`` or plain seconds."""
    if not text:
        return None
    m = _DURATION.match(text.strip().lower())
    if not m:
        raise InvalidInput(
            f"{field} {text!r} is not a duration", [FieldError(field, "e.g. 5m, 1h, 1d or 300")]
        )
    return timedelta(seconds=int(m.group(1)) * _UNIT_S[m.group(2)])


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
