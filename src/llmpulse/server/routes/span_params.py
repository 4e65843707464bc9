"""The query parameters of a traces-table view, shared by the span listing and its exports.

Filters (all optional, ANDed): ``start``/``end`` (ISO-8601; naive means UTC; an end before
the start is a 400), ``kind`` (repeatable), ``status`` (OK/ERROR/UNSET), ``model``
(repeatable), ``name`` (repeatable), ``attr`` (repeatable, ``key:value``), ``q`` (search: text
in inputs, outputs, messages, retrieved documents or exceptions, any case), ``trace_id``,
``root_only``, and inclusive bounds ``min_latency_ms``/``max_latency_ms``,
``min_tokens``/``max_tokens`` (total tokens) and ``min_cost``/``max_cost`` (USD). ``sort`` is
``time``, ``latency``, ``tokens`` or ``cost`` (per span), or ``trace_cost``, ``trace_tokens`` or
``trace_latency`` (one root row per trace, ordered by the whole trace's total cost, tokens or
first-start-to-last-end time), and ``order`` is ``desc`` (default) or ``asc``; spans without
tokens or cost sort as least.
"""

from __future__ import annotations

from typing import Literal

from fastapi import Request
from pydantic import Field

from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.ids import ProjectName, TraceId
from llmpulse.domain.spans import SpanKind, StatusCode
from llmpulse.query.filters import parse_attrs, parse_enum
from llmpulse.server.routes.params import SpanFilterParams, time_range
from llmpulse.store.api import SpanQuery, ValueRange

Sort = Literal["time", "latency", "tokens", "cost", "trace_cost", "trace_tokens", "trace_latency"]
Order = Literal["desc", "asc"]


class ViewParams(SpanFilterParams):
    """The query parameters of a traces-table view (see the module docstring)."""

    q: str | None = Field(
        None,
        max_length=1000,
        description="search: text in inputs, outputs, messages, retrieved documents or "
        "exceptions, any case",
    )
    trace_id: str | None = None
    sort: Sort = "time"
    order: Order = "desc"
    min_latency_ms: float | None = Field(None, ge=0)
    max_latency_ms: float | None = Field(None, ge=0)
    min_tokens: int | None = Field(None, ge=0)
    max_tokens: int | None = Field(None, ge=0)
    min_cost: float | None = Field(None, ge=0)
    max_cost: float | None = Field(None, ge=0)


def view_of(project: str, p: ViewParams) -> SpanQuery:
    """The `SpanQuery` of a traces-table view (no limit or cursor: callers add them).

    Raises:
        InvalidInput: a filter is not acceptable, the end is before the start, or a min
            bound exceeds its max.
    """
    ranges = tuple(
        _range(key, low, high, unit)
        for key, low, high, unit in (
            ("latency", p.min_latency_ms, p.max_latency_ms, "_ms"),
            ("tokens", p.min_tokens, p.max_tokens, ""),
            ("cost", p.min_cost, p.max_cost, ""),
        )
        if low is not None or high is not None
    )
    return SpanQuery(
        project=ProjectName(project),
        time=time_range(p.start, p.end),
        kinds=tuple(parse_enum(SpanKind, k, "kind") for k in p.kind),
        status=parse_enum(StatusCode, p.status, "status") if p.status else None,
        models=p.model,
        names=p.name,
        attributes=parse_attrs(p.attr),
        text=p.q or None,
        trace_id=TraceId(p.trace_id.lower()) if p.trace_id else None,
        root_only=p.root_only,
        sort=p.sort,
        descending=p.order == "desc",
        ranges=ranges,
    )


async def view_query(project: str, request: Request) -> SpanQuery:
    """`view_of` the request's `ViewParams`, as a dependency (routes add
    ``ViewParams.openapi()``). Async: FastAPI runs a plain ``def`` dependency on a worker
    thread, and the first such hop in a process cost ~20 ms (ADR 0041)."""
    return view_of(project, ViewParams.from_request(request))


def _range(key: str, low: float | None, high: float | None, unit: str) -> ValueRange:
    if low is not None and high is not None and low > high:
        raise InvalidInput(
            f"min_{key}{unit} exceeds max_{key}{unit}",
            [FieldError(f"min_{key}{unit}", f"{low} > max_{key}{unit} {high}")],
        )
    return ValueRange(key, low=low, high=high)
