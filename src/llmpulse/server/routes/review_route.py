"""Route what an explanation policy explained to a review queue (issue 13, items 7-8).

The explainers and the review queues are independent services; the server joins them here:
each explained span goes to the queue with its "why" (and the record id) attached.
"""

from __future__ import annotations

from typing import Any

from llmpulse.domain.spans import Span, SpanKind
from llmpulse.evals.review import Verdict
from llmpulse.explain.triggered import Route
from llmpulse.explain.why import why_prediction, why_span
from llmpulse.server.services import Services

RULE = "explain.policy"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def review_route(services: Services, project: str, queue: str) -> Route:
    """A ``route`` callback for `explain_selected` that queues spans on ``queue``."""

    async def route(span: Span, record_id: str) -> None:
        why: dict[str, Any]
        if span.kind == SpanKind.PREDICTION and span.prediction_id is not None:
            why = await why_prediction(services.explainers, project, str(span.prediction_id))
            decision = why.get("decision")
            prediction = why.get("prediction")
            verdict = Verdict(
                name="decision",
                label=None if decision is None else _text(decision),
                score=float(prediction) if isinstance(prediction, int | float) else None,
                rule=RULE,
            )
        else:
            why = await why_span(services.explainers, services.query, project, span.span_id)
            verdict = Verdict(name="answer", rule=RULE)
        why["record_id"] = record_id
        await services.evals.review.enqueue(queue, span, verdict, why)

    return route
