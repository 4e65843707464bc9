"""SLO pages: the list (least budget left first), one SLO, and its printable report.

``GET /ui/projects/{project}/slos``: status, SLI against the objective, budget remaining and
current burn rate of each SLO. ``GET /ui/projects/{project}/slos/{name}``: attainment, the
budget burn-down chart, burn rates per window, the alerts firing and the ones raised over
the period. ``GET /ui/projects/{project}/slos/{name}/report?period=month|week|day``: the
compliance report as a printable page. All of them call the `SloService` the REST routes call.
"""

# No `from __future__ import annotations`: FastAPI resolves the handlers' annotations.
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from llmpulse.analysis.slo import month_bounds
from llmpulse.domain.errors import InvalidInput, NotFound
from llmpulse.slos.evaluate import SloStatus, least_budget_first
from llmpulse.slos.report import PeriodUnit, build_report
from llmpulse.slos.service import SloService
from llmpulse.slos.spec import format_duration
from llmpulse.ui.charts import Series, line_chart
from llmpulse.ui.formats import percent
from llmpulse.ui.page_support import error_lines, find_project, page_url
from llmpulse.ui.reader import app_metrics
from llmpulse.ui.templating import Renderer


def app_slos(request: Request) -> SloService:
    """The running app's SLO service (``app.state.services.slos``)."""
    service: SloService = request.app.state.services.slos
    return service


def pct(v: float | None, digits: int = 2) -> str:
    """``99.52 %``; a dash for no data."""
    if v is None or math.isnan(v):
        return "-"
    return f"{v * 100:.{digits}f} %"


def num(v: float | None) -> str:
    """A burn rate or a count, three significant digits; a dash for no data."""
    if v is None or math.isnan(v):
        return "-"
    return f"{v:.3g}"


def duration(d: timedelta | None) -> str:
    """``3d 4h`` / ``45m``; ``never`` for None."""
    if d is None:
        return "never at this rate"
    minutes = int(d.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {mins}m" if hours else f"{mins}m"


@dataclass(frozen=True, slots=True)
class SloRow:
    """One SLO in the list."""

    name: str
    href: str
    status: str
    objective: str
    sli: str
    remaining: str
    remaining_width: float
    burn: str
    window: str
    firing: str


def slo_row(s: SloStatus) -> SloRow:
    """A status laid out for the list."""
    r = s.budget.remaining
    width = 0.0 if math.isnan(r) else max(0.0, min(1.0, r)) * 100
    return SloRow(
        name=s.name, href=page_url(s.spec.project, f"slos/{s.name}"), status=s.budget.status,
        objective=pct(float(s.spec.objective), 3), sli=pct(s.budget.sli, 3), remaining=pct(r, 1),
        remaining_width=round(width, 1), burn=num(s.budget.burn_rate),
        window=s.spec.window_text,
        firing=", ".join(sorted({a.labels["severity"] for a in s.alerts})),
    )  # fmt: skip


def detail_context(s: SloStatus) -> dict[str, Any]:
    """What the SLO page shows."""
    points = tuple((t, v) for t, v in s.burn_down)
    bucket = (points[1][0] - points[0][0]) if len(points) > 1 else timedelta(minutes=5)
    chart = line_chart(
        [Series("budget remaining", points)], s.period_start, s.at, bucket, percent, area=True
    )
    return {
        "row": slo_row(s), "status": s, "chart": chart,
        "tte": duration(s.budget.time_to_exhaustion),
        "windows": [(format_duration(w.window), num(w.burn_rate), int(w.valid)) for w in s.windows],
        "rules": [(r.name, r.severity, format_duration(r.long), format_duration(r.short),
                   f"{float(r.factor):.4g}") for r in s.rules],
        "alerts": s.alerts,
        "episodes": sorted(s.episodes, key=lambda e: e.start, reverse=True),
    }  # fmt: skip


def report_start(now: datetime, unit: PeriodUnit) -> datetime:
    """The report page's range start: three whole months back, four weeks or seven days."""
    if unit == "month":
        first = month_bounds(now)[0]
        months = first.year * 12 + first.month - 1 - 3
        return first.replace(year=months // 12, month=months % 12 + 1)
    return now - (timedelta(days=28) if unit == "week" else timedelta(days=7))


def build_slos_router(render: Renderer) -> APIRouter:
    """The SLO list, SLO and report pages, bound to a renderer."""
    router = APIRouter(include_in_schema=False)

    @router.get("/ui/projects/{project}/slos", response_class=HTMLResponse)
    async def slos_page(request: Request, project: str) -> Response:
        if await find_project(app_metrics(request), project) is None:
            return render.not_found(request, f"There is no project named “{project}”.")
        cycle = await app_slos(request).evaluate_slos(project)
        rows = [slo_row(s) for s in least_budget_first(cycle.statuses)]
        context = {"title": f"{project} · SLOs", "project": project, "nav": "slos", "rows": rows}
        return render.page(request, "slos.html", context)

    @router.get("/ui/projects/{project}/slos/{name}", response_class=HTMLResponse)
    async def slo_page(request: Request, project: str, name: str) -> Response:
        try:
            s = await app_slos(request).status(project, name)
        except NotFound as e:
            return render.not_found(request, e.detail)
        context = {"title": f"{project} · SLO {name}", "project": project, "nav": "slos",
                   **detail_context(s)}  # fmt: skip
        return render.page(request, "slo.html", context)

    @router.get("/ui/projects/{project}/slos/{name}/report", response_class=HTMLResponse)
    async def report_page(
        request: Request, project: str, name: str, period: str = "month"
    ) -> Response:
        svc = app_slos(request)
        try:
            spec = await svc.spec(project, name)
        except NotFound as e:
            return render.not_found(request, e.detail)
        unit: PeriodUnit = period if period in ("month", "week", "day") else "month"  # type: ignore[assignment]
        now = request.app.state.services.clock.now()
        start = report_start(now, unit)
        try:
            report = await build_report(svc, spec, start, now, unit)
        except InvalidInput as e:
            return render.page(
                request,
                "not_found.html",
                {"title": "Bad request", "detail": error_lines(e)[0]},
                400,
            )
        context = {"title": f"{project} · SLO {name} · report", "project": project,
                   "nav": "slos", "report": report, "pct": pct, "num": num}  # fmt: skip
        return render.page(request, "slo_report.html", context)

    return router
