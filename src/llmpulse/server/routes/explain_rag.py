"""RAG explanations, "why this answer?" and policy-triggered explanation (items 4, 6, 7).

``POST /api/v1/projects/{project}/explanations/rag`` attributes an answer (of a stored trace, or
given inline) to its chunks and sentences (``contextcite`` over the configured log-prob
endpoint, or ``lexical`` offline); ``POST .../explanations/rag/what-if`` drops or replaces
chunks and records how the answer and its evaluation change; ``GET .../why/prediction/{id}``
and ``GET .../why/span/{id}`` are the compact end-user answers; ``POST .../explanations/run``
explains what a triggering policy picks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.explain_policy import ExplainPolicy
from llmpulse.domain.ids import ProjectName, SpanId, TraceId
from llmpulse.domain.spans import Span, SpanKind
from llmpulse.domain.triggering import TriggeringPolicy
from llmpulse.evals.review import Verdict
from llmpulse.explain.rag_case import MAX_CHUNKS, RagCase, case_from_trace
from llmpulse.explain.triggered import Route, explain_selected, store_policy, stored_policy
from llmpulse.explain.why import why_prediction, why_span
from llmpulse.server.deps import get_services
from llmpulse.server.routes.explanations import ExplanationOut, ExternalIds
from llmpulse.server.routes.params import time_range
from llmpulse.server.services import Services

router = APIRouter(prefix="/api/v1", tags=["explanations"])
Svc = Annotated[Services, Depends(get_services)]
REVIEW_RULE = "explain.policy"


class RagSubject(BaseModel):
    """A stored answer (``trace_id``, optionally ``span_id``) or an inline one."""

    model_config = ConfigDict(extra="forbid")

    trace_id: str | None = Field(None, pattern=r"^[0-9a-fA-F]{32}$")
    span_id: str | None = Field(None, pattern=r"^[0-9a-fA-F]{16}$")
    question: str | None = Field(None, max_length=100_000)
    answer: str | None = Field(None, max_length=100_000)
    chunks: list[str] | None = Field(None, max_length=MAX_CHUNKS)
    external_ids: ExternalIds


class RagIn(RagSubject):
    """How to attribute the answer."""

    method: Literal["auto", "contextcite", "embedding", "lexical"] = "auto"
    n_ablations: int = Field(32, ge=2, le=512)


class WhatIfIn(RagSubject):
    """Which chunks to drop or replace (by index in retrieval order)."""

    drop: list[int] = Field(default_factory=list, max_length=MAX_CHUNKS)
    replace: dict[int, str] = Field(default_factory=dict, max_length=MAX_CHUNKS)


async def _case(services: Services, body: RagSubject) -> RagCase:
    if body.answer is not None or body.chunks is not None:
        if body.trace_id or body.span_id:
            raise InvalidInput(
                "give a trace or an inline answer", [FieldError("trace_id", "not both")]
            )
        return RagCase(body.question or "", body.answer or "", tuple(body.chunks or ()))
    trace_id = body.trace_id
    if trace_id is None and body.span_id is not None:
        trace_id = (await services.query.get_span(SpanId(body.span_id))).trace_id
    if trace_id is None:
        raise InvalidInput("nothing to explain", [FieldError("trace_id", "or span_id, or answer")])
    trace = await services.query.get_trace(TraceId(trace_id.lower()))
    return case_from_trace(trace.spans, body.span_id.lower() if body.span_id else None)


@router.post("/projects/{project}/explanations/rag")
async def explain_rag(project: str, body: RagIn, services: Svc) -> ExplanationOut:
    """Attribution of the answer to each chunk and, per answer sentence, its supporting chunks;
    stored as a record linked to the answer's span and the external ids."""
    await services.query.require_project(ProjectName(project))
    case = await _case(services, body)
    out, rec = await services.explainers.rag.attribute(
        project, case, method=body.method, n_ablations=body.n_ablations,
        external_ids=body.external_ids,
    )  # fmt: skip
    return ExplanationOut(record_id=rec.record_id if rec else None, explanation=out)


