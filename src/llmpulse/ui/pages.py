"""UI page handlers: projects, a project's traces (with filters), one trace's detail.

`mount_ui` also mounts the dashboard (`llmpulse.ui.dashboard`) and the segment, fairness and
version-comparison pages (`llmpulse.ui.analysis_pages`), before the catch-all 404 route.

Every page reads through a `TraceReader` (the app's `QueryService`, the same one REST uses).
Unknown projects, traces and pages render a friendly 404 page; unreadable filter input
renders the traces page with the error, with status 400. Static assets come from the package.
"""

# No `from __future__ import annotations`: FastAPI must see the closure-local `Reader` alias
# of the route handlers below as a real object, not as a string it cannot resolve.
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse, RedirectResponse, Response

from llmpulse.domain.errors import InvalidInput, NotFound
from llmpulse.domain.ids import ProjectName, TraceId
from llmpulse.domain.spans import Span
from llmpulse.governance.sessions import sees
from llmpulse.query.clip import clip_span
from llmpulse.query.service import Trace
from llmpulse.store.api import SpanQuery, TraceTotals
from llmpulse.ui import views
from llmpulse.ui.analysis_pages import build_analysis_router
from llmpulse.ui.annotate_page import annotation_context, build_annotate_router
from llmpulse.ui.apply_page import build_apply_router
from llmpulse.ui.dashboard import build_dashboard_router
from llmpulse.ui.explanations_page import build_explanations_router, why_panel
from llmpulse.ui.filters import (
    KIND_CHOICES,
    LIMIT_CHOICES,
    STATUS_CHOICES,
    FilterForm,
    replace_param,
)
from llmpulse.ui.highlight import search_suffix
from llmpulse.ui.live import FAVICON, FAVICON_CACHE, api_params, ranged_query, shown_range
from llmpulse.ui.login_page import build_login_router
from llmpulse.ui.monitor_page import build_monitor_router
from llmpulse.ui.monitors_page import build_monitors_router
from llmpulse.ui.page_support import error_lines
from llmpulse.ui.reader import ReaderGetter, TraceReader, app_query_service
from llmpulse.ui.receivers_page import build_receivers_router
from llmpulse.ui.sessions_page import build_sessions_router
from llmpulse.ui.settings_page import build_settings_router
from llmpulse.ui.silences_page import build_silences_router
from llmpulse.ui.slos_page import build_slos_router
from llmpulse.ui.sorting import (
    EXPORT_FORMATS,
    SEARCH_COUNT_CAP,
    SORT_CHOICES,
    export_url,
    sort_url,
)
from llmpulse.ui.templating import STATIC_PREFIX, Renderer, path_quote


def mount_ui(app: FastAPI, get_reader: ReaderGetter = app_query_service) -> None:
    """Add the UI pages and their static assets to ``app``.

    Args:
        app: the application to extend.
        get_reader: how a request finds the query service; by default
            ``request.app.state.services.query``.
    """
    app.mount(STATIC_PREFIX, StaticFiles(packages=[("llmpulse.ui", "static")]), name="ui-static")
    render = Renderer()
    app.include_router(build_dashboard_router(render))
    app.include_router(build_analysis_router(render))
    app.include_router(build_login_router(render))
    app.include_router(build_sessions_router(render))
    app.include_router(build_monitor_router(render))
    app.include_router(build_monitors_router(render))
    app.include_router(build_silences_router(render))
    app.include_router(build_receivers_router(render))
    app.include_router(build_apply_router(render))
    app.include_router(build_explanations_router(render))
    app.include_router(build_slos_router(render))
    app.include_router(build_settings_router(render))
    app.include_router(build_annotate_router(render))
    app.include_router(build_router(get_reader, render))


