"""Predictions: ``POST /api/v1/projects/{project}/predictions`` (the SDK's ``log``).

Each record is validated on its own; a bad record is reported in ``rejected`` with its field
path and the good ones become spans of kind PREDICTION. A 200 means they are durable.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import AfterValidator, BaseModel, Field

from llmpulse.domain.ids import ProjectName, check_project_name
from llmpulse.server.deps import get_services
from llmpulse.server.routes.annotations import RejectedItem
from llmpulse.server.services import Services

router = APIRouter(prefix="/api/v1", tags=["predictions"])


class PredictionBatchIn(BaseModel):
    """Up to 10,000 prediction records (fields: see the SDK's `Client.log`)."""

    records: list[dict[str, Any]] = Field(max_length=10_000)


class PredictionBatchOut(BaseModel):
    """How many records were stored and which were rejected."""

    accepted: int
    rejected: list[RejectedItem]


@router.post(
    "/projects/{project}/predictions",
    responses={503: {"description": "Ingest queue full; retry after Retry-After seconds"}},
)
async def log_predictions(
    project: Annotated[
        str, Field(min_length=1, max_length=256), AfterValidator(check_project_name)
    ],
    body: PredictionBatchIn,
    services: Annotated[Services, Depends(get_services)],
) -> PredictionBatchOut:
    """Store predictions as spans; bad records are reported, good ones stored."""
    parsed = await services.ingest.log_predictions(ProjectName(project), body.records)
    return PredictionBatchOut(
        accepted=len(parsed.accepted),
        rejected=[
            RejectedItem(index=r.index, path=r.path, message=r.message) for r in parsed.rejected
        ],
    )
