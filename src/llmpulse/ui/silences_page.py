"""The silences page: a project's silences (active, pending, expired), a form to add one and a
button to expire one.

``GET /ui/projects/{project}/silences`` (``?state=`` filters), ``POST`` (fields ``matchers``
one per line, ``duration`` or ``ends_at``, ``comment``) creates a silence starting now, and
``POST .../silences/{name}/expire`` ends one. Field errors re-show the form (status 400).
"""

# No `from __future__ import annotations`: FastAPI resolves the handlers' annotations.
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from llmpulse.alerts.silences import SilenceState
from llmpulse.config.silence_service import create_silence, expire_silence, list_silences
from llmpulse.domain.errors import Conflict, InvalidInput, NotFound
from llmpulse.ui.config_support import app_config, field_errors, first, read_form, ui_actor
from llmpulse.ui.page_support import page_url
from llmpulse.ui.templating import Renderer

STATES = ("all", "active", "pending", "expired")


def build_silences_router(render: Renderer) -> APIRouter:
    """The silences page and its two actions, bound to a renderer."""
    router = APIRouter(include_in_schema=False)

    async def show(
        request: Request, project: str, form: dict[str, str], errors: dict[str, str], status: int
    ) -> Response:
        state = request.query_params.get("state", "all")
        want = SilenceState(state) if state in STATES[1:] else None
        views = await list_silences(app_config(request), project, want)
        context: dict[str, Any] = {
            "title": f"{project} · silences", "project": project, "nav": "silences",
            "views": views, "form": form, "errors": errors, "states": STATES,
            "state": state if want else "all",
        }  # fmt: skip
        return render.page(request, "silences.html", context, status_code=status)

    @router.get("/ui/projects/{project}/silences", response_class=HTMLResponse)
    async def silences_page(request: Request, project: str) -> Response:
        return await show(request, project, {"duration": "2h"}, {}, 200)

    @router.post("/ui/projects/{project}/silences", response_class=HTMLResponse)
    async def add_silence(request: Request, project: str) -> Response:
        raw = await read_form(request)
        form = {k: first(raw, k) for k in ("matchers", "duration", "ends_at", "comment")}
        spec: dict[str, Any] = {
            "matchers": [m.strip() for m in form["matchers"].splitlines() if m.strip()],
            "comment": form["comment"],
        }
        if form["ends_at"]:
            spec["ends_at"] = form["ends_at"]
        else:
            spec["duration"] = form["duration"]
        try:
            await create_silence(app_config(request), project, spec, ui_actor(request))
        except InvalidInput as e:
            return await show(request, project, form, field_errors(e), 400)
        return RedirectResponse(page_url(project, "silences"), status_code=303)

    @router.post("/ui/projects/{project}/silences/{name}/expire", response_class=HTMLResponse)
    async def expire(request: Request, project: str, name: str) -> Response:
        try:
            await expire_silence(app_config(request), project, name, ui_actor(request))
        except NotFound as e:
            return render.not_found(request, e.detail)
        except Conflict as e:
            return await show(request, project, {"duration": "2h"}, {"": e.detail}, 409)
        return RedirectResponse(page_url(project, "silences"), status_code=303)

    return router
