"""Annotations: ``POST /api/v1/annotations`` (feedback, evaluations, late ground truth).

Each item is validated on its own: bad items are reported in ``rejected`` with their path and
the good ones are stored. An annotation names a span (``span_id``) or a logged prediction
(``prediction_id`` plus ``project``). A 200 means the stored annotations are durable.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from llmpulse.domain.ids import PredictionId, ProjectName, SpanId, check_project_name
from llmpulse.domain.predictions import AnnotatorKind, Evaluation
from llmpulse.governance.sessions import annotator
from llmpulse.server.deps import get_services
from llmpulse.server.services import Services

router = APIRouter(prefix="/api/v1", tags=["annotations"])
MAX_ITEMS = 10_000


class AnnotationIn(BaseModel):
    """One annotation to attach."""

    model_config = ConfigDict(extra="forbid")

    span_id: str | None = Field(None, pattern=r"^[0-9a-fA-F]{16}$")
    prediction_id: str | None = Field(None, min_length=1, max_length=512)
    project: Annotated[str, AfterValidator(check_project_name)] | None = Field(
        None, min_length=1, max_length=256
    )
    name: str = Field(min_length=1, max_length=256)
    label: str | None = Field(None, max_length=4096)
    score: float | None = Field(None, allow_inf_nan=False)
    explanation: str | None = Field(None, max_length=100_000)
    annotator_kind: Literal["HUMAN", "LLM", "CODE"] = "HUMAN"
    metadata: dict[str, Any] = {}

    @model_validator(mode="after")
    def _one_target(self) -> AnnotationIn:
        if (self.span_id is None) == (self.prediction_id is None):
            raise ValueError("give exactly one of span_id or prediction_id")
        if self.label is None and self.score is None and self.explanation is None:
            raise ValueError("give at least one of label, score or explanation")
        return self


class AnnotationBatchIn(BaseModel):
    """A batch of annotations; items are checked one by one."""

    data: list[dict[str, Any]] = Field(max_length=MAX_ITEMS)


class RejectedItem(BaseModel):
    """Why one item was not stored."""

    index: int
    path: str
    message: str


class AnnotationBatchOut(BaseModel):
    """What was stored and what was rejected."""

    inserted: int
    ids: list[str]
    rejected: list[RejectedItem]


def _first_error(index: int, exc: ValidationError) -> RejectedItem:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    path = f"data[{index}]" + (f".{loc}" if loc else "")
    return RejectedItem(index=index, path=path, message=err["msg"])


def _to_evaluation(item: AnnotationIn) -> Evaluation:
    return Evaluation(
        name=item.name,
        span_id=SpanId(item.span_id.lower()) if item.span_id else None,
        prediction_id=PredictionId(item.prediction_id) if item.prediction_id else None,
        project=ProjectName(item.project) if item.project else None,
        label=item.label,
        score=item.score,
        explanation=item.explanation,
        annotator_kind=AnnotatorKind(item.annotator_kind),
        metadata=item.metadata,
    )


@router.post(
    "/annotations",
    responses={503: {"description": "Ingest queue full; retry after Retry-After seconds"}},
)
async def create_annotations(
    request: Request,
    body: AnnotationBatchIn,
    services: Annotated[Services, Depends(get_services)],
) -> AnnotationBatchOut:
    """Attach annotations to spans or predictions; bad items are reported, good ones stored.

    A ``HUMAN`` annotation records the calling key as its annotator (``metadata.annotator``)
    unless the item names one."""
    valid: list[tuple[int, Evaluation]] = []
    rejected: list[RejectedItem] = []
    who = annotator(request)
    for i, raw in enumerate(body.data):
        try:
            ev = _to_evaluation(AnnotationIn.model_validate(raw))
            if ev.annotator_kind is AnnotatorKind.HUMAN and "annotator" not in ev.metadata:
                ev = replace(ev, metadata={**ev.metadata, "annotator": who})
            valid.append((i, ev))
        except ValidationError as exc:
            rejected.append(_first_error(i, exc))
    result = await services.ingest.annotate([ev for _, ev in valid])
    for k in result.unknown_spans:
        i, ev = valid[k]
        msg = f"span {ev.span_id} not found; give project to annotate a span not stored yet"
        rejected.append(RejectedItem(index=i, path=f"data[{i}].span_id", message=msg))
    for i, field, reason in result.unstorable:
        rejected.append(
            RejectedItem(index=valid[i][0], path=f"data[{valid[i][0]}].{field}", message=reason)
        )
    rejected.sort(key=lambda r: r.index)
    stored = result.annotations
    return AnnotationBatchOut(inserted=len(stored), ids=[a.id for a in stored], rejected=rejected)
