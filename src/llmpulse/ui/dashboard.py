"""The project dashboard: metric time series as server-rendered SVG charts.

``/ui/projects/{project}/dashboard?window=&bucket=&split=&split_metric=`` draws request volume,
latency percentiles, error rate, tokens, cost, thumbs-down feedback rate and the hallucination
judge's mean score over the window (see `llmpulse.ui.windows`), plus, with ``split`` set, one
line per group (the eight largest) of ``split`` on ``split_metric``. It reads through the same
`QueryService.metric` as ``GET /api/v1/projects/{project}/metrics``.
"""

# No `from __future__ import annotations`: FastAPI resolves the handlers' annotations.
import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from llmpulse.clock import EPOCH
from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.ids import ProjectName
from llmpulse.domain.metrics import parse_metric
from llmpulse.query.service import ProjectSummary, QueryService
from llmpulse.store.api import SpanFilter
from llmpulse.store.metric_api import MetricFrame, MetricQuery
from llmpulse.ui.charts import LineChart, PointLink, Series, line_chart
from llmpulse.ui.drill import point_link
from llmpulse.ui.formats import formatter_for
from llmpulse.ui.page_support import (
    EVAL_METRIC,
    FEEDBACK_METRIC,
    KEY_SUGGESTIONS,
    error_lines,
    find_project,
    page_url,
)
from llmpulse.ui.reader import app_metrics
from llmpulse.ui.series import (
    MAX_SPLIT_GROUPS,
    NONE_GROUP,
    bucket_starts,
    group_series,
    metric_series,
)
from llmpulse.ui.templating import Renderer
from llmpulse.ui.windows import BUCKET_CHOICES, WINDOW_LABELS, Window, resolve_window


@dataclass(frozen=True, slots=True)
class Panel:
    """One chart of the dashboard: its metrics, their line names, and which spans it counts."""

    id: str
    title: str
    metrics: tuple[str, ...]
    names: tuple[str, ...]
    roots: bool
    area: bool = True


PANELS = (
    Panel("volume", "Request volume (traces)", ("count",), ("traces",), roots=True),
    Panel("latency", "Latency (traces)", ("latency_ms:p50", "latency_ms:p95", "latency_ms:p99"),
          ("p50", "p95", "p99"), roots=True, area=False),
    Panel("errors", "Error rate (traces)", ("error:rate",), ("error rate",), roots=True),
    Panel("tokens", "Total tokens", ("total_tokens:sum",), ("tokens",), roots=False),
    Panel("cost", "Cost", ("cost_usd:sum",), ("cost",), roots=False),
    Panel("feedback", "Thumbs-down feedback rate", (FEEDBACK_METRIC,), ("thumbs down",),
          roots=False),
    Panel("evals", "Hallucination score (LLM judge, mean)", (EVAL_METRIC,), ("mean score",),
          roots=False),
)  # fmt: skip
SPLIT_METRICS = {m: (p, name) for p in PANELS for m, name in zip(p.metrics, p.names, strict=True)}
DEFAULT_SPLIT_METRIC = "latency_ms:p95"
DEFAULT_SEGMENT_KEY = "metadata.tier"
# Keys that LLM or tool spans carry rather than trace roots: a split by them reads every span.
SPAN_LEVEL_KEYS = frozenset({"model", "provider", "name", "kind", "status_code"})


@dataclass(frozen=True, slots=True)
class DashboardForm:
    """The dashboard's query values, as typed."""

    window: str = "all"
    bucket: str = "auto"
    split: str = ""
    split_metric: str = DEFAULT_SPLIT_METRIC
    start: str = ""
    end: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> "DashboardForm":
        """Read the form from the query string (blank values take the defaults)."""
        return cls(
            window=params.get("window", "").strip() or "all",
            bucket=params.get("bucket", "").strip() or "auto",
            split=params.get("split", "").strip(),
            split_metric=params.get("split_metric", "").strip() or DEFAULT_SPLIT_METRIC,
            start=params.get("start", "").strip(),
            end=params.get("end", "").strip(),
        )


@dataclass(frozen=True, slots=True)
class PanelView:
    """A drawn panel: chart, legend, and where to analyse its metric by segment."""

    id: str
    title: str
    chart: LineChart
    legend: tuple[tuple[str, str], ...]
    segments_url: str


def build_dashboard_router(render: Renderer) -> APIRouter:
    """The dashboard route, bound to a renderer."""
    router = APIRouter(include_in_schema=False)

    @router.get("/ui/projects/{project}/dashboard", response_class=HTMLResponse)
    async def dashboard_page(request: Request, project: str) -> Response:
        query = app_metrics(request)
        summary = await find_project(query, project)
        if summary is None:
            return render.not_found(request, f"There is no project named “{project}”.")
        form = DashboardForm.from_params(request.query_params)
        base = {"title": f"{project} · dashboard", "project": project, "form": form,
                "windows": WINDOW_LABELS, "buckets": BUCKET_CHOICES, "keys": KEY_SUGGESTIONS,
                "split_metrics": SPLIT_METRICS, "panels": [], "split_panel": None,
                "errors": [], "window": None, "nav": "dashboard"}  # fmt: skip
        try:
            context = await dashboard_context(query, summary, form)
        except InvalidInput as e:
            base["errors"] = error_lines(e)
            return render.page(request, "dashboard.html", base, status_code=400)
        return render.page(request, "dashboard.html", base | context)

    return router


