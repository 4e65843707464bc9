"""Explain what a triggering policy picks (issue 13, item 7): all, a sample, low confidence,
or specific workflows (`llmpulse.domain.triggering`).

`explain_selected` walks a project's spans in a window (predictions for structured decisions,
LLM spans for RAG answers), applies the policy to each (pure ``decide``), explains and records
the picked ones and counts the rest by the reason they were skipped.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from llmpulse.domain.errors import LlmpulseError
from llmpulse.domain.explain_policy import ExplainPolicy
from llmpulse.domain.ids import ProjectName, TraceId
from llmpulse.domain.spans import Span, SpanKind
from llmpulse.domain.triggering import TriggeringPolicy, decide, target_of
from llmpulse.explain.prediction_rows import row_of
from llmpulse.explain.rag_case import case_from_trace
from llmpulse.explain.wiring import Explainers
from llmpulse.query.service import QueryService
from llmpulse.store.api import SpanQuery, StateStore, TimeRange

PAGE = 500
POLICY_KIND = "explain.policy"
_REASONS = (("confidence", "confidence"), ("no confidence", "confidence"), ("not in the", "sample"),
            ("workflow", "workflow"), ("kind", "kind"), ("name", "name"))  # fmt: skip

ALL_TIME = TimeRange()
Route = Callable[[Span, str], Awaitable[None]]


def reason_class(reason: str) -> str:
    """The condition a skip reason names: confidence, sample, workflow, kind, name, attribute."""
    return next((c for prefix, c in _REASONS if reason.startswith(prefix)), "attribute")


async def explain_selected(
    ex: Explainers,
    query: QueryService,
    project: str,
    policy: TriggeringPolicy,
    *,
    target: str = "predictions",
    time: TimeRange = ALL_TIME,
    limit: int = 1000,
    route: Route | None = None,
) -> dict[str, Any]:
    """Explain the spans the policy picks, up to ``limit`` of them; count the others.

    Args:
        ex: The explainers.
        query: Reads spans.
        project: The project.
        policy: Which spans to explain.
        target: ``predictions`` (SHAP) or ``answers`` (RAG attribution of LLM spans).
        time: The window.
        limit: Most explanations made.
        route: Called with each explained span and its record id (to queue it for review).

    Returns:
        ``{"seen", "selected", "explained", "failed", "skipped": {reason: n}, "records",
        "routed"}``.
    """
    kind = SpanKind.PREDICTION if target == "predictions" else SpanKind.LLM
    skipped: Counter[str] = Counter()
    records: list[str] = []
    failed: list[dict[str, str]] = []
    seen = selected = routed = 0
    cursor: str | None = None
    table = await ex.structured.reason_table(project) if kind == SpanKind.PREDICTION else None
    while len(records) < limit:
        page = await query.list_spans(
            SpanQuery(ProjectName(project), time=time, kinds=(kind,), limit=PAGE, cursor=cursor),
            keep=False,
        )
        for span in page.items:
            seen += 1
            verdict = decide(policy, target_of(span, policy))
            if not verdict.selected:
                skipped[reason_class(verdict.reason)] += 1
                continue
            selected += 1
            if len(records) >= limit:
                continue
            try:
                if table is not None:  # the listed span is the prediction: no second read
                    _, rec = await ex.structured.explain_row(project, row_of(span), table)
                else:
                    trace = await query.get_trace(TraceId(span.trace_id))
                    case = case_from_trace(trace.spans, span.span_id)
                    _, rec = await ex.rag.attribute(project, case)
            except LlmpulseError as exc:
                failed.append({"span_id": span.span_id, "error": exc.detail})
                continue
            if rec is not None:
                records.append(rec.record_id)
                if route is not None:
                    await route(span, rec.record_id)
                    routed += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    return {
        "seen": seen,
        "selected": selected,
        "explained": len(records),
        "failed": failed,
        "skipped": dict(skipped),
        "records": records,
        "routed": routed,
    }


async def stored_policy(state: StateStore, project: str) -> ExplainPolicy:
    """The project's stored policy (explain every prediction when none was set)."""
    doc = await asyncio.to_thread(state.get_document, POLICY_KIND, project)
    if doc is None:
        return ExplainPolicy(project=project)
    return ExplainPolicy.model_validate_json(doc.body)


async def store_policy(state: StateStore, policy: ExplainPolicy, now: datetime) -> ExplainPolicy:
    """Replace the project's stored policy."""
    body = policy.model_dump_json()
    await asyncio.to_thread(state.put_document, POLICY_KIND, policy.project, body, now)
    return policy
