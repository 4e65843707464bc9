"""The explanations page and the "Why this answer?" panel of the trace view (issue 13, item 6).

``GET /ui/projects/{project}/explanations`` shows the global importance of the project's
logged predictions (mean |SHAP|, per ``segment`` value when asked), the waterfall of one
``prediction``'s contributions with its reason codes, and the chunk attribution heat-map of one
``trace``'s answer (sentences x chunks). The trace view's panel shows the same "why" JSON the
end-user endpoint returns. Both read through the app's explainers, as the REST routes do.
"""

# No `from __future__ import annotations`: FastAPI resolves the handlers' annotations.
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from llmpulse.domain.errors import LlmpulseError
from llmpulse.domain.explanations import SubjectKind
from llmpulse.domain.ids import TraceId
from llmpulse.domain.spans import Span, SpanKind
from llmpulse.explain.rag_case import case_from_trace
from llmpulse.explain.why import RAG_METHODS, why_span
from llmpulse.explain.wiring import Explainers
from llmpulse.query.service import QueryService, Trace
from llmpulse.ui.explain_views import heatmap, importance_bars, short, waterfall
from llmpulse.ui.page_support import find_project
from llmpulse.ui.reader import app_metrics
from llmpulse.ui.templating import Renderer


def app_explainers(request: Request) -> Explainers | None:
    """The running app's explainers, or None (an app built without them)."""
    services = getattr(request.app.state, "services", None)
    return getattr(services, "explainers", None)


async def why_panel(request: Request, trace: Trace, selected: Span) -> dict[str, Any] | None:
    """The "why" of the selected span's answer when the trace retrieved documents."""
    explainers = app_explainers(request)
    has_docs = any(s.kind == SpanKind.RETRIEVER and s.documents for s in trace.spans)
    answers = selected.kind == SpanKind.LLM or selected.parent_span_id is None
    if explainers is None or not has_docs or not answers:
        return None
    try:
        return await why_span(explainers, app_metrics(request), selected.project, selected.span_id)
    except LlmpulseError:
        return None


async def _importance(ex: Explainers, project: str, segment: str) -> dict[str, Any]:
    try:
        out = await ex.structured.importance(project, segment=segment or None)
    except LlmpulseError as e:
        return {"error": e.detail}
    segments = {
        k: importance_bars(v["importance"], 8) for k, v in (out.get("segments") or {}).items()
    }
    return {"method": out["method"], "rows": out["rows"], "bars": importance_bars(out["overall"]),
            "segments": segments, "error": None}  # fmt: skip


async def _prediction(ex: Explainers, project: str, prediction_id: str) -> dict[str, Any]:
    try:
        exp, _ = await ex.structured.explain(project, prediction_id, record=False)
    except LlmpulseError as e:
        return {"error": e.detail}
    steps, base, final = waterfall(exp)
    try:
        cf, _ = await ex.structured.counterfactual(project, prediction_id, record=False)
    except LlmpulseError as e:
        cf = {"found": False, "error": e.detail}
    for change in cf.get("changes", []):
        change["from"], change["to"] = short(change["from"]), short(change["to"])
    return {"exp": exp, "steps": steps, "base": base, "final": final, "error": None, "cf": cf}


async def _records(ex: Explainers, project: str, external_id: str) -> dict[str, Any]:
    name, _, value = external_id.partition(":")
    found = await ex.records.search(
        project, external=(name.strip(), value.strip()) if external_id else None, limit=50
    )
    check = await ex.records.verify(project)
    return {"rows": found, "check": check}


async def _trace(
    ex: Explainers, query: QueryService, project: str, trace_id: str
) -> dict[str, Any]:
    try:
        trace = await query.get_trace(TraceId(trace_id.lower()))
        case = case_from_trace(trace.spans)
        record = await ex.records.latest(project, SubjectKind.SPAN, str(case.span_id), RAG_METHODS)
        if record is not None:
            exp = dict(record.body.get("outputs", {}))
            record_id: str | None = record.record_id
        else:
            exp, record_id = ex.rag.lexical(case.check()), None
    except LlmpulseError as e:
        return {"error": e.detail}
    return {"map": heatmap(exp), "method": exp.get("method"), "record_id": record_id,
            "answer": case.answer, "trace_id": trace.trace_id, "error": None}  # fmt: skip


def build_explanations_router(render: Renderer) -> APIRouter:
    """The explanations page."""
    router = APIRouter(include_in_schema=False)

    @router.get("/ui/projects/{project}/explanations", response_class=HTMLResponse)
    async def explanations_page(request: Request, project: str) -> Response:
        query = app_metrics(request)
        ex = app_explainers(request)
        if ex is None or await find_project(query, project) is None:
            return render.not_found(request, f"There is no project named “{project}”.")
        params = request.query_params
        segment = params.get("segment", "").strip()
        prediction = params.get("prediction", "").strip()
        trace = params.get("trace", "").strip()
        context: dict[str, Any] = {
            "title": f"{project} · explanations", "project": project, "nav": "explanations",
            "segment": segment, "prediction_id": prediction, "trace_id": trace,
            "importance": await _importance(ex, project, segment),
            "prediction": await _prediction(ex, project, prediction) if prediction else None,
            "trace": await _trace(ex, query, project, trace) if trace else None,
            "external_id": params.get("external_id", "").strip(),
            "records": await _records(ex, project, params.get("external_id", "").strip()),
        }  # fmt: skip
        return render.page(request, "explanations.html", context)

    return router