async def dashboard_context(
    query: QueryService, summary: ProjectSummary, form: DashboardForm
) -> dict[str, Any]:
    """Query the panels' metrics over the window and lay out the charts.

    Raises:
        InvalidInput: a bad window, bucket, split key or split metric.
    """
    window = resolve_window(
        form.window, form.bucket, summary.first_seen, summary.last_seen, form.start, form.end
    )
    if form.split_metric not in SPLIT_METRICS:
        allowed = ", ".join(SPLIT_METRICS)
        error = FieldError("split_metric", f"one of {allowed}")
        raise InvalidInput("unknown split metric", [error])
    frames = await _frames(query, summary.name, window, form)
    panels = [_panel_view(p, frames[p.roots], window, form, summary.name) for p in PANELS]
    split_panel = None
    if form.split and "split" in frames:
        split_panel = _split_view(frames["split"], window, form, summary.name)
    return {"window": window, "panels": panels, "split_panel": split_panel}


async def _frames(
    query: QueryService, project: ProjectName, window: Window, form: DashboardForm
) -> dict[object, MetricFrame]:
    if not window.has_data:
        empty = MetricFrame((), (), [])
        return {True: empty, False: empty}

    def q(metrics: tuple[str, ...], roots: bool, group: tuple[str, ...] = ()) -> MetricQuery:
        return MetricQuery(
            project=project,
            metrics=tuple(parse_metric(m) for m in metrics),
            time=window.time_range(),
            bucket=window.bucket,
            group_by=group,
            where=SpanFilter(root_only=roots),
            max_groups=MAX_SPLIT_GROUPS,
        )

    keys: list[object] = [True, False]
    queries = [
        q(tuple(m for p in PANELS if p.roots is roots for m in p.metrics), roots)
        for roots in (True, False)
    ]
    if form.split:
        keys.append("split")
        panel = SPLIT_METRICS[form.split_metric][0]
        roots = panel.roots and form.split not in SPAN_LEVEL_KEYS
        queries.append(q((form.split_metric,), roots, (form.split,)))
    results = await asyncio.gather(*(query.metric(x) for x in queries))
    return dict(zip(keys, results, strict=True))


def _segments_url(
    project: str, metric: str, window: Window, form: DashboardForm, roots: bool
) -> str:
    """The segment page on the chart's metric and scope: a chart of trace roots links to
    root spans only, so the page's overall value is the chart's."""
    params = [("metric", metric), ("key", form.split or DEFAULT_SEGMENT_KEY),
              *window.page_params()]  # fmt: skip
    if roots:
        params.append(("root_only", "1"))
    return page_url(project, "segments", params)


def _panel_view(
    panel: Panel, frame: MetricFrame, window: Window, form: DashboardForm, project: str
) -> PanelView:
    series: list[Series] = []
    if window.start is not None and window.end is not None and frame.rows:
        fill = bucket_starts(window.start, window.end, window.bucket)
        for metric, name in zip(panel.metrics, panel.names, strict=True):
            series.append(metric_series(frame, metric, name, fill if metric == "count" else ()))
    link = point_link(project, window, panel.roots, panel.metrics[-1])
    chart = _chart(series, window, panel.metrics[-1], panel.area, link=link)
    main = "error:rate" if panel.id == "volume" else panel.metrics[min(1, len(panel.metrics) - 1)]
    roots = panel.roots and form.split not in SPAN_LEVEL_KEYS
    return PanelView(
        panel.id, panel.title, chart, _legend(chart),
        _segments_url(project, main, window, form, roots),
    )  # fmt: skip


def _split_view(frame: MetricFrame, window: Window, form: DashboardForm, project: str) -> PanelView:
    metric = form.split_metric
    series = group_series(frame, metric, zero_fill=metric == "count")
    if form.split in SPAN_LEVEL_KEYS:  # spans without a model are not a model
        series = [s for s in series if s.name != NONE_GROUP]
    panel, name = SPLIT_METRICS[metric]
    segment_metric = "error:rate" if metric == "count" else metric
    roots = panel.roots and form.split not in SPAN_LEVEL_KEYS
    link = point_link(project, window, roots, metric, form.split)
    chart = _chart(series, window, metric, area=False, width=1200.0, link=link)
    return PanelView(
        "split", f"{panel.title.split(' (')[0]} · {name} by {form.split}", chart, _legend(chart),
        _segments_url(project, segment_metric, window, form, roots),
    )  # fmt: skip


def _chart(
    series: list[Series], window: Window, metric: str, area: bool, width: float = 600.0,
    link: PointLink | None = None,
) -> LineChart:  # fmt: skip
    if window.start is None or window.end is None:
        return line_chart([], EPOCH, EPOCH + window.bucket, window.bucket, str)
    return line_chart(series, window.start, window.end, window.bucket, formatter_for(metric),
                      area=area and len(series) == 1, width=width, link=link)  # fmt: skip


def _legend(chart: LineChart) -> tuple[tuple[str, str], ...]:
    return tuple((line.name, line.color) for line in chart.lines)
