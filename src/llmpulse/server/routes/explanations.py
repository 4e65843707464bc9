"""Explanation records and structured-decision explanations (issue 13, items 3 and 5).

Records: ``GET /api/v1/projects/{project}/explanations`` (search by ``external_id=name:value``,
subject or method), ``GET .../explanations/records/{record_id}``, ``GET .../explanations/verify``
(recompute the hash chain). Predictions: ``POST .../explanations/predictions/{prediction_id}``
(SHAP contributions, decision and reason codes; stored as a record),
``POST .../counterfactual``, ``GET .../explanations/importance`` (global importance per window,
bucket and segment), ``GET|PUT .../explanations/reason-codes`` (the reason table).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from llmpulse.domain.errors import FieldError, InvalidInput, NotFound
from llmpulse.domain.explanations import ExplanationDraft, ExplanationRecord, SubjectKind
from llmpulse.domain.ids import ProjectName
from llmpulse.domain.reason_codes import ReasonCodes, ReasonSpec
from llmpulse.explain.records import inputs_hash
from llmpulse.server.deps import get_services
from llmpulse.server.routes.params import parse_bucket, time_range
from llmpulse.server.services import Services

router = APIRouter(prefix="/api/v1", tags=["explanations"])
Svc = Annotated[Services, Depends(get_services)]
ExternalIds = Annotated[dict[str, str], Field(default_factory=dict, max_length=20)]


class RecordOut(BaseModel):
    """One stored explanation record: its hashed body and its link in the chain."""

    record_id: str
    seq: int
    created_at: datetime
    previous_hash: str
    hash: str
    body: dict[str, Any]

    @classmethod
    def of(cls, r: ExplanationRecord) -> RecordOut:
        """Map a record."""
        return cls(
            record_id=r.record_id, seq=r.seq, created_at=r.created_at,
            previous_hash=r.previous_hash, hash=r.hash, body=dict(r.body),
        )  # fmt: skip


class RecordList(BaseModel):
    """Records, newest first."""

    data: list[RecordOut]


class VerifyOut(BaseModel):
    """Whether the project's chain of records holds."""

    ok: bool
    records: int
    head_hash: str
    first_bad_record: str | None
    reason: str


def _external(value: str | None) -> tuple[str, str] | None:
    if value is None:
        return None
    name, sep, v = value.partition(":")
    if not sep or not name.strip():
        raise InvalidInput("bad external_id", [FieldError("external_id", "use name:value")])
    return name.strip(), v.strip()


@router.get("/projects/{project}/explanations")
async def search_records(
    project: str,
    services: Svc,
    external_id: Annotated[str | None, Query(max_length=700)] = None,
    subject_kind: SubjectKind | None = None,
    subject_id: Annotated[str | None, Query(max_length=200)] = None,
    method: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> RecordList:
    """Explanation records of a project, newest first; ``external_id=case_id:C-17`` finds the
    records of one case."""
    await services.query.require_project(ProjectName(project))
    found = await services.explainers.records.search(
        project, subject_kind=subject_kind, subject_id=subject_id,
        external=_external(external_id), method=method, limit=limit,
    )  # fmt: skip
    return RecordList(data=[RecordOut.of(r) for r in found])


@router.get("/projects/{project}/explanations/records/{record_id}")
async def get_record(project: str, record_id: str, services: Svc) -> RecordOut:
    """One record (404 when it is not the project's)."""
    await services.query.require_project(ProjectName(project))
    rec = await services.explainers.records.get(record_id)
    if rec.body.get("project") != project:
        raise NotFound(f"explanation record {record_id!r} not found in {project!r}")
    return RecordOut.of(rec)


@router.get("/projects/{project}/explanations/verify")
async def verify_records(project: str, services: Svc) -> VerifyOut:
    """Recompute the project's hash chain; ``ok: false`` names the first bad record."""
    await services.query.require_project(ProjectName(project))
    check = await services.explainers.records.verify(project)
    return VerifyOut(
        ok=check.ok, records=check.records, head_hash=check.head_hash,
        first_bad_record=check.first_bad_record, reason=check.reason,
    )  # fmt: skip


class RecordIn(BaseModel):
    """An explanation computed elsewhere (an SDK what-if with the caller's own model)."""

    model_config = ConfigDict(extra="forbid")

    subject_kind: SubjectKind
    subject_id: str = Field(min_length=1, max_length=200)
    method: str = Field(min_length=1, max_length=64)
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any]
    model_versions: dict[str, str] = Field(default_factory=dict, max_length=20)
    external_ids: ExternalIds


