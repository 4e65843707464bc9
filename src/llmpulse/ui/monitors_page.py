"""The monitors pages: a project's monitors, and a form to create or edit one (or paste YAML).

``GET /ui/projects/{project}/monitors`` lists name, metric, detector, every/window, severity,
enabled, and a State column filled from the scheduler when the server runs one; below the
stored monitors come the read-only ones the scheduler runs from ``LLMPULSE_MONITORS_FILE`` and
the demo's defaults, each marked with its source.
``GET|POST /ui/projects/{project}/new-monitor`` and ``.../monitors/{name}/edit`` show and save
the form: either its fields or a pasted ``kind: Monitor`` manifest; a refused monitor
re-shows the form with each error beside its field (status 400). ``POST
.../monitors/{name}/delete`` deletes one. All of it goes through the `ConfigService`, so each
change is audited as the signed-in key (``ui`` on an open server).
"""

# No `from __future__ import annotations`: FastAPI resolves the handlers' annotations.
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from llmpulse.analysis.detectors.registry import DEFAULT_DETECTOR, REGISTRY
from llmpulse.config.monitor_kind import resource_of
from llmpulse.config.resources import Resource
from llmpulse.domain.errors import Conflict, FieldError, InvalidInput, NotFound
from llmpulse.ui.alerts_reader import app_alerts
from llmpulse.ui.config_support import (
    app_config,
    field_errors,
    first,
    monitor_states,
    read_form,
    ui_actor,
)
from llmpulse.ui.page_support import METRIC_SUGGESTIONS, page_url
from llmpulse.ui.templating import Renderer

SEVERITIES = ("warning", "critical", "info")
_TEXT_FIELDS = ("metric", "every", "window", "for", "segment_by", "min_samples", "severity")


@dataclass(frozen=True, slots=True)
class MonitorRow:
    """One monitor, laid out for the table."""

    name: str
    metric: str
    detector: str
    every: str
    window: str
    severity: str
    enabled: bool
    segment_by: str
    state: str
    edit_href: str
    source: str = "stored"
    read_only: bool = False


@dataclass(slots=True)
class MonitorForm:
    """What the form holds (re-shown as typed after an error)."""

    name: str = ""
    values: dict[str, str] = field(default_factory=dict)
    detector: str = DEFAULT_DETECTOR
    enabled: bool = True
    manifest: str = ""
    editing: bool = False


def row_of(
    project: str, r: Resource, states: Mapping[str, str], source: str = "stored"
) -> MonitorRow:
    """A monitor as a table row (``source`` other than ``stored``: a read-only one)."""
    s = r.spec
    return MonitorRow(
        name=r.name, metric=s["metric"],
        detector=(s.get("detector") or {}).get("name", DEFAULT_DETECTOR),
        every=s.get("every", "1m"), window=s.get("window", "10m"),
        severity=s.get("severity", "warning"), enabled=bool(s.get("enabled", True)),
        segment_by=s.get("segment_by", ""),
        state=states.get(r.name, "ok"),
        edit_href=page_url(project, f"monitors/{r.name}/edit"),
        source=source, read_only=source != "stored",
    )  # fmt: skip


async def local_rows(request: Request, project: str, states: Mapping[str, str]) -> list[MonitorRow]:
    """Rows of the monitors the runtime runs from the monitors file and the demo (read-only)."""
    found = await app_alerts(request).local_monitors(project)
    return [row_of(project, resource_of(spec), states, source) for spec, source in found]


def form_of(r: Resource) -> MonitorForm:
    """The form prefilled with a stored monitor."""
    s = r.spec
    values = {k: str(s[k]) for k in _TEXT_FIELDS if k in s}
    detector = (s.get("detector") or {}).get("name", DEFAULT_DETECTOR)
    return MonitorForm(r.name, values, detector, bool(s.get("enabled", True)), editing=True)


def _document(project: str, form: MonitorForm) -> dict[str, Any]:
    """The manifest the form describes (the pasted YAML when given)."""
    if form.manifest:
        try:
            doc = yaml.safe_load(form.manifest)
        except yaml.YAMLError as exc:
            raise InvalidInput(f"not valid YAML: {exc}", []) from exc
        if not isinstance(doc, dict):
            raise InvalidInput("the manifest must be a YAML mapping", [])
        meta = doc.setdefault("metadata", {})
        if isinstance(meta, dict):
            meta.setdefault("project", project)
        return doc
    spec: dict[str, Any] = {k: v for k, v in form.values.items() if v}
    if "min_samples" in spec and spec["min_samples"].isdigit():
        spec["min_samples"] = int(spec["min_samples"])
    if form.detector and form.detector != DEFAULT_DETECTOR:
        spec["detector"] = {"name": form.detector}
    if not form.enabled:
        spec["enabled"] = False
    return {
        "apiVersion": "llmpulse/v1", "kind": "Monitor",
        "metadata": {"name": form.name, "project": project}, "spec": spec,
    }  # fmt: skip


