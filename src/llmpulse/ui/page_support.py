"""What the dashboard and analysis pages share: project lookup, suggestions, links, errors."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from urllib.parse import urlencode

from llmpulse.domain.errors import InvalidInput
from llmpulse.query.service import ProjectSummary, QueryService
from llmpulse.ui.templating import path_quote
from llmpulse.ui.windows import Window

KEY_SUGGESTIONS = (
    "metadata.tier", "metadata.region", "metadata.product_line", "metadata.intent", "model",
    "version", "environment", "name", "provider",
)  # fmt: skip
FEEDBACK_METRIC = "annotation.feedback.label=thumbs_down:rate"
EVAL_METRIC = "annotation.hallucination.score:mean"
METRIC_SUGGESTIONS = (
    "latency_ms:p95", "latency_ms:p50", "latency_ms:p99", "latency_ms:mean", "error:rate",
    "cost_usd:mean", "cost_usd:sum", "total_tokens:mean", "total_tokens:sum", FEEDBACK_METRIC,
    "annotation.feedback.label=thumbs_up:rate", EVAL_METRIC,
)  # fmt: skip
# Keys that are typed filters of the traces page rather than ``attr=key:value`` pairs.
TYPED_TRACE_FILTERS = {"model": "model", "name": "name", "status_code": "status", "kind": "kind"}


async def find_project(query: QueryService, project: str) -> ProjectSummary | None:
    """The project's summary (with first/last seen), or None when it does not exist."""
    for p in await query.list_projects():
        if p.name == project:
            return p
    return None


def error_lines(e: InvalidInput) -> list[str]:
    """One line per field problem, else the error's detail."""
    return [f"{fe.path}: {fe.message}" for fe in e.errors] or [e.detail]


def page_url(project: str, page: str, params: Iterable[tuple[str, str]] = ()) -> str:
    """``/ui/projects/{project}/{page}?…`` with empty values left out."""
    query = urlencode([(k, v) for k, v in params if v != ""])
    return f"/ui/projects/{path_quote(project)}/{page}" + (f"?{query}" if query else "")


def traces_url(
    project: str, keys: Sequence[tuple[str, str]], window: Window | None, all_spans: bool = True
) -> str:
    """The traces page filtered to one slice (``key=value`` pairs) within the window."""
    params: list[tuple[str, str]] = [("all", "1")] if all_spans else []
    for key, value in keys:
        typed = TYPED_TRACE_FILTERS.get(key)
        params.append((typed, value) if typed else ("attr", f"{key}:{value}"))
    if window is not None:
        params.extend(window.trace_params())
    return page_url(project, "traces", params)


def slice_label(keys: Sequence[tuple[str, str]]) -> str:
    """``metadata.tier=free ∧ model=gpt-4o``."""
    return " ∧ ".join(f"{k}={v}" for k, v in keys)
