"""SLOs: definitions, status, compliance reports and a status feed (issue 11).

``GET /api/v1/projects/{project}/slos`` (status of each, least budget left first),
``PUT|GET|DELETE .../slos/{name}``, ``POST .../slos/apply`` (our kind SLO and OpenSLO files
as JSON documents, all or nothing), ``GET .../slo-definitions?format=llmpulse|openslo``
(export), ``GET .../slos/{name}/report`` (JSON or CSV) and ``GET .../status`` (a feed for
status pages).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from llmpulse.analysis.slo import month_bounds
from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.ids import ProjectName
from llmpulse.query.filters import as_utc
from llmpulse.server.deps import get_services
from llmpulse.server.services import Services
from llmpulse.slos.evaluate import SloStatus, least_budget_first
from llmpulse.slos.manifests import export_documents, parse_documents
from llmpulse.slos.report import ComplianceReport, build_report, finite, to_csv
from llmpulse.slos.spec import SloSpec, format_duration

router = APIRouter(prefix="/api/v1", tags=["slos"])
Svc = Annotated[Services, Depends(get_services)]


class BurnWindowOut(BaseModel):
    """The burn rate over one window ending now (null without valid events)."""

    window: str
    burn_rate: float | None
    valid: float


class AlertOut(BaseModel):
    """A burn-rate alert firing now."""

    labels: dict[str, str]
    starts_at: datetime
    annotations: dict[str, str]


class EpisodeOut(BaseModel):
    """A run of one firing rule (end null while it fires)."""

    rule: str
    severity: str
    start: datetime
    end: datetime | None


class SloStatusOut(BaseModel):
    """An SLO and where it stands now."""

    name: str
    project: str
    description: str
    objective: float
    window: str
    sli_type: str
    status: str
    sli: float | None
    good: float
    valid: float
    budget_consumed: float | None
    budget_remaining: float | None
    burn_rate: float | None
    time_to_exhaustion_s: float | None
    period_start: datetime
    at: datetime
    windows: list[BurnWindowOut]
    alerts: list[AlertOut]

    @classmethod
    def from_status(cls, s: SloStatus) -> SloStatusOut:
        """Map a computed status (NaN → null)."""
        spec, b = s.spec, s.budget
        tte = b.time_to_exhaustion
        return cls(
            name=spec.name, project=spec.project, description=spec.description,
            objective=float(spec.objective),
            window=spec.window_text,
            sli_type=spec.sli.type, status=b.status, sli=finite(b.sli), good=s.good,
            valid=s.valid, budget_consumed=finite(b.consumed), budget_remaining=finite(b.remaining),
            burn_rate=finite(b.burn_rate),
            time_to_exhaustion_s=None if tte is None else tte.total_seconds(),
            period_start=s.period_start, at=s.at,
            windows=[
                BurnWindowOut(window=format_duration(w.window), burn_rate=finite(w.burn_rate),
                              valid=w.valid)
                for w in s.windows
            ],
            alerts=[
                AlertOut(labels=dict(a.labels), starts_at=a.starts_at,
                         annotations=dict(a.annotations))
                for a in s.alerts
            ],
        )  # fmt: skip


class SloDetailOut(SloStatusOut):
    """One SLO in full: its manifest, status, alert history in range and burn-down."""

    spec: dict[str, Any]
    episodes: list[EpisodeOut]
    burn_down: list[tuple[datetime, float]]


class SloList(BaseModel):
    """A project's SLOs, least budget remaining first."""

    data: list[SloStatusOut]


async def known(services: Services, project: str) -> None:
    """404 unless the project exists (has received spans), like every project route."""
    await services.query.require_project(ProjectName(project))


@router.get("/projects/{project}/slos")
async def list_slos(project: str, services: Svc) -> SloList:
    """Every SLO of the project with its status, the least budget remaining first."""
    await known(services, project)
    cycle = await services.slos.evaluate_slos(project)
    return SloList(data=[SloStatusOut.from_status(s) for s in least_budget_first(cycle.statuses)])


