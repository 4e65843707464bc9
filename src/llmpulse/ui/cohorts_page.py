"""The cohorts page: a project's saved cohorts, a form to save one, a button to delete one.

``GET /ui/projects/{project}/cohorts`` lists them (name, expression, parsed conditions,
description) with links to the segments page comparing each cohort with the rest of the
traffic (``key=cohort:<name>``) and to the what-changed page on the same key.
``POST /ui/projects/{project}/cohorts`` (form fields ``name``, ``expression``,
``description``) creates or replaces one and redirects back (303); an unreadable expression
or name re-shows the form with the parse error and status 400, saving nothing.
``POST /ui/projects/{project}/cohorts/{name}/delete`` deletes one and redirects back.
Calls the `CohortService` the REST routes call. Form bodies are read as
``application/x-www-form-urlencoded`` here, so no multipart parser is needed.
"""

# No `from __future__ import annotations`: FastAPI resolves the handlers' annotations.
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from llmpulse.domain.cohorts import Cohort, Condition
from llmpulse.domain.errors import InvalidInput, NotFound
from llmpulse.domain.ids import ProjectName
from llmpulse.ui.page_support import error_lines, find_project, page_url
from llmpulse.ui.reader import app_cohorts, app_metrics
from llmpulse.ui.templating import Renderer
from llmpulse.ui.timerange import time_picker

SEGMENT_METRIC = "error:rate"
MAX_FORM_BYTES = 16_384
EXAMPLE = "tier = 'enterprise' and region in ('eu-west', 'us-east')"


@dataclass(frozen=True, slots=True)
class CohortForm:
    """What the create form holds (re-shown as typed after an error)."""

    name: str = ""
    expression: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True)
class CohortRow:
    """One saved cohort, laid out for the table."""

    name: str
    expression: str
    description: str
    conditions: tuple[str, ...]
    segments_href: str
    changes_href: str


def condition_text(c: Condition) -> str:
    """``metadata.tier = enterprise``, ``region in (eu-west, us-east)``."""
    if c.op in ("in", "not in"):
        return f"{c.key} {c.op} ({', '.join(c.values)})"
    return f"{c.key} {c.op} {c.values[0] if c.values else ''}"


def cohort_row(project: str, c: Cohort, keep: Sequence[tuple[str, str]] = ()) -> CohortRow:
    """A cohort with its conditions spelled out and its analysis links (``keep``: the page's
    time range, carried to the analysis pages)."""
    key = ("key", f"cohort:{c.name}")
    return CohortRow(
        name=c.name, expression=c.expression, description=c.description,
        conditions=tuple(condition_text(x) for x in c.conditions),
        segments_href=page_url(project, "segments", [("metric", SEGMENT_METRIC), key, *keep]),
        changes_href=page_url(project, "changes", [("metric", SEGMENT_METRIC), key, *keep]),
    )  # fmt: skip


async def read_form(request: Request) -> CohortForm:
    """The posted fields (url-encoded body; unknown fields are ignored)."""
    body = (await request.body())[:MAX_FORM_BYTES].decode("utf-8", errors="replace")
    fields = dict(parse_qsl(body, keep_blank_values=True))
    return CohortForm(
        name=fields.get("name", "").strip(),
        expression=fields.get("expression", "").strip(),
        description=fields.get("description", "").strip(),
    )


def build_cohorts_router(render: Renderer) -> APIRouter:
    """The cohorts page and its two form actions, bound to a renderer."""
    router = APIRouter(include_in_schema=False)

    async def show(
        request: Request, project: str, form: CohortForm, errors: list[str], status: int
    ) -> Response:
        if await find_project(app_metrics(request), project) is None:
            return render.not_found(request, f"There is no project named “{project}”.")
        cohorts = await app_cohorts(request).list(ProjectName(project))
        keep = time_picker(request.query_params.multi_items()).params
        context: dict[str, Any] = {
            "title": f"{project} · cohorts", "project": project, "nav": "cohorts",
            "rows": [cohort_row(project, c, keep) for c in cohorts], "form": form,
            "errors": errors, "example": EXAMPLE,
        }  # fmt: skip
        return render.page(request, "cohorts.html", context, status_code=status)

    @router.get("/ui/projects/{project}/cohorts", response_class=HTMLResponse)
    async def cohorts_page(request: Request, project: str) -> Response:
        return await show(request, project, CohortForm(), [], 200)

    @router.post("/ui/projects/{project}/cohorts", response_class=HTMLResponse)
    async def save_cohort(request: Request, project: str) -> Response:
        form = await read_form(request)
        if await find_project(app_metrics(request), project) is None:
            return render.not_found(request, f"There is no project named “{project}”.")
        try:
            await app_cohorts(request).put(
                ProjectName(project), form.name, form.expression, form.description
            )
        except InvalidInput as e:
            return await show(request, project, form, error_lines(e), 400)
        return RedirectResponse(page_url(project, "cohorts"), status_code=303)

    @router.post("/ui/projects/{project}/cohorts/{name}/delete", response_class=HTMLResponse)
    async def delete_cohort(request: Request, project: str, name: str) -> Response:
        try:
            await app_cohorts(request).delete(ProjectName(project), name)
        except NotFound as e:
            return render.not_found(request, e.detail)
        return RedirectResponse(page_url(project, "cohorts"), status_code=303)

    return router
