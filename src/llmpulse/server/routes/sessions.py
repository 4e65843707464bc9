"""Sessions and users views (issue 12).

* ``GET /api/v1/projects/{project}/sessions?sort=&order=&user_id=&start=&end=&limit=``: sessions
  (spans sharing a ``session.id``) with turns, first/last seen, tokens, cost, errors, feedback.
* ``GET /api/v1/projects/{project}/sessions/{session_id}``: the session's turns in order, each
  with its input, output and trace id.
* ``GET /api/v1/projects/{project}/users?sort=&order=&start=&end=&limit=``: users (spans sharing
  a ``user.id``) with sessions, traces, spans, tokens, cost, errors, feedback.
* ``GET /api/v1/projects/{project}/users/{user_id}``: the user's totals and sessions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from llmpulse.domain.errors import NotFound
from llmpulse.domain.ids import ProjectName
from llmpulse.server.deps import get_services
from llmpulse.server.routes.params import time_range
from llmpulse.server.services import Services
from llmpulse.store.sessions_api import MAX_ROWS, SessionQuery, SessionSort

router = APIRouter(prefix="/api/v1", tags=["sessions"])
SortParam = Literal["last_seen", "first_seen", "turns", "tokens", "cost", "errors", "feedback"]
OrderParam = Literal["desc", "asc"]
LimitParam = Annotated[int, Query(ge=1, le=MAX_ROWS)]


class FeedbackOut(BaseModel):
    """Annotations on the spans: how many, and the mean of their scores."""

    count: int
    mean_score: float | None


class SessionOut(BaseModel):
    """One session and its totals."""

    session_id: str
    user_id: str | None
    turns: int
    spans: int
    first_seen: datetime
    last_seen: datetime
    total_tokens: int
    cost_usd: float | None
    errors: int
    feedback: FeedbackOut


class SessionList(BaseModel):
    """Sessions, sorted as asked."""

    data: list[SessionOut]


class TurnOut(BaseModel):
    """One turn: a trace, shown by its root span."""

    trace_id: str
    span_id: str
    name: str
    start_time: datetime
    latency_ms: float
    status_code: str
    input_value: str | None
    output_value: str | None
    total_tokens: int
    cost_usd: float | None
    errors: int


class SessionDetail(BaseModel):
    """A session's turns in the order they started."""

    session_id: str
    turns: list[TurnOut]


class UserOut(BaseModel):
    """One user and their totals."""

    user_id: str
    sessions: int
    traces: int
    spans: int
    first_seen: datetime
    last_seen: datetime
    total_tokens: int
    cost_usd: float | None
    errors: int
    feedback: FeedbackOut


class UserList(BaseModel):
    """Users, sorted as asked."""

    data: list[UserOut]


class UserDetail(BaseModel):
    """One user's totals and sessions."""

    user: UserOut
    sessions: list[SessionOut]


async def _query(
    project: str,
    services: Services,
    start: datetime | None,
    end: datetime | None,
    sort: SortParam,
    order: OrderParam,
    limit: int,
    user_id: str | None = None,
) -> SessionQuery:
    p = ProjectName(project)
    await services.query.require_project(p)
    return SessionQuery(
        p, time_range(start, end), user_id, SessionSort(sort), order == "desc", limit
    )


@router.get("/projects/{project}/sessions", response_model=SessionList)
async def list_sessions(
    project: str, services: Annotated[Services, Depends(get_services)],
    start: datetime | None = None, end: datetime | None = None, user_id: str | None = None,
    sort: SortParam = "last_seen", order: OrderParam = "desc", limit: LimitParam = 100,
) -> SessionList:  # fmt: skip
    """List a project's sessions with their totals, sorted (``order``: desc or asc)."""
    q = await _query(project, services, start, end, sort, order, limit, user_id)
    rows = await services.query.sessions(q)
    return SessionList(data=[SessionOut.model_validate(r, from_attributes=True) for r in rows])


@router.get("/projects/{project}/sessions/{session_id}", response_model=SessionDetail)
async def get_session(
    project: str, session_id: str, services: Annotated[Services, Depends(get_services)]
) -> SessionDetail:
    """One session's conversation, turn by turn (404: no span carries the session id)."""
    p = ProjectName(project)
    await services.query.require_project(p)
    turns = await services.query.session_turns(p, session_id)
    return SessionDetail(
        session_id=session_id,
        turns=[TurnOut.model_validate(t, from_attributes=True) for t in turns],
    )


@router.get("/projects/{project}/users", response_model=UserList)
async def list_users(
    project: str, services: Annotated[Services, Depends(get_services)],
    start: datetime | None = None, end: datetime | None = None,
    sort: SortParam = "last_seen", order: OrderParam = "desc", limit: LimitParam = 100,
) -> UserList:  # fmt: skip
    """List a project's users with their volume and totals, sorted."""
    q = await _query(project, services, start, end, sort, order, limit)
    rows = await services.query.users(q)
    return UserList(data=[UserOut.model_validate(r, from_attributes=True) for r in rows])


@router.get("/projects/{project}/users/{user_id}", response_model=UserDetail)
async def get_user(
    project: str, user_id: str, services: Annotated[Services, Depends(get_services)],
    start: datetime | None = None, end: datetime | None = None,
    sort: SortParam = "last_seen", order: OrderParam = "desc", limit: LimitParam = 100,
) -> UserDetail:  # fmt: skip
    """One user's totals and their sessions (404: no span carries the user id)."""
    q = await _query(project, services, start, end, sort, order, limit, user_id)
    users = await services.query.users(q)
    if not users:
        raise NotFound(f"user {user_id!r} not found")
    sessions = await services.query.sessions(q)
    return UserDetail(
        user=UserOut.model_validate(users[0], from_attributes=True),
        sessions=[SessionOut.model_validate(s, from_attributes=True) for s in sessions],
    )
