"""Human annotation: per-project annotation config, bulk annotate, edit and delete one's own.

``GET``/``PUT /api/v1/projects/{project}/annotation-config`` read and replace the names
people may annotate with and their labels (``{"annotations": [{"name": "correctness",
"labels": ["correct", "incorrect"]}]}``; an empty list removes the config).
``POST /api/v1/projects/{project}/annotations`` annotates one or many spans (``span_ids``)
with a name and a label, score or note, as the calling key (or UI login): the annotator.
``PATCH``/``DELETE /api/v1/annotations/{annotation_id}`` change or delete an annotation;
only its annotator may (403 otherwise). Names and labels outside the config are refused
with the nearest configured ones.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from llmpulse.domain.errors import NotFound
from llmpulse.domain.ids import ProjectName, SpanId
from llmpulse.governance.annotations import MAX_BULK, AnnotationKind, HumanInput
from llmpulse.governance.sessions import annotator, sees
from llmpulse.server.deps import get_services
from llmpulse.server.routes.models import AnnotationOut
from llmpulse.server.services import Services

router = APIRouter(prefix="/api/v1", tags=["annotations"])


class AnnotationKindIO(BaseModel):
    """An annotation name and its allowed labels (empty: any label)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=256)
    labels: list[str] = Field(default=[], max_length=50)


class AnnotationConfigIO(BaseModel):
    """A project's annotation names and labels."""

    model_config = ConfigDict(extra="forbid")

    annotations: list[AnnotationKindIO] = Field(max_length=100)


class HumanAnnotationIn(BaseModel):
    """A label, score or note by the caller on one or more spans."""

    model_config = ConfigDict(extra="forbid")

    span_ids: list[str] = Field(min_length=1, max_length=MAX_BULK)
    name: str = Field(min_length=1, max_length=256)
    label: str | None = Field(None, max_length=4096)
    score: float | None = Field(None, allow_inf_nan=False)
    note: str | None = Field(None, max_length=100_000)


class AnnotationChangeIn(BaseModel):
    """The new label, score and note of an annotation (the name stays)."""

    model_config = ConfigDict(extra="forbid")

    label: str | None = Field(None, max_length=4096)
    score: float | None = Field(None, allow_inf_nan=False)
    note: str | None = Field(None, max_length=100_000)


class AnnotationsOut(BaseModel):
    """Annotations made."""

    data: list[AnnotationOut]


def _io(kinds: tuple[AnnotationKind, ...]) -> AnnotationConfigIO:
    return AnnotationConfigIO(
        annotations=[AnnotationKindIO(name=k.name, labels=list(k.labels)) for k in kinds]
    )


async def _visible(request: Request, annotation_id: str, services: Services) -> None:
    """404 unless the annotation exists in a project the caller's key sees."""
    found = await asyncio.to_thread(services.events.get_annotation, annotation_id)
    if found is None or not sees(request, found.project):
        raise NotFound(f"annotation {annotation_id!r} does not exist")


@router.get("/projects/{project}/annotation-config")
async def get_annotation_config(
    project: str, services: Annotated[Services, Depends(get_services)]
) -> AnnotationConfigIO:
    """The project's annotation names and labels (an empty list: any name and label)."""
    return _io(await services.annotations.config(ProjectName(project)))


@router.put("/projects/{project}/annotation-config")
async def put_annotation_config(
    project: str, body: AnnotationConfigIO, services: Annotated[Services, Depends(get_services)]
) -> AnnotationConfigIO:
    """Replace the project's annotation names and labels (an empty list removes them)."""
    kinds = [AnnotationKind(k.name, tuple(k.labels)) for k in body.annotations]
    return _io(await services.annotations.set_config(ProjectName(project), kinds))


@router.post("/projects/{project}/annotations")
async def annotate_spans(
    request: Request,
    project: str,
    body: HumanAnnotationIn,
    services: Annotated[Services, Depends(get_services)],
) -> AnnotationsOut:
    """Annotate one or many spans of the project as the caller (bulk annotation)."""
    item = HumanInput(body.name, body.label, body.score, body.note)
    ids = [SpanId(s.lower()) for s in body.span_ids]
    made = await services.annotations.add(ProjectName(project), ids, item, annotator(request))
    return AnnotationsOut(data=[AnnotationOut.from_domain(a) for a in made])


@router.patch("/annotations/{annotation_id}")
async def edit_annotation(
    request: Request,
    annotation_id: str,
    body: AnnotationChangeIn,
    services: Annotated[Services, Depends(get_services)],
) -> AnnotationOut:
    """Change one's own annotation: its label, score and note are replaced."""
    await _visible(request, annotation_id, services)
    item = HumanInput("", body.label, body.score, body.note)
    new = await services.annotations.edit(annotation_id, item, annotator(request))
    return AnnotationOut.from_domain(new)


@router.delete("/annotations/{annotation_id}")
async def delete_annotation(
    request: Request, annotation_id: str, services: Annotated[Services, Depends(get_services)]
) -> AnnotationOut:
    """Delete one's own annotation; answers with what was deleted."""
    await _visible(request, annotation_id, services)
    old = await services.annotations.delete(annotation_id, annotator(request))
    return AnnotationOut.from_domain(old)
