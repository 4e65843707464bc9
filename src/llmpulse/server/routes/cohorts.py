"""Saved cohorts: named filter expressions (``tier = 'enterprise' and region in ('eu-west')``).

``GET /api/v1/projects/{project}/cohorts``, ``PUT|GET|DELETE .../cohorts/{name}``, and
``POST .../cohorts/apply`` (config-as-code: the whole list at once, all or nothing). A cohort
filters any metric or segment query (``cohort=<name>``) and can be compared with the rest of
the traffic as a segment key (``key=cohort:<name>``). Grammar: `llmpulse.domain.cohorts`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import AfterValidator, BaseModel, Field

from llmpulse.domain.cohorts import Cohort
from llmpulse.domain.ids import ProjectName, check_project_name
from llmpulse.domain.specs import CohortSpec
from llmpulse.server.deps import get_services
from llmpulse.server.services import Services

router = APIRouter(prefix="/api/v1", tags=["cohorts"])


class CohortIn(BaseModel):
    """A cohort's definition."""

    expression: str = Field(min_length=1, max_length=4000)
    description: str = Field("", max_length=2000)


class ConditionOut(BaseModel):
    """One parsed condition."""

    key: str
    op: str
    values: list[str]


class CohortOut(BaseModel):
    """A saved cohort."""

    name: str
    expression: str
    description: str
    conditions: list[ConditionOut]

    @classmethod
    def from_domain(cls, c: Cohort) -> CohortOut:
        """Map a cohort."""
        return cls(
            name=c.name,
            expression=c.expression,
            description=c.description,
            conditions=[
                ConditionOut(key=x.key, op=x.op, values=list(x.values)) for x in c.conditions
            ],
        )


class CohortList(BaseModel):
    """Every cohort of a project."""

    data: list[CohortOut]


@router.get("/projects/{project}/cohorts")
async def list_cohorts(
    project: str, services: Annotated[Services, Depends(get_services)]
) -> CohortList:
    """The project's saved cohorts."""
    cohorts = await services.cohorts.list(ProjectName(project))
    return CohortList(data=[CohortOut.from_domain(c) for c in cohorts])


@router.put("/projects/{project}/cohorts/{name}")
async def put_cohort(
    project: Annotated[str, AfterValidator(check_project_name)],
    name: str,
    body: CohortIn,
    services: Annotated[Services, Depends(get_services)],
) -> CohortOut:
    """Create or replace a cohort."""
    c = await services.cohorts.put(ProjectName(project), name, body.expression, body.description)
    return CohortOut.from_domain(c)


@router.get("/projects/{project}/cohorts/{name}")
async def get_cohort(
    project: str, name: str, services: Annotated[Services, Depends(get_services)]
) -> CohortOut:
    """One cohort."""
    return CohortOut.from_domain(await services.cohorts.get(ProjectName(project), name))


@router.delete("/projects/{project}/cohorts/{name}", status_code=204)
async def delete_cohort(
    project: str, name: str, services: Annotated[Services, Depends(get_services)]
) -> None:
    """Delete a cohort."""
    await services.cohorts.delete(ProjectName(project), name)


class CohortApplyIn(BaseModel):
    """A project's desired cohorts (the ``cohorts`` of a ``kind: CohortList`` file)."""

    cohorts: list[CohortSpec] = Field(default_factory=list, max_length=1000)
    prune: bool = False  # delete the project's cohorts that are not in the list
    dry_run: bool = False  # only plan


class CohortPlanOut(BaseModel):
    """What applying changed (or would change, on a dry run)."""

    create: list[str]
    update: list[str]
    unchanged: list[str]
    delete: list[str]
    applied: bool


@router.post("/projects/{project}/cohorts/apply")
async def apply_cohorts(
    project: str, body: CohortApplyIn, services: Annotated[Services, Depends(get_services)]
) -> CohortPlanOut:
    """Make the project's cohorts match the list in one transaction: all of it or nothing.

    404 when the project has received no spans; 400 naming ``cohorts[i].name`` when a name
    repeats, or ``cohorts[i].expression`` when an expression does not parse.
    """
    plan = await services.cohorts.apply(
        ProjectName(project), body.cohorts, prune=body.prune, dry_run=body.dry_run
    )
    return CohortPlanOut(
        create=plan.create,
        update=plan.update,
        unchanged=plan.unchanged,
        delete=plan.delete,
        applied=plan.applied,
    )
