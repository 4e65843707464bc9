"""The evaluations page: a project's evaluation rules, backfill jobs with progress, online counters.
It also shows, per annotation name with human labels, the judge-versus-human agreement (raw
agreement, Cohen's kappa and the confusion counts).

``GET /ui/projects/{project}/evals`` lists the rules (evaluator, which spans, online or not),
the backfill jobs (state and a progress bar; the page refreshes itself while one runs) and the
online evaluator's counters per rule. ``POST /ui/projects/{project}/evals`` (form fields
``name``, ``kind``, ``annotation``, ``sample_rate``, ``confidence_below``, ``workflows``,
``span_kind``, ``online``, and for ``custom`` ``prompt``, ``rails``, ``scores`` as
``label=score`` pairs) saves a rule; a bad field re-shows the form with the error, status 400.
``POST .../evals/{name}/backfill`` starts a backfill, ``POST .../evals/{name}/delete`` deletes.
Calls the `EvalService` the REST routes call.
"""

# No `from __future__ import annotations`: FastAPI resolves the handlers' annotations.
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import HTMLResponse, RedirectResponse, Response

from llmpulse.domain.errors import InvalidInput, LlmpulseError, NotFound
from llmpulse.domain.eval_rules import EvalRule
from llmpulse.domain.ids import ProjectName
from llmpulse.evals.agreement import judge_human_agreements
from llmpulse.evals.backfill import BackfillRequest
from llmpulse.evals.service import EvalService
from llmpulse.ui.page_support import error_lines, find_project, page_url
from llmpulse.ui.reader import app_metrics
from llmpulse.ui.templating import Renderer

MAX_FORM_BYTES = 65_536
KINDS = ("hallucination", "qa_correctness", "document_relevance", "toxicity", "custom",
         "lexical_grounding", "embedding_similarity")  # fmt: skip


def app_evals(request: Request) -> EvalService:
    """The running app's evaluation service."""
    service: EvalService = request.app.state.services.evals
    return service


@dataclass(frozen=True, slots=True)
class RuleRow:
    """One rule, laid out for the table."""

    name: str
    kind: str
    annotation: str
    picks: str
    online: bool


def picks_text(rule: EvalRule) -> str:
    """The policy in words: ``LLM spans · workflow refunds · confidence < 0.5 · 10 % sample``."""
    p = rule.policy
    parts = [f"{', '.join(p.span_kinds)} spans" if p.span_kinds else "all spans"]
    if p.workflows:
        parts.append(f"workflow {', '.join(p.workflows)}")
    if p.confidence_below is not None:
        parts.append(f"confidence < {p.confidence_below:g}")
    parts += [f"{k} = {v}" for k, v in p.attributes.items()]
    if p.sample_rate < 1:
        parts.append(f"{p.sample_rate:.0%} sample")
    return " · ".join(parts)


def rule_from_form(f: dict[str, str]) -> EvalRule:
    """Build a rule from the posted fields.

    Raises:
        ValidationError: a field is not valid (its name is in the error).
    """
    evaluator: dict[str, Any] = {"kind": f.get("kind", "")}
    if f.get("annotation"):
        evaluator["name"] = f["annotation"]
    if evaluator["kind"] == "custom":
        evaluator["prompt"] = f.get("prompt", "")
        evaluator["rails"] = [r.strip() for r in f.get("rails", "").split(",") if r.strip()]
        pairs = [p.split("=", 1) for p in f.get("scores", "").split(",") if "=" in p]
        evaluator["scores"] = {k.strip(): v.strip() for k, v in pairs}
    policy: dict[str, Any] = {}
    if f.get("sample_rate"):
        policy["sample_rate"] = f["sample_rate"]
    if f.get("confidence_below"):
        policy["confidence_below"] = f["confidence_below"]
    if f.get("workflows"):
        policy["workflows"] = [w.strip() for w in f["workflows"].split(",") if w.strip()]
    if f.get("span_kind"):
        policy["span_kinds"] = [f["span_kind"]]
    return EvalRule.model_validate(
        {"name": f.get("name", ""), "evaluator": evaluator, "policy": policy,
         "online": f.get("online") == "on"}
    )  # fmt: skip


async def _fields(request: Request) -> dict[str, str]:
    body = (await request.body())[:MAX_FORM_BYTES].decode("utf-8", errors="replace")
    return {k: v.strip() for k, v in parse_qsl(body, keep_blank_values=True)}


async def _show(
    render: Renderer,
    request: Request,
    project: str,
    form: dict[str, str],
    errors: list[str],
    status: int,
) -> Response:
    if await find_project(app_metrics(request), project) is None:
        return render.not_found(request, f"There is no project named “{project}”.")
    evals = app_evals(request)
    rules = await evals.rules.list_rules(ProjectName(project))
    jobs = await evals.jobs.list_jobs(ProjectName(project))
    names = sorted({r.evaluator.annotation_name for r in rules})
    query = app_metrics(request)
    agreements = await judge_human_agreements(query, ProjectName(project), names)
    reports = {k.split("/", 1)[1]: r for k, r in evals.online.status.reports.items()
               if k.startswith(f"{project}/")}  # fmt: skip
    context: dict[str, Any] = {
        "title": f"{project} · evaluations", "project": project, "nav": "evals",
        "rules": [RuleRow(r.name, r.evaluator.kind, r.evaluator.annotation_name,
                          picks_text(r), r.online) for r in rules],
        "jobs": jobs[:20], "running": any(j.state == "running" for j in jobs),
        "reports": reports, "online": evals.online.status,
        "agreements": [a for a in agreements if a["items"]],
        "judge": evals.judge_config, "form": form, "errors": errors, "kinds": KINDS,
    }  # fmt: skip
    return render.page(request, "evals.html", context, status_code=status)


def build_evals_router(render: Renderer) -> APIRouter:
    """The evaluations page and its form actions, bound to a renderer."""
    router = APIRouter(include_in_schema=False)

    @router.get("/ui/projects/{project}/evals", response_class=HTMLResponse)
    async def evals_page(request: Request, project: str) -> Response:
        return await _show(render, request, project, {}, [], 200)

    @router.post("/ui/projects/{project}/evals", response_class=HTMLResponse)
    async def save_rule(request: Request, project: str) -> Response:
        form = await _fields(request)
        if await find_project(app_metrics(request), project) is None:
            return render.not_found(request, f"There is no project named “{project}”.")
        try:
            await app_evals(request).rules.put(ProjectName(project), rule_from_form(form))
        except ValidationError as e:
            lines = [f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}" for err in e.errors()]
            return await _show(render, request, project, form, lines, 400)
        except InvalidInput as e:
            return await _show(render, request, project, form, error_lines(e), 400)
        return RedirectResponse(page_url(project, "evals"), status_code=303)

    @router.post("/ui/projects/{project}/evals/{name}/backfill", response_class=HTMLResponse)
    async def backfill(request: Request, project: str, name: str) -> Response:
        try:
            await app_evals(request).backfill(ProjectName(project), name, BackfillRequest())
        except NotFound as e:
            return render.not_found(request, e.detail)
        except LlmpulseError as e:
            return await _show(render, request, project, {}, [e.detail], 400)
        return RedirectResponse(page_url(project, "evals"), status_code=303)

    @router.post("/ui/projects/{project}/evals/{name}/delete", response_class=HTMLResponse)
    async def delete_rule(request: Request, project: str, name: str) -> Response:
        try:
            await app_evals(request).rules.delete(ProjectName(project), name)
        except NotFound as e:
            return render.not_found(request, e.detail)
        return RedirectResponse(page_url(project, "evals"), status_code=303)

    return router
