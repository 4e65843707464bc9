"""The configuration page: paste manifests (any kinds), see the plan as a diff, apply it.

``GET /ui/config`` shows the form, prefilled with ``?project=``'s current configuration
(export) when asked (``?export=1``). ``POST /ui/config`` with ``action=plan`` shows the plan
only; ``action=apply`` writes it (one transaction, audited as the signed-in key or ``ui``)
and shows what was applied. ``prune`` deletes what the text leaves out of its kinds and
projects. Errors name the document (counted from 1) and the field, as the CLI does.
"""

# No `from __future__ import annotations`: FastAPI resolves the handlers' annotations.
from dataclasses import dataclass
from typing import Any

import yaml
from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from llmpulse.config.bundle import load_documents
from llmpulse.config.plan import Change, Plan
from llmpulse.domain.errors import Conflict, InvalidInput
from llmpulse.ui.config_support import app_config, first, read_form, ui_actor
from llmpulse.ui.templating import Renderer


@dataclass(frozen=True, slots=True)
class ChangeLine:
    """One change of the plan, with its changed fields as ``path: before -> after``."""

    mark: str
    action: str
    label: str
    fields: tuple[str, ...]


_MARKS = {"create": "+", "update": "~", "delete": "-", "unchanged": "="}


def _text(value: Any) -> str:
    if value is None:
        return "(unset)"
    return (
        value if isinstance(value, str) else yaml.safe_dump(value, default_flow_style=True).strip()
    )


def change_line(c: Change) -> ChangeLine:
    """A change laid out for the page."""
    fields = tuple(f"{f.path}: {_text(f.before)} -> {_text(f.after)}" for f in c.fields)
    return ChangeLine(_MARKS[c.action], c.action, c.label, fields)


def doc_errors(e: InvalidInput) -> list[str]:
    """``doc 2: spec.window: message`` lines (documents counted from 1)."""
    out = []
    for fe in e.errors or []:
        head, sep, rest = fe.path.partition("].")
        if fe.path.startswith("documents[") and sep:
            out.append(f"doc {int(head.removeprefix('documents[')) + 1}: {rest}: {fe.message}")
        else:
            out.append(f"{fe.path}: {fe.message}")
    return out or [e.detail]


def build_apply_router(render: Renderer) -> APIRouter:
    """The configuration page, bound to a renderer."""
    router = APIRouter(include_in_schema=False)

    async def show(
        request: Request, text: str, prune: bool, plan: Plan | None, errors: list[str],
        status: int = 200,
    ) -> Response:  # fmt: skip
        context: dict[str, Any] = {
            "title": "Configuration", "text": text, "prune": prune, "errors": errors,
            "plan": plan, "lines": [change_line(c) for c in plan.changes] if plan else [],
            "counts": {a: plan.count(a) for a in _MARKS} if plan else {},  # type: ignore[arg-type]
        }  # fmt: skip
        return render.page(request, "config.html", context, status_code=status)

    @router.get("/ui/config", response_class=HTMLResponse)
    async def config_page(request: Request) -> Response:
        text = ""
        if request.query_params.get("export"):
            project = request.query_params.get("project") or None
            docs = await app_config(request).export(project)
            text = yaml.safe_dump_all(docs, sort_keys=False) if docs else ""
        return await show(request, text, False, None, [])

    @router.post("/ui/config", response_class=HTMLResponse)
    async def apply_config(request: Request) -> Response:
        raw = await read_form(request)
        text, prune = (raw.get("manifests") or [""])[0], first(raw, "prune") == "on"
        dry_run = first(raw, "action") != "apply"
        try:
            docs = load_documents(text)
            plan = await app_config(request).apply(
                docs, ui_actor(request), prune=prune, dry_run=dry_run
            )
        except InvalidInput as e:
            return await show(request, text, prune, None, doc_errors(e), 400)
        except Conflict as e:
            return await show(request, text, prune, None, [e.detail], 409)
        return await show(request, text, prune, plan, [])

    return router
