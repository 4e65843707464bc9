"""Evaluation rules, backfill jobs and the online evaluator's status (issue 13, items 1-2, 7).

``GET /api/v1/projects/{project}/eval-rules``, ``PUT|GET|DELETE .../eval-rules/{name}``,
``POST .../eval-rules/apply`` (a ``kind: EvalRuleList`` file's rules, all or nothing),
``POST .../eval-rules/{name}/backfill`` (202 and the job), ``GET .../eval-jobs`` and
``GET .../eval-jobs/{id}`` (progress), ``GET .../eval-online`` (the online worker's counters).
Verdicts land as annotations: read them with ``GET /api/v1/spans/{id}/annotations`` or as the
metrics ``annotation.<name>.score:mean`` and ``annotation.<name>.label=<label>:rate``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import AfterValidator, AwareDatetime, BaseModel, Field

from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.eval_rules import EvalRule
from llmpulse.domain.ids import ProjectName, check_project_name
from llmpulse.evals.backfill import BackfillRequest, JobStatus
from llmpulse.evals.runner import RunReport
from llmpulse.server.deps import get_services
from llmpulse.server.services import Services

router = APIRouter(prefix="/api/v1", tags=["evaluations"])
Project = Annotated[str, AfterValidator(check_project_name)]
Svc = Annotated[Services, Depends(get_services)]


class EvalRuleList(BaseModel):
    """Every evaluation rule of a project."""

    data: list[EvalRule]


class EvalRuleApplyIn(BaseModel):
    """A project's desired rules (the ``rules`` of a ``kind: EvalRuleList`` file)."""

    rules: list[EvalRule] = Field(default_factory=list, max_length=500)
    prune: bool = False
    dry_run: bool = False


class EvalRulePlanOut(BaseModel):
    """What applying changed (or would change, on a dry run)."""

    create: list[str]
    update: list[str]
    unchanged: list[str]
    delete: list[str]
    applied: bool


class BackfillIn(BaseModel):
    """Which stored spans to evaluate, and an optional cost cap for this run."""

    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    limit: int | None = Field(None, ge=1, le=10_000_000)
    max_cost_usd: float | None = Field(None, ge=0)


class RunReportOut(BaseModel):
    """Counters of a run."""

    considered: int
    selected: int
    evaluated: int
    skipped: int
    errors: int
    annotations: int
    routed: int = Field(0, description="verdicts sent to the rule's review queue")
    cost_usd: float
    stopped: str | None
    skip_reasons: dict[str, int]

    @classmethod
    def from_report(cls, r: RunReport) -> RunReportOut:
        """Map a report."""
        return cls(**asdict(r))


class EvalJobOut(BaseModel):
    """A backfill job: state (running, done, stopped, failed), total spans and progress."""

    id: str
    project: str
    rule: str
    state: str
    total: int
    progress: float
    started_at: str
    finished_at: str | None
    detail: str | None
    report: RunReportOut

    @classmethod
    def from_status(cls, j: JobStatus) -> EvalJobOut:
        """Map a job status."""
        progress = 1.0 if j.state != "running" else j.report.considered / max(1, j.total)
        return cls(
            id=j.id, project=j.project, rule=j.rule, state=j.state, total=j.total,
            progress=min(1.0, progress), started_at=j.started_at, finished_at=j.finished_at,
            detail=j.detail, report=RunReportOut.from_report(j.report),
        )  # fmt: skip


class EvalJobList(BaseModel):
    """A project's backfill jobs, newest first."""

    data: list[EvalJobOut]


class OnlineOut(BaseModel):
    """The online evaluator: spans waiting, spans dropped (queue full), per-rule counters."""

    queued: int
    dropped: int
    judge_configured: bool
    rules: dict[str, RunReportOut]


@router.get("/projects/{project}/eval-rules")
async def list_eval_rules(project: str, services: Svc) -> EvalRuleList:
    """The project's evaluation rules."""
    await services.query.require_project(ProjectName(project))
    return EvalRuleList(data=await services.evals.rules.list_rules(ProjectName(project)))


@router.put("/projects/{project}/eval-rules/{name}")
async def put_eval_rule(project: Project, name: str, body: EvalRule, services: Svc) -> EvalRule:
    """Create or replace a rule; the body's ``name`` must be the path's."""
    await services.query.require_project(ProjectName(project))
    if body.name != name:
        raise InvalidInput(
            f"the body names rule {body.name!r}, the path {name!r}",
            [FieldError("name", "must equal the rule name in the path")],
        )
    return await services.evals.rules.put(ProjectName(project), body)


@router.get("/projects/{project}/eval-rules/{name}")
async def get_eval_rule(project: str, name: str, services: Svc) -> EvalRule:
    """One rule."""
    return await services.evals.rules.get(ProjectName(project), name)


@router.delete("/projects/{project}/eval-rules/{name}", status_code=204)
async def delete_eval_rule(project: str, name: str, services: Svc) -> None:
    """Delete a rule (its annotations stay)."""
    await services.evals.rules.delete(ProjectName(project), name)


@router.post("/projects/{project}/eval-rules/apply")
async def apply_eval_rules(
    project: Project, body: EvalRuleApplyIn, services: Svc
) -> EvalRulePlanOut:
    """Make the project's rules match the list: the plan, applied unless ``dry_run``."""
    await services.query.require_project(ProjectName(project))
    plan = await services.evals.rules.apply(
        ProjectName(project), body.rules, prune=body.prune, dry_run=body.dry_run
    )
    return EvalRulePlanOut(
        create=plan.create, update=plan.update, unchanged=plan.unchanged, delete=plan.delete,
        applied=plan.applied,
    )  # fmt: skip


@router.post("/projects/{project}/eval-rules/{name}/backfill", status_code=202)
async def backfill_eval_rule(
    project: str, name: str, body: BackfillIn, services: Svc
) -> EvalJobOut:
    """Start evaluating the stored spans of a time range with this rule; poll the job."""
    await services.query.require_project(ProjectName(project))
    req = BackfillRequest(body.start, body.end, body.limit)
    job = await services.evals.backfill(ProjectName(project), name, req, body.max_cost_usd)
    return EvalJobOut.from_status(job)


@router.get("/projects/{project}/eval-jobs")
async def list_eval_jobs(project: str, services: Svc) -> EvalJobList:
    """The project's backfill jobs, newest first."""
    await services.query.require_project(ProjectName(project))
    jobs = await services.evals.jobs.list_jobs(ProjectName(project))
    return EvalJobList(data=[EvalJobOut.from_status(j) for j in jobs])


@router.get("/projects/{project}/eval-jobs/{job_id}")
async def get_eval_job(project: str, job_id: str, services: Svc) -> EvalJobOut:
    """A backfill job's state and progress."""
    return EvalJobOut.from_status(await services.evals.jobs.get(ProjectName(project), job_id))


@router.get("/projects/{project}/eval-online")
async def eval_online_status(project: str, services: Svc) -> OnlineOut:
    """The online evaluator's counters for this project's rules."""
    await services.query.require_project(ProjectName(project))
    st = services.evals.online.status
    prefix = f"{project}/"
    return OnlineOut(
        queued=st.queued,
        dropped=st.dropped,
        judge_configured=services.evals.judge_config is not None,
        rules={
            k[len(prefix) :]: RunReportOut.from_report(r)
            for k, r in st.reports.items()
            if k.startswith(prefix)
        },
    )