class SloIn(BaseModel):
    """The ``spec`` of a kind SLO manifest (see docs/reference/slo-files.md)."""

    spec: dict[str, Any]


@router.put("/projects/{project}/slos/{name}")
async def put_slo(project: str, name: str, body: SloIn, services: Svc) -> SloStatusOut:
    """Create or replace an SLO; 400 naming ``spec.<field>`` when invalid."""
    await known(services, project)
    doc = {"apiVersion": "llmpulse/v1", "kind": "SLO",
           "metadata": {"name": name, "project": project}, "spec": body.spec}  # fmt: skip
    await services.slos.put(SloSpec.from_manifest(doc))
    return SloStatusOut.from_status(await services.slos.status(project, name))


@router.get("/projects/{project}/slos/{name}")
async def get_slo(project: str, name: str, services: Svc) -> SloDetailOut:
    """One SLO: definition, status, burn rates per window, alerts raised and burn-down."""
    await known(services, project)
    s = await services.slos.status(project, name)
    base = SloStatusOut.from_status(s).model_dump()
    return SloDetailOut(
        **base,
        spec=s.spec.to_manifest(),
        episodes=[EpisodeOut(rule=e.rule, severity=e.severity, start=e.start, end=e.end)
                  for e in s.episodes],
        burn_down=s.burn_down,
    )  # fmt: skip


@router.delete("/projects/{project}/slos/{name}", status_code=204)
async def delete_slo(project: str, name: str, services: Svc) -> None:
    """Delete an SLO."""
    await known(services, project)
    await services.slos.delete(project, name)


class SloApplyIn(BaseModel):
    """SLO documents (our kind SLO and OpenSLO kinds, as parsed from YAML)."""

    documents: list[dict[str, Any]] = Field(default_factory=list, max_length=1000)
    prune: bool = False  # delete the project's SLOs the documents do not define
    dry_run: bool = False  # only plan


class SloPlanOut(BaseModel):
    """What applying changed (or would change, on a dry run)."""

    create: list[str]
    update: list[str]
    unchanged: list[str]
    delete: list[str]
    applied: bool


@router.post("/projects/{project}/slos/apply")
async def apply_slos(project: str, body: SloApplyIn, services: Svc) -> SloPlanOut:
    """Make the project's SLOs match the documents in one transaction (all or nothing).

    400 naming ``documents[i].<field>`` when a document is invalid.
    """
    await known(services, project)
    specs = parse_documents(list(body.documents), project)
    plan = await services.slos.apply(project, specs, prune=body.prune, dry_run=body.dry_run)
    return SloPlanOut(create=plan.create, update=plan.update, unchanged=plan.unchanged,
                      delete=plan.delete, applied=plan.applied)  # fmt: skip


class SloDocuments(BaseModel):
    """A project's SLOs as documents."""

    documents: list[dict[str, Any]]


@router.get("/projects/{project}/slo-definitions")
async def export_slos(
    project: str, services: Svc, format: Literal["llmpulse", "openslo"] = "llmpulse"
) -> SloDocuments:
    """The project's SLOs as our kind SLO manifests or OpenSLO documents."""
    await known(services, project)
    return SloDocuments(documents=export_documents(await services.slos.specs(project), format))


class IncidentOut(BaseModel):
    """A run of a firing rule and the share of the period's budget it spent."""

    rule: str
    severity: str
    start: datetime
    end: datetime | None
    budget_spent: float


class PeriodOut(BaseModel):
    """One period of a compliance report."""

    period: str
    start: datetime
    end: datetime
    good: float
    valid: float
    sli: float | None
    met: bool | None
    budget_used: float | None
    budget_remaining: float | None
    max_burn: dict[str, float | None]
    pages: int
    tickets: int
    coverage: float
    incidents: list[IncidentOut]


