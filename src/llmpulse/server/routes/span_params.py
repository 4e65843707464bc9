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

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Query

from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.ids import ProjectName, TraceId
from llmpulse.domain.spans import SpanKind, StatusCode
from llmpulse.query.filters import parse_attrs, parse_enum
from llmpulse.server.routes.params import time_range
from llmpulse.store.api import SpanQuery, ValueRange

Sort = Literal["time", "latency", "tokens", "cost", "trace_cost", "trace_tokens", "trace_latency"]
Order = Literal["desc", "asc"]


async def view_query(
    project: str,
    start: datetime | None = None,
    end: datetime | None = None,
    kind: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI query list default
    status: str | None = None,
    model: Annotated[list[str], Query()] = [],  # noqa: B006
    name: Annotated[list[str], Query()] = [],  # noqa: B006
    attr: Annotated[list[str], Query()] = [],  # noqa: B006
    q: Annotated[
        str | None,
        Query(
            max_length=1000,
            description="search: text in inputs, outputs, messages, retrieved documents or "
            "exceptions, any case",
        ),
    ] = None,
    trace_id: str | None = None,
    root_only: bool = False,
    sort: Sort = "time",
    order: Order = "desc",
    min_latency_ms: Annotated[float | None, Query(ge=0)] = None,
    max_latency_ms: Annotated[float | None, Query(ge=0)] = None,
    min_tokens: Annotated[int | None, Query(ge=0)] = None,
    max_tokens: Annotated[int | None, Query(ge=0)] = None,
    min_cost: Annotated[float | None, Query(ge=0)] = None,
    max_cost: Annotated[float | None, Query(ge=0)] = None,
) -> SpanQuery:
    """The `SpanQuery` of a traces-table view (no limit or cursor: callers add them).

    Async although it never awaits: FastAPI runs a plain ``def`` dependency on a worker
    thread, and the first such hop in a process cost ~20 ms (the first span listing after a
    bulk load or a restart; ADR 0041).

    Raises:
        InvalidInput: a filter is not acceptable, the end is before the start, or a min
            bound exceeds its max.
    """
    ranges = tuple(
        _range(key, low, high, unit)
        for key, low, high, unit in (
            ("latency", min_latency_ms, max_latency_ms, "_ms"),
            ("tokens", min_tokens, max_tokens, ""),
            ("cost", min_cost, max_cost, ""),
        )
        if low is not None or high is not None
    )
    return SpanQuery(
        project=ProjectName(project),
        time=time_range(start, end),
        kinds=tuple(parse_enum(SpanKind, k, "kind") for k in kind),
        status=parse_enum(StatusCode, status, "status") if status else None,
        models=tuple(model),
        names=tuple(name),
        attributes=parse_attrs(attr),
        text=q or None,
        trace_id=TraceId(trace_id.lower()) if trace_id else None,
        root_only=root_only,
        sort=sort,
        descending=order == "desc",
        ranges=ranges,
    )


def _range(key: str, low: float | None, high: float | None, unit: str) -> ValueRange:
    if low is not None and high is not None and low > high:
        raise InvalidInput(
            f"min_{key}{unit} exceeds max_{key}{unit}",
            [FieldError(f"min_{key}{unit}", f"{low} > max_{key}{unit} {high}")],
        )
    return ValueRange(key, low=low, high=high)