async def _read(request: Request, name: str | None) -> MonitorForm:
    raw = await read_form(request)
    values = {k: first(raw, k) for k in _TEXT_FIELDS}
    return MonitorForm(
        name=name or first(raw, "name"), values=values, detector=first(raw, "detector"),
        enabled=first(raw, "enabled") == "on", manifest=first(raw, "manifest"),
        editing=name is not None,
    )  # fmt: skip


async def save_monitor(
    request: Request, project: str, name: str | None, form: MonitorForm
) -> InvalidInput | None:
    """Save the form's monitor (create when ``name`` is None); the refusal, if any."""
    try:
        doc = _document(project, form)
        meta = doc.setdefault("metadata", {})
        if name is not None and isinstance(meta, dict):
            if meta.get("name", name) != name:
                msg = f"is fixed when editing ({name})"
                return InvalidInput(msg, [FieldError("metadata.name", msg)])
            meta["name"] = name
        await app_config(request).put(doc, ui_actor(request), create_only=name is None)
    except InvalidInput as e:
        return e
    except Conflict as e:
        return InvalidInput(e.detail, [FieldError("metadata.name", e.detail)])
    return None


def build_monitors_router(render: Renderer) -> APIRouter:
    """The monitors list, the monitor form and the delete action, bound to a renderer."""
    router = APIRouter(include_in_schema=False)

    @router.get("/ui/projects/{project}/monitors", response_class=HTMLResponse)
    async def monitors_page(request: Request, project: str) -> Response:
        found = await app_config(request).objects("Monitor", project)
        states = monitor_states(request, project)
        context = {
            "title": f"{project} · monitors", "project": project, "nav": "monitors",
            "rows": [row_of(project, r, states) for r in found]
            + await local_rows(request, project, states),
            "new_href": page_url(project, "new-monitor"),
        }  # fmt: skip
        return render.page(request, "monitors.html", context)

    async def show(
        request: Request, project: str, form: MonitorForm, errors: dict[str, str], status: int
    ) -> Response:
        context = {
            "title": f"{project} · {'edit ' + form.name if form.editing else 'new monitor'}",
            "project": project, "nav": "monitors", "form": form, "errors": errors,
            "detectors": sorted(REGISTRY), "severities": SEVERITIES,
            "metrics": METRIC_SUGGESTIONS, "list_href": page_url(project, "monitors"),
        }  # fmt: skip
        return render.page(request, "monitor_form.html", context, status_code=status)

    async def save(request: Request, project: str, name: str | None) -> Response:
        form = await _read(request, name)
        problem = await save_monitor(request, project, name, form)
        if problem is not None:
            return await show(request, project, form, field_errors(problem), 400)
        return RedirectResponse(page_url(project, "monitors"), status_code=303)

    @router.get("/ui/projects/{project}/new-monitor", response_class=HTMLResponse)
    async def new_monitor(request: Request, project: str) -> Response:
        return await show(request, project, MonitorForm(), {}, 200)

    @router.post("/ui/projects/{project}/new-monitor", response_class=HTMLResponse)
    async def create_monitor(request: Request, project: str) -> Response:
        return await save(request, project, None)

    @router.get("/ui/projects/{project}/monitors/{name}/edit", response_class=HTMLResponse)
    async def edit_monitor(request: Request, project: str, name: str) -> Response:
        try:
            r = await app_config(request).get("Monitor", project, name)
        except NotFound as e:
            return render.not_found(request, e.detail)
        return await show(request, project, form_of(r), {}, 200)

    @router.post("/ui/projects/{project}/monitors/{name}/edit", response_class=HTMLResponse)
    async def update_monitor(request: Request, project: str, name: str) -> Response:
        return await save(request, project, name)

    @router.post("/ui/projects/{project}/monitors/{name}/delete", response_class=HTMLResponse)
    async def delete_monitor(request: Request, project: str, name: str) -> Response:
        try:
            await app_config(request).delete("Monitor", project, name, ui_actor(request))
        except NotFound as e:
            return render.not_found(request, e.detail)
        return RedirectResponse(page_url(project, "monitors"), status_code=303)

    return router
