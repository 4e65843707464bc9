"""Routes of the segment, what-changed, fairness, version-comparison and cohort pages.

Each page parses its form (`llmpulse.ui.analysis_forms`), resolves the window against the
project's data, and calls the `SegmentService` the REST routes call. Unreadable input renders
the page with the error and status 400; an unknown project renders the 404 page.
"""

# No `from __future__ import annotations`: FastAPI resolves the handlers' annotations.
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from llmpulse.domain.errors import InvalidInput
from llmpulse.query.service import ProjectSummary
from llmpulse.ui.analysis_forms import DIRECTIONS, AnalysisForm
from llmpulse.ui.changes_page import changes_context, changes_defaults
from llmpulse.ui.cohorts_page import build_cohorts_router
from llmpulse.ui.compare_page import (
    METRIC_CHOICES,
    compare_context,
    compare_defaults,
    key_values,
)
from llmpulse.ui.evals_page import build_evals_router
from llmpulse.ui.fairness_page import fairness_context, fairness_defaults
from llmpulse.ui.page_support import (
    KEY_SUGGESTIONS,
    METRIC_SUGGESTIONS,
    error_lines,
    find_project,
    page_url,
)
from llmpulse.ui.reader import app_metrics, app_segments
from llmpulse.ui.review_page import build_review_router
from llmpulse.ui.segments_pages import segment_defaults, segments_context
from llmpulse.ui.templating import Renderer
from llmpulse.ui.timerange import range_values
from llmpulse.ui.windows import WINDOW_LABELS, Window, resolve_window

Builder = Callable[[Request, ProjectSummary, AnalysisForm, Window], Awaitable[dict[str, Any]]]
Defaults = Callable[[AnalysisForm], AnalysisForm]


def build_analysis_router(render: Renderer) -> APIRouter:
    """The segments, changes, fairness, compare and cohorts routes, bound to a renderer."""
    router = APIRouter(include_in_schema=False)
    router.include_router(build_cohorts_router(render))
    router.include_router(build_evals_router(render))
    router.include_router(build_review_router(render))

    async def show(
        request: Request, project: str, page: str, defaults: Defaults, build: Builder
    ) -> Response:
        summary = await find_project(app_metrics(request), project)
        if summary is None:
            return render.not_found(request, f"There is no project named “{project}”.")
        form = defaults(AnalysisForm.from_params(request.query_params.multi_items()))
        context: dict[str, Any] = {
            "title": f"{project} · {page}", "project": project, "nav": page, "form": form,
            "windows": WINDOW_LABELS, "keys": KEY_SUGGESTIONS, "metrics": METRIC_SUGGESTIONS,
            "directions": DIRECTIONS, "errors": [], "report": None, "rows": [],
            "values": [], "metric_choices": METRIC_CHOICES,
        }  # fmt: skip
        status = 200
        try:
            _, start, end = range_values(request.query_params.multi_items())
            window = resolve_window(
                form.window, "auto", summary.first_seen, summary.last_seen, start, end
            )
            context["window"] = window
            context |= await build(request, summary, form, window)
        except InvalidInput as e:
            context |= {"errors": error_lines(e), "report": None, "rows": []}
            status = 400
        return render.page(request, f"{page}.html", context, status_code=status)

    async def segments(
        request: Request, summary: ProjectSummary, form: AnalysisForm, window: Window
    ) -> dict[str, Any]:
        query, service = app_metrics(request), app_segments(request)
        context = {"changes_url": _changes_url(summary.name, form, window)}
        return context | await segments_context(query, service, summary, form, window)

    async def fairness(
        request: Request, summary: ProjectSummary, form: AnalysisForm, window: Window
    ) -> dict[str, Any]:
        return await fairness_context(app_segments(request), summary, form, window)

    @router.get("/ui/projects/{project}/segments", response_class=HTMLResponse)
    async def segments_page(request: Request, project: str) -> Response:
        return await show(request, project, "segments", segment_defaults, segments)

    @router.get("/ui/projects/{project}/changes", response_class=HTMLResponse)
    async def changes_page(request: Request, project: str) -> Response:
        summary = await find_project(app_metrics(request), project)
        if summary is None:
            return render.not_found(request, f"There is no project named “{project}”.")
        params = request.query_params
        form, current = changes_defaults(
            AnalysisForm.from_params(params.multi_items()), params.get("current", "").strip()
        )
        context: dict[str, Any] = {
            "title": f"{project} · what changed", "project": project, "nav": "segments",
            "form": form, "current": current, "keys": KEY_SUGGESTIONS,
            "metrics": METRIC_SUGGESTIONS, "directions": DIRECTIONS, "errors": [],
            "report": None, "rows": [], "windows": None,
        }  # fmt: skip
        status = 200
        try:
            window, start, end = range_values(params.multi_items())
            chosen = resolve_window(window, "auto", summary.first_seen, summary.last_seen,
                                    start, end)  # fmt: skip
            context["window"] = chosen
            context |= await changes_context(app_segments(request), summary, form, current, chosen)
        except InvalidInput as e:
            context |= {"errors": error_lines(e), "report": None, "rows": []}
            status = 400
        return render.page(request, "changes.html", context, status_code=status)

    @router.get("/ui/projects/{project}/fairness", response_class=HTMLResponse)
    async def fairness_page(request: Request, project: str) -> Response:
        return await show(request, project, "fairness", fairness_defaults, fairness)

    @router.get("/ui/projects/{project}/compare", response_class=HTMLResponse)
    async def compare_page(request: Request, project: str) -> Response:
        return await show(request, project, "compare", _no_values, _compare)

    return router


def _changes_url(project: str, form: AnalysisForm, window: Window) -> str:
    params = [("metric", form.metric), *(("key", k) for k in form.keys), *window.page_params()]
    if form.root_only:
        params.append(("root_only", "1"))
    return page_url(project, "changes", params)


def _no_values(form: AnalysisForm) -> AnalysisForm:
    return compare_defaults(form, [])


async def _compare(
    request: Request, summary: ProjectSummary, form: AnalysisForm, window: Window
) -> dict[str, Any]:
    key = form.keys[0] if form.keys else "version"
    values = await key_values(app_metrics(request), summary, key, window, form.root_only)
    form = compare_defaults(form, values)
    context = await compare_context(app_segments(request), summary, form, window)
    return context | {"form": form, "values": values, "metric_choices": METRIC_CHOICES}
