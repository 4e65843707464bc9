"""The receivers page (with "send test notification") and the audit log page.

``GET /ui/receivers`` lists every receiver (type and settings, secrets only as environment
references); ``POST /ui/receivers/{name}/test`` sends a test notification through the real
notifier and shows what the service answered. ``GET /ui/audit`` (``?kind=&project=``) lists
configuration changes, newest first: when, who, what, and the spec before and after.
"""

# No `from __future__ import annotations`: FastAPI resolves the handlers' annotations.
import json
from dataclasses import dataclass
from typing import Any

import yaml
from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from llmpulse.domain.errors import InvalidInput, NotFound
from llmpulse.store.config_api import AuditEntry, AuditQuery
from llmpulse.ui.config_support import app_config
from llmpulse.ui.templating import Renderer

KINDS = ("", "Monitor", "AlertRoute", "Receiver", "Silence")
AUDIT_PAGE = 200


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a test notification came to."""

    receiver: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One audit entry with its specs as YAML text."""

    entry: AuditEntry
    before: str
    after: str


def _yaml(text: str | None) -> str:
    if text is None:
        return ""
    return yaml.safe_dump(json.loads(text), sort_keys=False, default_flow_style=False).strip()


def build_receivers_router(render: Renderer) -> APIRouter:
    """The receivers and audit pages, bound to a renderer."""
    router = APIRouter(include_in_schema=False)

    async def show(request: Request, outcome: Outcome | None, status: int = 200) -> Response:
        found = await app_config(request).objects("Receiver")
        rows = [(r, _yaml(json.dumps(r.spec["settings"]))) for r in found]
        context: dict[str, Any] = {"title": "Receivers", "rows": rows, "outcome": outcome}
        return render.page(request, "receivers.html", context, status_code=status)

    @router.get("/ui/receivers", response_class=HTMLResponse)
    async def receivers_page(request: Request) -> Response:
        return await show(request, None)

    @router.post("/ui/receivers/{name}/test", response_class=HTMLResponse)
    async def test_receiver(request: Request, name: str) -> Response:
        try:
            d = await app_config(request).test_receiver(name)
        except NotFound as e:
            return render.not_found(request, e.detail)
        except InvalidInput as e:
            detail = "; ".join(f"{fe.path}: {fe.message}" for fe in e.errors) or e.detail
            return await show(request, Outcome(name, False, detail), 400)
        return await show(request, Outcome(name, d.ok, d.detail))

    @router.get("/ui/audit", response_class=HTMLResponse)
    async def audit_page(request: Request) -> Response:
        kind = request.query_params.get("kind", "")
        project = request.query_params.get("project", "").strip()
        q = AuditQuery(
            kind=kind if kind in KINDS[1:] else None, project=project or None, limit=AUDIT_PAGE
        )
        entries = await app_config(request).audit(q)
        rows = [AuditRow(e, _yaml(e.before), _yaml(e.after)) for e in entries]
        context: dict[str, Any] = {
            "title": "Audit log", "rows": rows, "kinds": KINDS, "kind": q.kind or "",
            "project": project,
        }  # fmt: skip
        return render.page(request, "audit.html", context)

    return router