class ReportOut(BaseModel):
    """An SLO's compliance report."""

    slo: str
    project: str
    objective: float
    start: datetime
    end: datetime
    period: str
    periods: list[PeriodOut]

    @classmethod
    def from_report(cls, r: ComplianceReport) -> ReportOut:
        """Map a report (NaN → null)."""
        return cls(
            slo=r.spec.name, project=r.spec.project, objective=float(r.spec.objective),
            start=r.start, end=r.end, period=r.unit,
            periods=[
                PeriodOut(
                    period=p.label, start=p.start, end=p.end, good=p.good, valid=p.valid,
                    sli=finite(p.sli), met=p.met, budget_used=finite(p.budget_used),
                    budget_remaining=finite(p.budget_remaining),
                    max_burn={k: finite(v) for k, v in p.max_burn.items()},
                    pages=p.pages, tickets=p.tickets, coverage=p.coverage,
                    incidents=[IncidentOut(rule=i.rule, severity=i.severity, start=i.start,
                                           end=i.end, budget_spent=i.budget_spent)
                               for i in p.incidents],
                )
                for p in r.periods
            ],
        )  # fmt: skip


async def compute_report(
    services: Services, project: str, name: str, start: datetime | None, end: datetime | None,
    period: Literal["month", "week", "day"],
) -> ComplianceReport:  # fmt: skip
    """The report for the route and the UI: ``start``/``end`` default to this month so far."""
    await known(services, project)
    spec = await services.slos.spec(project, name)
    now = services.clock.now()
    s, e = as_utc(start), as_utc(end)
    if s is None:
        s = month_bounds(now)[0]
    if e is None:
        e = now
    if e <= s:
        raise InvalidInput("end is before start", [FieldError("end", "must be after start")])
    return await build_report(services.slos, spec, s, e, period)


@router.get(
    "/projects/{project}/slos/{name}/report",
    response_model=ReportOut,
    responses={200: {"content": {"text/csv": {}}}},
)
async def slo_report(
    project: str,
    name: str,
    services: Svc,
    start: Annotated[datetime | None, Query()] = None,
    end: Annotated[datetime | None, Query()] = None,
    period: Literal["month", "week", "day"] = "month",
    format: Literal["json", "csv"] = "json",
) -> Any:
    """Compliance per period: attainment, budget used, pages/tickets and the incidents."""
    report = await compute_report(services, project, name, start, end, period)
    if format == "csv":
        filename = f"{project}-{name}-report.csv"
        return Response(
            to_csv(report), media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )  # fmt: skip
    return ReportOut.from_report(report)


class FeedSloOut(BaseModel):
    """One SLO in the status feed."""

    name: str
    description: str
    status: str
    sli: float | None
    objective: float
    budget_remaining: float | None


class StatusFeedOut(BaseModel):
    """A project's SLOs for status pages: ``indicator`` none / minor / major / unknown."""

    project: str
    updated_at: datetime
    indicator: str
    slos: list[FeedSloOut]


def indicator(statuses: list[str]) -> str:
    """Statuspage-style overall indicator: major if any SLO is breached, minor if at risk."""
    if "breached" in statuses:
        return "major"
    if "at_risk" in statuses:
        return "minor"
    if statuses and all(s == "insufficient_data" for s in statuses):
        return "unknown"
    return "none"


@router.get("/projects/{project}/status")
async def status_feed(project: str, services: Svc) -> StatusFeedOut:
    """A JSON status feed of the project's SLOs (for status pages)."""
    await known(services, project)
    cycle = await services.slos.evaluate_slos(project)
    return StatusFeedOut(
        project=project, updated_at=services.clock.now(),
        indicator=indicator([s.budget.status for s in cycle.statuses]),
        slos=[FeedSloOut(name=s.name, description=s.spec.description, status=s.budget.status,
                         sli=finite(s.budget.sli), objective=float(s.spec.objective),
                         budget_remaining=finite(s.budget.remaining))
              for s in least_budget_first(cycle.statuses)],
    )  # fmt: skip
