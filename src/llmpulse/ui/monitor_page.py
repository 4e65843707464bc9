"""The monitor page and the incidents page.

``/ui/projects/{project}/monitors/{name}?start=&end=&segment=`` shows one monitor: its
definition, a chart of its metric with the detector's baseline and bounds at every evaluation
in the range and the points where it fired (or, for the range shown, would have: the chart is
the monitor's backtest over it, `MonitorRuntime.backtest`, the same judging as the scheduler),
the alerts the backtest found, and the series' stored transitions (its history). The form
re-runs the backtest over another range or segment. ``/ui/projects/{project}/incidents``
lists the stored transitions, newest first, filterable by monitor and state.
"""

# No `from __future__ import annotations`: FastAPI resolves the handlers' annotations.
import asyncio
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.metrics import parse_metric
from llmpulse.monitors.backtest import BacktestResult, WouldFire
from llmpulse.monitors.judge import Segment
from llmpulse.monitors.spec import MonitorSpec
from llmpulse.store.alerts_api import TransitionQuery, TransitionRow
from llmpulse.ui.alerts_reader import AlertsView, app_alerts
from llmpulse.ui.charts import LineChart, Series, line_chart
from llmpulse.ui.formats import formatter_for
from llmpulse.ui.page_support import error_lines, find_project
from llmpulse.ui.reader import app_metrics
from llmpulse.ui.templating import Renderer

DEFAULT_RANGE = timedelta(hours=24)
STATES = ("", "firing", "resolved", "pending", "no_data", "error", "ok")


@dataclass(frozen=True, slots=True)
class WouldFireRow:
    """One alert of the backtest, formatted."""

    start: str
    end: str
    segment: str
    value: str
    baseline: str
    bounds: str


def _parse(text: str, field: str) -> datetime | None:
    if not text:
        return None
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{field} is not a date", [FieldError(field, "an ISO 8601 date and time")]
        ) from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _segment_text(seg: Segment | dict[str, str]) -> str:
    pairs = seg.items() if isinstance(seg, dict) else seg
    return ", ".join(f"{k}={v}" for k, v in pairs) or "all"


def _seg_of(alert: WouldFire, key: str | None) -> Segment:
    return ((key, alert.labels[key]),) if key and key in alert.labels else ()


def _chart(spec: MonitorSpec, result: BacktestResult, seg: Segment, start: datetime,
           end: datetime) -> LineChart:  # fmt: skip
    evs = result.evaluations.get(seg, [])
    value = [(e.at, e.evidence.value) for e in evs if e.evidence.value is not None]
    base = [(e.at, e.evidence.baseline) for e in evs if e.evidence.baseline is not None]
    upper = [(e.at, e.evidence.upper) for e in evs if e.evidence.upper is not None]
    lower = [(e.at, e.evidence.lower) for e in evs if e.evidence.lower is not None]
    fired = {a.start for a in result.alerts if _seg_of(a, spec.segment_by) == seg}
    points = [(t, v) for t, v in value if t in fired]
    series = [
        Series("value", tuple((t, float(v)) for t, v in value)),
        Series("baseline", tuple((t, float(v)) for t, v in base)),
        Series("upper bound", tuple((t, float(v)) for t, v in upper)),
        Series("lower bound", tuple((t, float(v)) for t, v in lower)),
        Series("fired", tuple((t, float(v)) for t, v in points)),
    ]
    fmt = formatter_for(parse_metric(spec.metric).name)
    return line_chart(series, start, end, spec.every, fmt)


def _rows(result: BacktestResult, spec: MonitorSpec) -> list[WouldFireRow]:
    fmt = formatter_for(parse_metric(spec.metric).name)
    key = spec.segment_by
    return [
        WouldFireRow(
            a.start.strftime("%Y-%m-%d %H:%M"),
            a.end.strftime("%Y-%m-%d %H:%M") if a.end else "still firing",
            _segment_text({key: a.labels[key]} if key and key in a.labels else {}),
            "—" if a.value is None else fmt(a.value),
            "—" if a.baseline is None else fmt(a.baseline),
            f"[{'—' if a.bounds[0] is None else fmt(a.bounds[0])}, "
            f"{'—' if a.bounds[1] is None else fmt(a.bounds[1])}]",
        )
        for a in result.alerts
    ]


