"""Queries and rows of the sessions and users views (see `EventStore.sessions`).

A session is the set of traces whose spans carry one ``session.id``; a turn is one of its
traces, shown by its root span (input, output, start). A user is the set of spans carrying
one ``user.id``. Feedback is the annotations on the spans of the session (or user).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from llmpulse.domain.ids import ProjectName, SpanId, TraceId
from llmpulse.store.api import TimeRange

MAX_ROWS = 1000


class SessionSort(StrEnum):
    """Columns a sessions or users list sorts by."""

    LAST_SEEN = "last_seen"
    FIRST_SEEN = "first_seen"
    TURNS = "turns"
    TOKENS = "tokens"
    COST = "cost"
    ERRORS = "errors"
    FEEDBACK = "feedback"


@dataclass(frozen=True, slots=True)
class SessionQuery:
    """Sessions (or users) of a project, optionally of one user, sorted and limited."""

    project: ProjectName
    time: TimeRange = field(default_factory=TimeRange)
    user_id: str | None = None  # sessions with a span of this user; users: only this one
    sort: SessionSort = SessionSort.LAST_SEEN
    descending: bool = True
    limit: int = 100


@dataclass(frozen=True, slots=True)
class Feedback:
    """The annotations on a set of spans: how many, and the mean of their scores."""

    count: int
    mean_score: float | None


@dataclass(frozen=True, slots=True)
class SessionRow:
    """One session: its turns (traces), when it ran, and its totals."""

    session_id: str
    user_id: str | None
    turns: int
    spans: int
    first_seen: datetime
    last_seen: datetime
    total_tokens: int
    cost_usd: float | None  # None: no span of the session has a cost
    errors: int  # spans with status ERROR
    feedback: Feedback


@dataclass(frozen=True, slots=True)
class UserRow:
    """One user: their volume (sessions, traces, spans), totals and feedback."""

    user_id: str
    sessions: int
    traces: int
    spans: int
    first_seen: datetime
    last_seen: datetime
    total_tokens: int
    cost_usd: float | None
    errors: int
    feedback: Feedback


@dataclass(frozen=True, slots=True)
class Turn:
    """One turn of a session: a trace, shown by its root span (or its first span)."""

    trace_id: TraceId
    span_id: SpanId
    name: str
    start_time: datetime
    latency_ms: float
    status_code: str
    input_value: str | None
    output_value: str | None
    total_tokens: int
    cost_usd: float | None
    errors: int