@router.post("/projects/{project}/explanations/records", status_code=201)
async def add_record(project: str, body: RecordIn, services: Svc) -> RecordOut:
    """Store an explanation computed by the caller as the next record of the chain (the
    ``inputs`` are hashed, not stored)."""
    await services.query.require_project(ProjectName(project))
    draft = ExplanationDraft(
        project=project, subject_kind=body.subject_kind, subject_id=body.subject_id,
        method=body.method, inputs_hash=inputs_hash(body.inputs), outputs=body.outputs,
        model_versions=body.model_versions, external_ids=body.external_ids,
    )  # fmt: skip
    return RecordOut.of(await services.explainers.records.add(draft))


class ExplainIn(BaseModel):
    """How to explain one prediction."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["auto", "client", "surrogate"] = "auto"
    top_k: int = Field(4, ge=1, le=50)
    external_ids: ExternalIds
    record: bool = True


class ExplanationOut(BaseModel):
    """An explanation and the id of the record that keeps it (None when not recorded)."""

    record_id: str | None
    explanation: dict[str, Any]


@router.post("/projects/{project}/explanations/predictions/{prediction_id}")
async def explain_prediction(
    project: str, prediction_id: str, body: ExplainIn, services: Svc
) -> ExplanationOut:
    """SHAP contributions (client values, or TreeSHAP of the surrogate), the decision and its
    reason codes; stored as an immutable record unless ``record`` is false."""
    await services.query.require_project(ProjectName(project))
    out, rec = await services.explainers.structured.explain(
        project, prediction_id, method=body.method, top_k=body.top_k,
        external_ids=body.external_ids, record=body.record,
    )  # fmt: skip
    return ExplanationOut(record_id=rec.record_id if rec else None, explanation=out)


class CounterfactualIn(BaseModel):
    """Which features may change."""

    model_config = ConfigDict(extra="forbid")

    actionable: list[str] = Field(default_factory=list, max_length=200)
    external_ids: ExternalIds


@router.post("/projects/{project}/explanations/predictions/{prediction_id}/counterfactual")
async def counterfactual(
    project: str, prediction_id: str, body: CounterfactualIn, services: Svc
) -> ExplanationOut:
    """The smallest change of actionable features that flips the surrogate's decision
    (verified on the surrogate); ``found: false`` when no one- or two-feature change does."""
    await services.query.require_project(ProjectName(project))
    out, rec = await services.explainers.structured.counterfactual(
        project, prediction_id, actionable=body.actionable or None, external_ids=body.external_ids
    )
    return ExplanationOut(record_id=rec.record_id if rec else None, explanation=out)


@router.get("/projects/{project}/explanations/importance")
async def importance(
    project: str,
    services: Svc,
    version: Annotated[str | None, Query(max_length=200)] = None,
    start: datetime | None = None,
    end: datetime | None = None,
    bucket: Annotated[str | None, Query(max_length=20)] = None,
    segment: Annotated[str | None, Query(max_length=200)] = None,
    method: Literal["auto", "client", "surrogate"] = "auto",
) -> dict[str, Any]:
    """Global importance (mean |SHAP| per feature) over the window, per ``bucket`` with the
    change from the first bucket to the last, and per value of the ``segment`` tag."""
    await services.query.require_project(ProjectName(project))
    return await services.explainers.structured.importance(
        project, version=version, time=time_range(start, end), bucket=parse_bucket(bucket),
        segment=segment, method=method,
    )  # fmt: skip


class ReasonCodesIn(BaseModel):
    """A reason table (the ``reasons`` of a ``kind: ReasonCodes`` file)."""

    model_config = ConfigDict(extra="forbid")

    reasons: list[ReasonSpec] = Field(default_factory=list, max_length=1000)


@router.get("/projects/{project}/explanations/reason-codes")
async def get_reason_codes(project: str, services: Svc) -> ReasonCodes:
    """The project's reason table (empty when none was set)."""
    await services.query.require_project(ProjectName(project))
    return await services.explainers.structured.reason_table(project)


@router.put("/projects/{project}/explanations/reason-codes")
async def put_reason_codes(project: str, body: ReasonCodesIn, services: Svc) -> ReasonCodes:
    """Replace the project's reason table (400 naming ``reasons`` on a repeated entry)."""
    await services.query.require_project(ProjectName(project))
    try:
        table = ReasonCodes(project=project, reasons=tuple(body.reasons))
    except ValueError as exc:
        raise InvalidInput("bad reason table", [FieldError("reasons", str(exc))]) from None
    return await services.explainers.structured.put_reason_table(table, services.clock.now())