async def _monitor(view: AlertsView, project: str, name: str) -> MonitorSpec | None:
    return next((m for m in await view.source.list_monitors(project) if m.name == name), None)


async def _history(view: AlertsView, q: TransitionQuery) -> list[TransitionRow]:
    return await asyncio.to_thread(view.alerts.transitions, q)


def build_monitor_router(render: Renderer) -> APIRouter:
    """The monitor and incidents pages, bound to a renderer."""
    router = APIRouter(include_in_schema=False)

    @router.get("/ui/projects/{project}/monitors/{name}", response_class=HTMLResponse)
    async def monitor_page(
        request: Request, project: str, name: str, start: str = "", end: str = "",
        segment: str = "",
    ) -> Response:  # fmt: skip
        summary = await find_project(app_metrics(request), project)
        view = app_alerts(request)
        spec = await _monitor(view, project, name)
        if summary is None or spec is None:
            return render.not_found(request, f"There is no monitor “{name}” in “{project}”.")
        errors: list[str] = []
        now = request.app.state.services.clock.now()
        last = summary.last_seen if isinstance(summary.last_seen, datetime) else now
        default_end = min(last, now).replace(second=0, microsecond=0)
        try:
            t1 = _parse(end, "end") or default_end
            t0 = _parse(start, "start") or t1 - DEFAULT_RANGE
            result = await view.backtest(spec, t0, t1)
        except InvalidInput as e:
            errors = error_lines(e)
            t1, t0 = default_end, default_end - DEFAULT_RANGE
            result = BacktestResult([])
        segments = sorted(result.evaluations)
        counts = Counter(_seg_of(a, spec.segment_by) for a in result.alerts)
        chosen = next((s for s in segments if _segment_text(s) == segment), None)
        if chosen is None:
            chosen = counts.most_common(1)[0][0] if counts else (segments or [()])[0]
        history = await _history(view, TransitionQuery(project, monitor=name, limit=100))
        chart = _chart(spec, result, chosen, t0, t1)
        context: dict[str, Any] = {
            "title": f"{project} · {name}", "project": project, "nav": "incidents",
            "spec": spec, "manifest": spec.to_manifest()["spec"],
            "state": view.current_states(project).get(name, "ok"),
            "chart": chart, "legend_items": [(line.name, line.color) for line in chart.lines],
            "rows": _rows(result, spec),
            "segments": [_segment_text(s) for s in segments], "segment": _segment_text(chosen),
            "start": t0.strftime("%Y-%m-%dT%H:%M"), "end": t1.strftime("%Y-%m-%dT%H:%M"),
            "history": history, "errors": errors,
        }  # fmt: skip
        return render.page(request, "monitor.html", context, status_code=400 if errors else 200)

    @router.get("/ui/projects/{project}/incidents", response_class=HTMLResponse)
    async def incidents_page(
        request: Request, project: str, monitor: str = "", state: str = ""
    ) -> Response:
        if await find_project(app_metrics(request), project) is None:
            return render.not_found(request, f"There is no project named “{project}”.")
        view = app_alerts(request)
        q = TransitionQuery(project, monitor or None, state or None, limit=500)
        rows = await _history(view, q)
        monitors = sorted(m.name for m in await view.source.list_monitors(project))
        context: dict[str, Any] = {
            "title": f"{project} · incidents", "project": project, "nav": "incidents",
            "rows": rows, "monitors": monitors, "monitor": monitor, "state": state,
            "states": STATES, "current": view.current_states(project),
        }  # fmt: skip
        return render.page(request, "incidents.html", context)

    return router
