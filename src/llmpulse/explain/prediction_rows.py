"""Logged predictions as rows for explanation: features, score, label, SHAP, time, tags."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from llmpulse.domain.ids import ProjectName
from llmpulse.domain.spans import Span, SpanKind
from llmpulse.query.service import QueryService
from llmpulse.store.api import AttrEquals, SpanQuery, TimeRange

PAGE = 1000
MAX_ROWS = 20_000

ALL_TIME = TimeRange()


@dataclass(frozen=True)
class PredictionRow:
    """One logged prediction, as the explainers see it."""

    prediction_id: str
    span_id: str
    version: str | None
    time: datetime
    features: Mapping[str, object]
    score: float | None
    label: str | None
    shap: Mapping[str, float]
    tags: Mapping[str, object]


def _prefixed(attrs: Mapping[str, object], prefix: str) -> dict[str, object]:
    n = len(prefix)
    return {k[n:]: v for k, v in attrs.items() if k.startswith(prefix)}


def row_of(span: Span) -> PredictionRow:
    """The explanation row of a PREDICTION span."""
    attrs = span.attributes
    score = attrs.get("prediction.score")
    label = attrs.get("prediction.label")
    shap = {k: float(v) for k, v in _prefixed(attrs, "shap.").items() if isinstance(v, int | float)}
    return PredictionRow(
        prediction_id=str(span.prediction_id or ""),
        span_id=span.span_id,
        version=span.version,
        time=span.end_time,
        features=_prefixed(attrs, "features."),
        score=float(score) if isinstance(score, int | float) else None,
        label=str(label) if label is not None else None,
        shap=shap,
        tags=dict(span.metadata),
    )


async def load_rows(
    query: QueryService,
    project: str,
    *,
    version: str | None = None,
    time: TimeRange = ALL_TIME,
    limit: int = MAX_ROWS,
) -> list[PredictionRow]:
    """The project's logged predictions (newest first), at most ``limit``."""
    attributes = (AttrEquals("version", version),) if version else ()
    rows: list[PredictionRow] = []
    cursor: str | None = None
    while len(rows) < limit:
        q = SpanQuery(
            project=ProjectName(project),
            time=time,
            kinds=(SpanKind.PREDICTION,),
            attributes=attributes,
            limit=min(PAGE, limit - len(rows)),
            cursor=cursor,
        )
        page = await query.list_spans(q, keep=False)
        rows.extend(row_of(s) for s in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    return rows
