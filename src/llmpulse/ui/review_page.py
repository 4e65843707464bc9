"""The review page: a project's review queue items with their verdict and "why", and a form
to claim or resolve each (issue 13, item 8).

``GET /ui/projects/{project}/review`` (``?queue=&status=``, default ``status=open``) lists the
items: the span (linked to its trace), the judge's verdict and reason, the "why this answer"
summary attached when the item was queued (top sources or top reasons, the record id).
``POST .../review/{id}/claim`` (field ``reviewer``) claims an item; ``POST .../review/{id}/
resolve`` (fields ``reviewer``, ``label``, ``note``) resolves it, which writes the human label as
a HUMAN annotation. A refused action (claimed by another, empty label) re-shows the page with
the reason, status 400 or 409. Calls the `ReviewQueues` the REST routes call.
"""

# No `from __future__ import annotations`: FastAPI resolves the handlers' annotations.
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from llmpulse.domain.errors import Conflict, InvalidInput, NotFound
from llmpulse.domain.ids import ProjectName
from llmpulse.evals.review import ReviewQueues
from llmpulse.ui.page_support import find_project, page_url
from llmpulse.ui.reader import app_metrics
from llmpulse.ui.templating import Renderer

MAX_FORM_BYTES = 65_536
STATUSES = ("open", "claimed", "resolved")


def app_review(request: Request) -> ReviewQueues:
    """The running app's review queues."""
    queues: ReviewQueues = request.app.state.services.evals.review
    return queues


async def _fields(request: Request) -> dict[str, str]:
    body = (await request.body())[:MAX_FORM_BYTES].decode("utf-8", errors="replace")
    return {k: v.strip() for k, v in parse_qsl(body, keep_blank_values=True)}


async def _show(
    render: Renderer, request: Request, project: str, errors: list[str], status: int
) -> Response:
    if await find_project(app_metrics(request), project) is None:
        return render.not_found(request, f"There is no project named “{project}”.")
    queue = request.query_params.get("queue") or None
    state = request.query_params.get("status", "open")
    wanted = state if state in STATUSES else None
    queues = app_review(request)
    every = await queues.list_items(ProjectName(project))
    items = [i for i in every if (queue is None or i.queue == queue)
             and (wanted is None or i.status == wanted)]  # fmt: skip
    context: dict[str, Any] = {
        "title": f"{project} · review", "project": project, "nav": "review",
        "items": items, "queues": sorted({i.queue for i in every}), "queue": queue or "",
        "status": wanted or "", "statuses": STATUSES, "errors": errors,
    }  # fmt: skip
    return render.page(request, "review.html", context, status_code=status)


def build_review_router(render: Renderer) -> APIRouter:
    """The review page and its claim/resolve actions, bound to a renderer."""
    router = APIRouter(include_in_schema=False)

    @router.get("/ui/projects/{project}/review", response_class=HTMLResponse)
    async def review_page(request: Request, project: str) -> Response:
        return await _show(render, request, project, [], 200)

    @router.post("/ui/projects/{project}/review/{item_id}/{action}", response_class=HTMLResponse)
    async def act(request: Request, project: str, item_id: str, action: str) -> Response:
        form = await _fields(request)
        queues = app_review(request)
        reviewer = form.get("reviewer", "")
        try:
            if not reviewer:
                raise InvalidInput("reviewer: enter your name")
            if action == "claim":
                await queues.claim(ProjectName(project), item_id, reviewer)
            elif action == "resolve":
                await queues.resolve(ProjectName(project), item_id, reviewer,
                                     form.get("label", ""), form.get("note") or None)  # fmt: skip
            else:
                raise NotFound(f"no review action {action!r}")
        except NotFound as e:
            return render.not_found(request, e.detail)
        except Conflict as e:
            return await _show(render, request, project, [e.detail], 409)
        except InvalidInput as e:
            return await _show(render, request, project, [e.detail], 400)
        return RedirectResponse(page_url(project, "review"), status_code=303)

    return router