def build_router(get_reader: ReaderGetter, render: Renderer) -> APIRouter:
    """The UI's routes, bound to a reader getter and a renderer."""
    router = APIRouter(include_in_schema=False)

    async def reader(request: Request) -> TraceReader:  # async: no worker-thread hop
        return get_reader(request)

    Reader = Annotated[TraceReader, Depends(reader)]

    @router.get("/")
    @router.get("/ui")
    @router.get("/ui/")
    async def home() -> RedirectResponse:
        return RedirectResponse("/ui/projects", status_code=307)

    @router.get("/ui/projects", response_class=HTMLResponse)
    async def projects_page(request: Request, reader: Reader) -> Response:
        projects = [p for p in await reader.list_projects() if sees(request, p.name)]
        return render.page(request, "projects.html", {"title": "Projects", "projects": projects})

    @router.get("/ui/projects/{project}")
    async def project_home(project: str) -> RedirectResponse:
        return RedirectResponse(f"/ui/projects/{path_quote(project)}/traces", status_code=307)

    @router.get("/ui/projects/{project}/traces", response_class=HTMLResponse)
    async def traces_page(request: Request, project: str, reader: Reader) -> Response:
        try:
            await reader.require_project(ProjectName(project))
        except NotFound:
            return render.not_found(request, f"There is no project named “{project}”.")
        context = await _traces_context(request, ProjectName(project), reader)
        context.update(await annotation_context(request, project))
        status = 400 if context["errors"] else 200
        return render.page(request, "traces.html", context, status_code=status)

    @router.get("/ui/traces/{trace_id}", response_class=HTMLResponse)
    async def trace_page(
        request: Request,
        trace_id: str,
        reader: Reader,
        span: str | None = None,
        q: str | None = None,
    ) -> Response:
        try:
            trace = await reader.get_trace(TraceId(trace_id.strip().lower()))
            if not sees(request, trace.spans[0].project):
                raise NotFound("another project's trace")
        except NotFound:
            return render.not_found(request, f"No trace with id “{trace_id}” was found.")
        context = await _trace_context(trace, span, reader)
        context["why"] = await why_panel(request, trace, context["selected"])
        context.update(await annotation_context(request, trace.spans[0].project))
        context["needle"] = q or None  # the search that led here: its matches are marked
        context["search_suffix"] = search_suffix(q)
        return render.page(request, "trace.html", context)

    @router.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return Response(FAVICON, media_type="image/svg+xml", headers=FAVICON_CACHE)

    @router.get("/ui/{rest:path}", response_class=HTMLResponse)
    async def unknown_page(request: Request, rest: str) -> Response:
        return render.not_found(request, f"There is no page at /ui/{rest}.")

    return router


async def _traces_context(
    request: Request, project: ProjectName, reader: TraceReader
) -> dict[str, Any]:
    params = list(request.query_params.multi_items())
    form = FilterForm.from_params(params)
    errors: list[str] = []
    spans: list[Span] = []
    next_url = None
    total: int | None = None
    total_capped = False
    totals: dict[str, TraceTotals] = {}
    excerpts: list[str | None] | None = None
    query: SpanQuery | None = None
    try:
        query = await ranged_query(form.to_query(project), params, reader)
        # The table's columns only (ADR 0045); a search's rows carry where each span
        # matched (ADR 0051).
        page = await reader.list_spans(replace(query, fields="summary"))
    except InvalidInput as e:
        errors = error_lines(e)
    else:
        spans = page.items
        excerpts = page.excerpts
        if page.next_cursor:
            next_url = "?" + replace_param(params, "cursor", page.next_cursor)
        if query.text is None:
            total = await reader.count_spans(query)
        else:  # a search counts no further than the cap (ADR 0038)
            total = await reader.count_spans(query, SEARCH_COUNT_CAP + 1)
            total_capped = total > SEARCH_COUNT_CAP
            total = min(total, SEARCH_COUNT_CAP)
        if page.totals is not None:  # a trace-sorted page may carry them
            totals = page.totals
        else:
            totals = await reader.trace_totals([s.trace_id for s in spans if not s.parent_span_id])
    current = (query.sort, query.descending) if query else ("time", True)
    return {
        "window": shown_range(query.time) if query else None,
        "total": total,
        "total_capped": total_capped,
        "totals": totals,
        "sort": current,
        "sort_urls": {k: sort_url(params, k, current) for k in SORT_CHOICES},
        "export_urls": {
            f: export_url(path_quote(project), api_params(params, query), form.all_spans, f)
            for f in EXPORT_FORMATS
        },
        "title": f"{project} · traces",
        "search_suffix": search_suffix(form.text),
        "project": project,
        "form": form,
        "errors": errors,
        "spans": spans,
        "excerpts": excerpts,
        "bars": views.latency_bars(spans),
        "next_url": next_url,
        "first_url": ("?" + replace_param(params, "cursor", None)) if form.cursor else None,
        "toggle_url": "?"
        + replace_param(
            [(k, v) for k, v in params if k != "cursor"], "all", None if form.all_spans else "1"
        ),
        "kinds": KIND_CHOICES,
        "statuses": STATUS_CHOICES,
        "limits": LIMIT_CHOICES,
    }


async def _trace_context(
    trace: Trace, selected_id: str | None, reader: TraceReader
) -> dict[str, Any]:
    span_ids = [s.span_id for s in trace.spans]
    prediction_ids = [s.prediction_id for s in trace.spans if s.prediction_id]
    annotations = await reader.list_annotations(span_ids, prediction_ids)
    view = views.trace_view(trace, annotations)
    full = view.find(selected_id.lower() if selected_id else None)
    selected, clipped = clip_span(full)  # a 20 MB attribute must not make a 20 MB page
    return {
        "title": f"Trace {trace.trace_id}",
        "view": view,
        "selected": selected,
        "truncated": {(c.field, c.key): c.url(full.span_id) for c in clipped},
        "annotations": views.annotations_of(full, annotations),
        "attributes": views.attribute_rows(selected.attributes),
        "resource_attributes": views.attribute_rows(selected.resource_attributes),
    }
