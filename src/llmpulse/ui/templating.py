"""The Jinja2 environment of the UI: package-loaded templates, autoescape always on."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Request
from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from llmpulse.ui import formats, highlight, views
from llmpulse.ui.timerange import time_picker

STATIC_PREFIX = "/ui/static"
RANGED_PREFIXES = ("/ui/projects",)  # pages that show the time-range picker


def path_quote(value: object) -> str:
    """Quote one path segment (a project name may hold spaces or slashes)."""
    return quote(str(value), safe="")


def build_environment() -> Environment:
    """An environment that loads templates from the installed package and escapes everything."""
    env = Environment(
        loader=PackageLoader("llmpulse.ui", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        ms=views.format_ms,
        when=views.format_time,
        cost=views.format_cost,
        preview=views.preview,
        pretty_json=views.pretty_json,
        value_text=views.value_text,
        pq=path_quote,
        hl=highlight.highlight,
        mval=lambda v, metric: formats.format_value(metric, v),
        mdiff=lambda v, metric: formats.format_diff(metric, v),
        pval=formats.format_p,
        num=formats.format_num,
        pct=lambda v: formats.format_value("share:rate", v),
    )
    env.globals["static"] = lambda name: f"{STATIC_PREFIX}/{name}"
    env.globals["first_match"] = highlight.first_match
    env.globals["excerpt_match"] = highlight.excerpt_match
    env.globals["needle"] = None  # the search text whose matches the span detail marks
    env.globals["search_suffix"] = ""
    env.globals.update(annotation_kinds=(), me="", annotation_error=None, annotated=None)
    env.globals["nothing_found"] = None  # why an analysis found nothing (its pages set it)
    return env


class Renderer:
    """Renders a page template into an HTML response."""

    def __init__(self) -> None:
        self._templates = Jinja2Templates(env=build_environment())

    def page(
        self, request: Request, name: str, context: dict[str, Any], status_code: int = 200
    ) -> HTMLResponse:
        """Render ``name`` with ``context`` (plus ``request``, the CSRF token and the session)."""
        state = request.scope.get("state") or {}
        principal = state.get("principal")
        ranged = request.url.path.startswith(RANGED_PREFIXES) and status_code != 404
        context = {
            "csrf_token": state.get("csrf_token", ""),
            "signed_in": principal is not None and principal.key_id != "open",
            "time_picker": time_picker(request.query_params.multi_items()) if ranged else None,
            **context,
        }
        response = self._templates.TemplateResponse(request, name, context, status_code=status_code)
        return response

    def not_found(self, request: Request, detail: str) -> HTMLResponse:
        """The friendly 404 page."""
        return self.page(
            request, "not_found.html", {"title": "Not found", "detail": detail}, status_code=404
        )
