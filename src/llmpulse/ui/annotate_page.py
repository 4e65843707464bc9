"""Annotating from the UI: on a span (or a trace, through its root span), and in bulk.

- ``POST /ui/spans/{span_id}/annotations`` (``name``, ``label``, ``score``, ``note``) adds one
  annotation as the signed-in key and goes back to the span;
- ``POST /ui/annotations/{annotation_id}/edit`` and ``…/delete`` change or delete one's own;
- ``POST /ui/projects/{project}/annotations/bulk`` annotates the ``span_id`` rows ticked in
  the traces table and goes back to the same view (``back``).

A refused form goes back with the reason in ``annotation_error``, which the page shows. The
handlers call the `AnnotationDesk` the REST routes call; the annotator is the request's key.
"""

# No `from __future__ import annotations`: FastAPI resolves the handlers' annotations.
from typing import Any
from urllib.parse import parse_qsl, quote

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from llmpulse.domain.errors import Forbidden, InvalidInput, NotFound
from llmpulse.domain.ids import ProjectName, SpanId
from llmpulse.governance.annotations import HumanInput
from llmpulse.governance.sessions import annotator, sees
from llmpulse.ui.page_support import error_lines, page_url
from llmpulse.ui.settings_page import MAX_FORM_BYTES, desk_of
from llmpulse.ui.templating import Renderer


async def _fields(request: Request) -> list[tuple[str, str]]:
    body = (await request.body())[:MAX_FORM_BYTES].decode("utf-8", errors="replace")
    return parse_qsl(body, keep_blank_values=True)


def _input(fields: dict[str, str]) -> HumanInput:
    """The annotation a form describes.

    Raises:
        InvalidInput: the score is not a number.
    """
    score_text = fields.get("score", "").strip()
    try:
        score = float(score_text) if score_text else None
    except ValueError:
        raise InvalidInput("score must be a number", []) from None
    return HumanInput(
        name=fields.get("name", "").strip(),
        label=fields.get("label", "").strip() or None,
        score=score,
        note=fields.get("note", "").strip() or None,
    )


def _span_url(trace_id: str, span_id: str, error: str | None = None) -> str:
    extra = f"&annotation_error={quote(error, safe='')}" if error else ""
    return f"/ui/traces/{trace_id}?span={span_id}{extra}#annotations"


def _reason(e: InvalidInput | Forbidden | NotFound) -> str:
    return "; ".join(error_lines(e)) if isinstance(e, InvalidInput) else e.detail


async def annotation_context(request: Request, project: str) -> dict[str, Any]:
    """What the annotation forms of a page need: the project's names and labels, who is
    annotating, and the reason a form just came back with."""
    services = getattr(request.app.state, "services", None)
    kinds = await services.annotations.config(ProjectName(project)) if services else ()
    return {
        "annotation_kinds": kinds,
        "me": annotator(request),
        "annotation_error": request.query_params.get("annotation_error"),
        "annotated": request.query_params.get("annotated"),
    }


async def _change(
    render: Renderer, request: Request, annotation_id: str, *, delete: bool
) -> Response:
    fields = dict(await _fields(request))
    desk = desk_of(request)
    found = await desk.find(annotation_id)
    if found is None or not sees(request, found.project) or found.span_id is None:
        return render.not_found(request, f"No annotation “{annotation_id}” was found.")
    span = await request.app.state.services.query.get_span(found.span_id)
    try:
        if delete:
            await desk.delete(annotation_id, annotator(request))
        else:
            await desk.edit(annotation_id, _input(fields), annotator(request))
    except (InvalidInput, Forbidden, NotFound) as e:
        return RedirectResponse(_span_url(span.trace_id, span.span_id, _reason(e)), 303)
    return RedirectResponse(_span_url(span.trace_id, span.span_id), status_code=303)


async def _bulk(request: Request, project: str) -> Response:
    pairs = await _fields(request)
    fields = dict(pairs)
    back = fields.get("back", "")
    if not back.startswith(page_url(project, "traces")):
        back = page_url(project, "traces")  # only ever back to this project's table
    span_ids = [SpanId(v.lower()) for k, v in pairs if k == "span_id"]
    sep = "&" if "?" in back else "?"
    try:
        if not span_ids:
            raise InvalidInput("tick at least one row to annotate", [])
        made = await desk_of(request).add(
            ProjectName(project), span_ids, _input(fields), annotator(request)
        )
    except (InvalidInput, NotFound) as e:
        return RedirectResponse(
            f"{back}{sep}annotation_error={quote(_reason(e), safe='')}", status_code=303
        )
    return RedirectResponse(f"{back}{sep}annotated={len(made)}", status_code=303)


def build_annotate_router(render: Renderer) -> APIRouter:
    """The annotation form actions, bound to a renderer (for the 404 page)."""
    router = APIRouter(include_in_schema=False)

    @router.post("/ui/spans/{span_id}/annotations", response_class=HTMLResponse)
    async def annotate_span(request: Request, span_id: str) -> Response:
        fields = dict(await _fields(request))
        try:
            span = await request.app.state.services.query.get_span(SpanId(span_id.lower()))
        except NotFound:
            span = None
        if span is None or not sees(request, span.project):
            return render.not_found(request, f"No span with id “{span_id}” was found.")
        try:
            await desk_of(request).add(
                span.project, [span.span_id], _input(fields), annotator(request)
            )
        except (InvalidInput, NotFound) as e:
            return RedirectResponse(_span_url(span.trace_id, span.span_id, _reason(e)), 303)
        return RedirectResponse(_span_url(span.trace_id, span.span_id), status_code=303)

    @router.post("/ui/annotations/{annotation_id}/edit", response_class=HTMLResponse)
    async def edit_annotation(request: Request, annotation_id: str) -> Response:
        return await _change(render, request, annotation_id, delete=False)

    @router.post("/ui/annotations/{annotation_id}/delete", response_class=HTMLResponse)
    async def delete_annotation(request: Request, annotation_id: str) -> Response:
        return await _change(render, request, annotation_id, delete=True)

    @router.post("/ui/projects/{project}/annotations/bulk", response_class=HTMLResponse)
    async def bulk_annotate(request: Request, project: str) -> Response:
        return await _bulk(request, project)

    return router
