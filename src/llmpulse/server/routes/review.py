"""Human review queues and judge-versus-human agreement (issue 13, item 8).

``GET /api/v1/projects/{project}/review-items`` (``?queue=&status=``), ``GET .../review-items/
{id}``, ``POST .../review-items/{id}/claim``, ``POST .../review-items/{id}/resolve`` (the human
label lands as a HUMAN annotation under the judge's annotation name) and
``GET /api/v1/projects/{project}/eval-agreement?name=`` (raw agreement, confusion counts and
Cohen's kappa between judge and human labels of that name).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel, Field

from llmpulse.domain.ids import ProjectName
from llmpulse.evals.agreement import judge_human_agreement
from llmpulse.evals.review import ItemStatus, ReviewItem
from llmpulse.server.deps import get_services
from llmpulse.server.services import Services
from llmpulse.store.api import TimeRange

router = APIRouter(prefix="/api/v1", tags=["evaluations"])
Svc = Annotated[Services, Depends(get_services)]


class ReviewItemList(BaseModel):
    """A project's review items, oldest first."""

    data: list[ReviewItem]


class ClaimIn(BaseModel):
    """Who claims the item."""

    reviewer: str = Field(min_length=1, max_length=200)


class ResolveIn(BaseModel):
    """A reviewer's verdict: the human label and an optional note."""

    reviewer: str = Field(min_length=1, max_length=200)
    label: str = Field(min_length=1, max_length=200, pattern=r"\S")
    note: str | None = Field(None, max_length=10_000)


class AgreementOut(BaseModel):
    """Judge x human agreement; ``confusion[i][j]``: judge said labels[i], human labels[j]."""

    name: str
    items: int
    agreement: float | None
    kappa: float | None
    labels: list[str]
    confusion: list[list[int]]


@router.get("/projects/{project}/review-items")
async def list_review_items(
    project: str, services: Svc, queue: str | None = None, status: ItemStatus | None = None
) -> ReviewItemList:
    """The project's review items (of one queue, in one status)."""
    await services.query.require_project(ProjectName(project))
    items = await services.evals.review.list_items(ProjectName(project), queue, status)
    return ReviewItemList(data=items)


@router.get("/projects/{project}/review-items/{item_id}")
async def get_review_item(project: str, item_id: str, services: Svc) -> ReviewItem:
    """One item, with its verdict and explanation."""
    return await services.evals.review.get(ProjectName(project), item_id)


@router.post("/projects/{project}/review-items/{item_id}/claim")
async def claim_review_item(project: str, item_id: str, body: ClaimIn, services: Svc) -> ReviewItem:
    """Claim an open item (409 when another reviewer holds it or it is resolved)."""
    return await services.evals.review.claim(ProjectName(project), item_id, body.reviewer)


@router.post("/projects/{project}/review-items/{item_id}/resolve")
async def resolve_review_item(
    project: str, item_id: str, body: ResolveIn, services: Svc
) -> ReviewItem:
    """Resolve an item with a human label (409 when resolved or claimed by another)."""
    return await services.evals.review.resolve(
        ProjectName(project), item_id, body.reviewer, body.label, body.note
    )


@router.get("/projects/{project}/eval-agreement")
async def eval_agreement(
    project: str,
    services: Svc,
    name: Annotated[str, Query(min_length=1, max_length=200)],
    start: AwareDatetime | None = None,
    end: AwareDatetime | None = None,
) -> AgreementOut:
    """Judge-versus-human agreement on annotations called ``name``."""
    await services.query.require_project(ProjectName(project))
    out: dict[str, Any] = await judge_human_agreement(
        services.query, ProjectName(project), name, TimeRange(start, end)
    )
    return AgreementOut(**out)
