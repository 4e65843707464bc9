"""The sessions and users pages (issue 12).

* ``GET /ui/projects/{project}/sessions?sort=&order=``: sessions with turns, first/last seen,
  tokens, cost, errors and feedback; each column header sorts (a second click reverses).
* ``GET /ui/projects/{project}/sessions/{session_id}``: the conversation turn by turn, each
  turn's input and output, with a link to the turn's trace.
* ``GET /ui/projects/{project}/users?sort=&order=``: users with their volume and totals.
* ``GET /ui/projects/{project}/users/{user_id}``: one user's totals and sessions.

They call the `QueryService` methods the REST routes call.
"""

# No `from __future__ import annotations`: FastAPI resolves the handlers' annotations.
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from llmpulse.domain.errors import InvalidInput, NotFound
from llmpulse.domain.ids import ProjectName
from llmpulse.store.api import TimeRange
from llmpulse.store.sessions_api import SessionQuery, SessionSort
from llmpulse.ui.page_support import error_lines, find_project, page_url
from llmpulse.ui.reader import app_metrics
from llmpulse.ui.templating import Renderer
from llmpulse.ui.timerange import range_values
from llmpulse.ui.windows import Window, resolve_window

PAGE_ROWS = 200
SESSION_COLUMNS = (
    ("turns", "Turns"), ("first_seen", "First seen"), ("last_seen", "Last seen"),
    ("tokens", "Tokens"), ("cost", "Cost"), ("errors", "Errors"), ("feedback", "Feedback"),
)  # fmt: skip
USER_COLUMNS = (
    ("last_seen", "Last seen"), ("tokens", "Tokens"), ("cost", "Cost"), ("errors", "Errors"),
    ("feedback", "Feedback"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SortLink:
    """A sortable column header: its label, link and the arrow shown when it is the sort."""

    key: str
    label: str
    href: str
    arrow: str


def sort_of(request: Request) -> tuple[SessionSort, bool]:
    """The ``sort`` and ``order`` query values (unknown ones fall back to last seen, desc)."""
    raw = request.query_params.get("sort", "last_seen")
    sort = SessionSort(raw) if raw in SessionSort._value2member_map_ else SessionSort.LAST_SEEN
    return sort, request.query_params.get("order", "desc") != "asc"


def sort_links(
    project: str,
    page: str,
    columns: tuple[tuple[str, str], ...],
    sort: SessionSort,
    desc: bool,
    keep: list[tuple[str, str]] | None = None,
) -> list[SortLink]:
    """Each column's header link: a click sorts by it descending, a second click ascending."""
    links = []
    for key, label in columns:
        on = key == sort.value
        order = "asc" if on and desc else "desc"
        arrow = ("▼" if desc else "▲") if on else ""
        links.append(
            SortLink(
                key,
                label,
                page_url(project, page, [*(keep or []), ("sort", key), ("order", order)]),
                arrow,
            )
        )
    return links


async def _context(request: Request, project: str, nav: str) -> dict[str, Any]:
    """The page context's common part, with the picker's time range as ``window``.

    Raises:
        NotFound: there is no such project.
        InvalidInput: an unreadable time range.
    """
    summary = await find_project(app_metrics(request), project)
    if summary is None:
        raise NotFound(f"There is no project named “{project}”.")
    window, start, end = range_values(request.query_params.multi_items())
    chosen = resolve_window(window, "auto", summary.first_seen, summary.last_seen, start, end)
    return {"title": f"{project} · {nav}", "project": project, "nav": nav, "window": chosen}


async def sessions_context(request: Request, project: str) -> dict[str, Any]:
    """The sessions list, sorted as the query asks."""
    ctx = await _context(request, project, "sessions")
    sort, desc = sort_of(request)
    q = SessionQuery(ProjectName(project), _time(ctx), None, sort, desc, PAGE_ROWS)
    ctx["rows"] = await app_metrics(request).sessions(q)
    ctx["columns"] = sort_links(
        project, "sessions", SESSION_COLUMNS, sort, desc, ctx["window"].page_params()
    )
    return ctx


async def session_context(request: Request, project: str, session_id: str) -> dict[str, Any]:
    """One session's turns and totals.

    Raises:
        NotFound: no such project, or no span carries the session id.
    """
    ctx = await _context(request, project, "sessions")
    turns = await app_metrics(request).session_turns(ProjectName(project), session_id)
    ctx.update(title=f"{project} · session {session_id}", session_id=session_id, turns=turns)
    costs = [t.cost_usd for t in turns if t.cost_usd is not None]
    ctx["total_tokens"] = sum(t.total_tokens for t in turns)
    ctx["total_cost"] = sum(costs) if costs else None
    ctx["total_errors"] = sum(t.errors for t in turns)
    return ctx


async def users_context(request: Request, project: str) -> dict[str, Any]:
    """The users list, sorted as the query asks (by last seen for session-only columns)."""
    ctx = await _context(request, project, "users")
    sort, desc = sort_of(request)
    if sort in (SessionSort.TURNS, SessionSort.FIRST_SEEN):
        sort = SessionSort.LAST_SEEN
    q = SessionQuery(ProjectName(project), _time(ctx), None, sort, desc, PAGE_ROWS)
    ctx["rows"] = await app_metrics(request).users(q)
    ctx["columns"] = sort_links(
        project, "users", USER_COLUMNS, sort, desc, ctx["window"].page_params()
    )
    return ctx


async def user_context(request: Request, project: str, user_id: str) -> dict[str, Any]:
    """One user's totals and sessions.

    Raises:
        NotFound: no such project, or no span carries the user id.
    """
    ctx = await _context(request, project, "users")
    sort, desc = sort_of(request)
    q = SessionQuery(ProjectName(project), _time(ctx), user_id, sort, desc, PAGE_ROWS)
    users = await app_metrics(request).users(q)
    if not users:
        raise NotFound(f"No span of {project} carries user “{user_id}”.")
    ctx.update(title=f"{project} · user {user_id}", user=users[0])
    ctx["rows"] = await app_metrics(request).sessions(q)
    return ctx


def _time(ctx: dict[str, Any]) -> TimeRange:
    """The store's range of the page's window (``all`` is unbounded)."""
    window: Window = ctx["window"]
    return window.time_range(bounded=False)


def build_sessions_router(render: Renderer) -> APIRouter:
    """The sessions and users pages, bound to a renderer."""
    router = APIRouter(include_in_schema=False)

    async def show(request: Request, name: str, build: Awaitable[dict[str, Any]]) -> Response:
        try:
            ctx = await build
        except NotFound as e:
            return render.not_found(request, e.detail)
        except InvalidInput as e:
            context = {"title": "Bad time range", "heading": "400 · Bad time range",
                       "detail": "; ".join(error_lines(e))}  # fmt: skip
            return render.page(request, "not_found.html", context, status_code=400)
        return render.page(request, name, ctx)

    @router.get("/ui/projects/{project}/sessions", response_class=HTMLResponse)
    async def sessions_page(request: Request, project: str) -> Response:
        return await show(request, "sessions.html", sessions_context(request, project))

    @router.get("/ui/projects/{project}/sessions/{session_id}", response_class=HTMLResponse)
    async def session_page(request: Request, project: str, session_id: str) -> Response:
        build = session_context(request, project, session_id)
        return await show(request, "session.html", build)

    @router.get("/ui/projects/{project}/users", response_class=HTMLResponse)
    async def users_page(request: Request, project: str) -> Response:
        return await show(request, "users.html", users_context(request, project))

    @router.get("/ui/projects/{project}/users/{user_id}", response_class=HTMLResponse)
    async def user_page(request: Request, project: str, user_id: str) -> Response:
        return await show(request, "user.html", user_context(request, project, user_id))

    return router
