"""SQL of the sessions and users views (`EventStore.sessions`, `.session_turns`, `.users`).

Every value is a bound parameter; the sort column comes from a fixed map, never from input.
Feedback counts annotations attached to a span (not those attached by prediction id only).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.ids import ProjectName, SpanId, TraceId
from llmpulse.store.events.codec import utc
from llmpulse.store.events.compiler import to_naive_utc
from llmpulse.store.sessions_api import (
    MAX_ROWS,
    Feedback,
    SessionQuery,
    SessionRow,
    SessionSort,
    Turn,
    UserRow,
)

Query = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]

_SORT = {
    SessionSort.LAST_SEEN: "last_seen",
    SessionSort.FIRST_SEEN: "first_seen",
    SessionSort.TURNS: "turns",
    SessionSort.TOKENS: "tokens",
    SessionSort.COST: "cost",
    SessionSort.ERRORS: "errors",
    SessionSort.FEEDBACK: "fb_n",
}

_TOTALS = (
    "count(DISTINCT s.trace_id) AS turns, count(*) AS spans, min(s.start_time) AS first_seen, "
    "max(s.end_time) AS last_seen, coalesce(sum(s.total_tokens), 0) AS tokens, "
    "fsum(s.cost_usd) AS cost, count(*) FILTER (WHERE s.status_code = 'ERROR') AS errors, "
    "coalesce(sum(a.n), 0) AS fb_n, fsum(a.total) / NULLIF(sum(a.scored), 0) AS fb_mean"
)
# Per span: how many annotation names it has, the sum of their scores and how many have one;
# of each name only the latest annotation counts (newest ``created_at``, then ``id``), as in
# the metrics (an edited or repeated judgement replaces the old one).
_FEEDBACK_JOIN = (
    "LEFT JOIN (SELECT span_id, count(*) AS n, sum(score) AS total, count(score) AS scored "
    "FROM (SELECT span_id, score, row_number() OVER (PARTITION BY span_id, name "
    "ORDER BY created_at DESC, id DESC) AS rn FROM annotations "
    "WHERE project = ? AND span_id IS NOT NULL) WHERE rn = 1 GROUP BY span_id) a "
    "ON a.span_id = s.span_id"
)


def _check(q: SessionQuery) -> None:
    if not 1 <= q.limit <= MAX_ROWS:
        raise InvalidInput("limit out of range", [FieldError("limit", f"1..{MAX_ROWS}")])


def _grouped(
    query: Query, q: SessionQuery, key: str, extra: str, of_user: str, user_params: list[Any]
) -> list[tuple[Any, ...]]:
    """Rows ``key, extra, _TOTALS`` of the spans of ``q`` with a ``key``, one per ``key``.

    ``of_user`` (with ``user_params``) restricts them to ``q.user_id`` when it is set.

    Raises:
        InvalidInput: the limit is out of range.
    """
    _check(q)
    params: list[Any] = [q.project, q.project]
    where = ["s.project = ?", f"{key} IS NOT NULL"]
    if q.time.start is not None:
        where.append("s.start_time >= ?")
        params.append(to_naive_utc(q.time.start))
    if q.time.end is not None:
        where.append("s.start_time < ?")
        params.append(to_naive_utc(q.time.end))
    if q.user_id is not None:
        where.append(of_user)
        params += user_params
    direction = "DESC" if q.descending else "ASC"
    sql = (
        f"SELECT {key}, {extra}, {_TOTALS} FROM spans s {_FEEDBACK_JOIN} "
        f"WHERE {' AND '.join(where)} GROUP BY {key} "
        f"ORDER BY {_SORT[q.sort]} {direction} NULLS LAST, {key} ASC LIMIT {int(q.limit)}"
    )
    return query(sql, params)


def _cost(v: Any) -> float | None:
    return None if v is None else float(v)


def list_sessions(query: Query, q: SessionQuery) -> list[SessionRow]:
    """The sessions of ``q.project`` with their totals, sorted (see `SessionQuery`).

    Raises:
        InvalidInput: the limit is out of range.
    """
    of_user = "s.session_id IN (SELECT session_id FROM spans WHERE project = ? AND user_id = ?)"
    rows = _grouped(
        query, q, "s.session_id", "min(s.user_id) AS user_id", of_user, [q.project, q.user_id]
    )
    return [
        SessionRow(
            session_id=r[0],
            user_id=r[1],
            turns=int(r[2]),
            spans=int(r[3]),
            first_seen=utc(r[4]),
            last_seen=utc(r[5]),
            total_tokens=int(r[6]),
            cost_usd=_cost(r[7]),
            errors=int(r[8]),
            feedback=Feedback(int(r[9]), _cost(r[10])),
        )
        for r in rows
    ]


def list_users(query: Query, q: SessionQuery) -> list[UserRow]:
    """The users of ``q.project`` with their volume and totals (only ``q.user_id``, if set).

    Raises:
        InvalidInput: the limit is out of range.
    """
    sessions = "count(DISTINCT s.session_id) AS sessions"
    rows = _grouped(query, q, "s.user_id", sessions, "s.user_id = ?", [q.user_id])
    return [
        UserRow(
            user_id=r[0],
            sessions=int(r[1]),
            traces=int(r[2]),
            spans=int(r[3]),
            first_seen=utc(r[4]),
            last_seen=utc(r[5]),
            total_tokens=int(r[6]),
            cost_usd=_cost(r[7]),
            errors=int(r[8]),
            feedback=Feedback(int(r[9]), _cost(r[10])),
        )
        for r in rows
    ]


def session_turns(query: Query, project: ProjectName, session_id: str) -> list[Turn]:
    """The turns of one session in the order they started (empty: no such session).

    A turn is a trace with a span of the session; it is shown by its root span (or, for a
    trace whose root has not arrived, its earliest span), with the trace's totals.
    """
    sql = (
        "WITH t AS (SELECT DISTINCT trace_id FROM spans WHERE project = ? AND session_id = ?), "
        "s AS (SELECT spans.* FROM spans JOIN t USING (trace_id) WHERE spans.project = ?), "
        "tot AS (SELECT trace_id, coalesce(sum(total_tokens), 0) AS tokens, "
        "fsum(cost_usd) AS cost, count(*) FILTER (WHERE status_code = 'ERROR') AS errors "
        "FROM s GROUP BY trace_id), "
        "head AS (SELECT *, row_number() OVER (PARTITION BY trace_id ORDER BY "
        "parent_span_id IS NOT NULL, start_time, span_id) AS rn FROM s) "
        "SELECT h.trace_id, h.span_id, h.name, h.start_time, h.latency_ms, h.status_code, "
        "h.input_value, h.output_value, tot.tokens, tot.cost, tot.errors "
        "FROM head h JOIN tot USING (trace_id) WHERE h.rn = 1 ORDER BY h.start_time, h.trace_id"
    )
    return [
        Turn(
            trace_id=TraceId(r[0]),
            span_id=SpanId(r[1]),
            name=r[2],
            start_time=utc(r[3]),
            latency_ms=float(r[4]),
            status_code=str(r[5]),
            input_value=r[6],
            output_value=r[7],
            total_tokens=int(r[8]),
            cost_usd=_cost(r[9]),
            errors=int(r[10]),
        )
        for r in query(sql, [project, session_id, project])
    ]
