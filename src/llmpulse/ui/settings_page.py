"""A project's settings page: annotation names and labels, retention, deleting the project.

``GET /ui/projects/{project}/settings`` shows the annotation config (one line per name,
``correctness: correct|incorrect``), the retention in days with the last retention run (when,
the cut-off, spans dropped) and the delete form. Each form posts to its own action and
redirects back (303); an unreadable value re-shows the page with the error and status 400.
Deleting needs the project's name typed again; it then redirects to the projects list.
The handlers call the same services as the REST routes.
"""

# No `from __future__ import annotations`: FastAPI resolves the handlers' annotations.
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from llmpulse.domain.errors import InvalidInput
from llmpulse.domain.ids import ProjectName
from llmpulse.governance.annotations import AnnotationDesk, parse_lines, to_lines
from llmpulse.governance.lifecycle import ProjectLifecycle
from llmpulse.ui.page_support import error_lines, find_project, page_url
from llmpulse.ui.reader import app_metrics
from llmpulse.ui.templating import Renderer

MAX_FORM_BYTES = 65_536


async def read_fields(request: Request) -> dict[str, str]:
    """The posted url-encoded fields (the last of repeated ones)."""
    body = (await request.body())[:MAX_FORM_BYTES].decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True))


def lifecycle_of(request: Request) -> ProjectLifecycle:
    """The running app's project lifecycle service."""
    service: ProjectLifecycle = request.app.state.services.lifecycle
    return service


def desk_of(request: Request) -> AnnotationDesk:
    """The running app's annotation service."""
    service: AnnotationDesk = request.app.state.services.annotations
    return service


def build_settings_router(render: Renderer) -> APIRouter:
    """The settings page and its form actions, bound to a renderer."""
    router = APIRouter(include_in_schema=False)

    async def show(
        request: Request, project: str, errors: dict[str, list[str]], typed: dict[str, str]
    ) -> Response:
        summary = await find_project(app_metrics(request), project)
        if summary is None:
            return render.not_found(request, f"There is no project named “{project}”.")
        name = ProjectName(project)
        retention = await lifecycle_of(request).retention(name)
        config = await desk_of(request).config(name)
        context: dict[str, Any] = {
            "title": f"{project} · settings", "project": project, "nav": "settings",
            "summary": summary, "retention": retention, "errors": errors,
            "config_text": typed.get("config", to_lines(config)),
            "days_text": typed.get("days", "" if retention.days is None else str(retention.days)),
        }  # fmt: skip
        return render.page(request, "settings.html", context, status_code=400 if errors else 200)

    @router.get("/ui/projects/{project}/settings", response_class=HTMLResponse)
    async def settings_page(request: Request, project: str) -> Response:
        return await show(request, project, {}, {})

    @router.post("/ui/projects/{project}/settings/annotations", response_class=HTMLResponse)
    async def save_config(request: Request, project: str) -> Response:
        fields = await read_fields(request)
        text = fields.get("config", "")
        try:
            await desk_of(request).set_config(ProjectName(project), parse_lines(text))
        except InvalidInput as e:
            return await show(request, project, {"config": error_lines(e)}, {"config": text})
        return RedirectResponse(page_url(project, "settings"), status_code=303)

    @router.post("/ui/projects/{project}/settings/retention", response_class=HTMLResponse)
    async def save_retention(request: Request, project: str) -> Response:
        fields = await read_fields(request)
        text = fields.get("days", "").strip()
        try:
            if text and not text.isdigit():
                raise InvalidInput("days must be a whole number", [])
            await lifecycle_of(request).set_retention(
                ProjectName(project), int(text) if text else None
            )
        except InvalidInput as e:
            return await show(request, project, {"days": error_lines(e)}, {"days": text})
        return RedirectResponse(page_url(project, "settings"), status_code=303)

    @router.post("/ui/projects/{project}/delete", response_class=HTMLResponse)
    async def delete_project(request: Request, project: str) -> Response:
        fields = await read_fields(request)
        if fields.get("confirm", "") != project:
            msg = f"type the project's name, {project}, to confirm"
            return await show(request, project, {"delete": [msg]}, {})
        await lifecycle_of(request).delete_project(ProjectName(project))
        return RedirectResponse("/ui/projects", status_code=303)

    return router