@router.post("/projects/{project}/explanations/rag/what-if")
async def rag_what_if(project: str, body: WhatIfIn, services: Svc) -> ExplanationOut:
    """Regenerate the answer without (or with replaced) chunks through the endpoint and record
    how the answer and its lexical grounding change."""
    await services.query.require_project(ProjectName(project))
    case = await _case(services, body)
    out, rec = await services.explainers.rag.what_if(
        project, case, drop=body.drop, replace=body.replace, external_ids=body.external_ids
    )
    return ExplanationOut(record_id=rec.record_id, explanation=out)


@router.get("/projects/{project}/why/prediction/{prediction_id}")
async def why_prediction_route(project: str, prediction_id: str, services: Svc) -> dict[str, Any]:
    """Why this decision: the decision and its top reasons, compact, for end users."""
    await services.query.require_project(ProjectName(project))
    return await why_prediction(services.explainers, project, prediction_id)


@router.get("/projects/{project}/why/span/{span_id}")
async def why_span_route(project: str, span_id: str, services: Svc) -> dict[str, Any]:
    """Why this answer: the supporting sources with scores, and per sentence, for end users."""
    await services.query.require_project(ProjectName(project))
    return await why_span(services.explainers, services.query, project, span_id.lower())


class RunIn(BaseModel):
    """Explain what a triggering policy picks in a window (the stored one when not given)."""

    model_config = ConfigDict(extra="forbid")

    policy: TriggeringPolicy | None = None
    target: Literal["predictions", "answers"] | None = None
    start: datetime | None = None
    end: datetime | None = None
    limit: int = Field(1000, ge=1, le=100_000)
    review_queue: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        description="queue each explained span for review (the stored policy's when not given)",
    )


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _review_route(services: Services, project: str, queue: str) -> Route:
    """The ``route`` callback of `explain_selected` that queues each explained span on
    ``queue``, with its "why" (and the explanation record id) attached: the explainers and the
    review queues are independent services, joined here."""

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
                rule=REVIEW_RULE,
            )
        else:
            why = await why_span(services.explainers, services.query, project, span.span_id)
            verdict = Verdict(name="answer", rule=REVIEW_RULE)
        why["record_id"] = record_id
        await services.evals.review.enqueue(queue, span, verdict, why)

    return route


@router.post("/projects/{project}/explanations/run")
async def run_policy(project: str, body: RunIn, services: Svc) -> dict[str, Any]:
    """Apply the policy (all, sample, low confidence, workflows) and explain the picked spans;
    the others are counted by the condition that skipped them."""
    await services.query.require_project(ProjectName(project))
    stored = await stored_policy(services.state, project)
    target = body.target or stored.target
    queue = body.review_queue or stored.review_queue
    return await explain_selected(
        services.explainers, services.query, project, body.policy or stored.policy,
        target=target, time=time_range(body.start, body.end), limit=body.limit,
        route=_review_route(services, project, queue) if queue else None,
    )  # fmt: skip


class PolicyIn(BaseModel):
    """A project's explanation policy (the body of a ``kind: ExplainPolicy`` file)."""

    model_config = ConfigDict(extra="forbid")

    target: Literal["predictions", "answers"] = "predictions"
    policy: TriggeringPolicy = Field(default_factory=TriggeringPolicy)
    review_queue: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@router.get("/projects/{project}/explanations/policy")
async def get_policy(project: str, services: Svc) -> ExplainPolicy:
    """The project's explanation policy (every prediction when none was set)."""
    await services.query.require_project(ProjectName(project))
    return await stored_policy(services.state, project)


@router.put("/projects/{project}/explanations/policy")
async def put_policy(project: str, body: PolicyIn, services: Svc) -> ExplainPolicy:
    """Replace the project's explanation policy (used by ``explanations/run``)."""
    await services.query.require_project(ProjectName(project))
    policy = ExplainPolicy(
        project=project, target=body.target, policy=body.policy, review_queue=body.review_queue
    )
    return await store_policy(services.state, policy, services.clock.now())
