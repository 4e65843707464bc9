"""Evaluations (feedback, judge verdicts, late actuals) → stored `Annotation`s.

An evaluation names a span or a prediction. A span's project is looked up when the caller did
not give one; an evaluation of a span that is not stored yet needs its project.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from llmpulse.domain.ids import ProjectName
from llmpulse.domain.predictions import Evaluation
from llmpulse.domain.spans import Annotation
from llmpulse.store.api import EventStore


@dataclass(frozen=True, slots=True)
class Annotated:
    """The annotations built, the indexes of evaluations whose span was not found, and the
    evaluations that cannot be stored (index, field, reason), e.g. metadata nested too deep."""

    annotations: list[Annotation] = field(default_factory=list)
    unknown_spans: list[int] = field(default_factory=list)
    unstorable: list[tuple[int, str, str]] = field(default_factory=list)
    sources: list[int] = field(default_factory=list)  # evaluation index of each annotation


def to_annotations(
    evaluations: Sequence[Evaluation], events: EventStore, now: datetime
) -> Annotated:
    """Build annotations (blocking: may read the event store for a span's project)."""
    out = Annotated()
    projects: dict[str, ProjectName | None] = {}
    for i, ev in enumerate(evaluations):
        project = ev.project
        if project is None and ev.span_id is not None:
            if ev.span_id not in projects:
                span = events.get_span(ev.span_id)
                projects[ev.span_id] = span.project if span else None
            project = projects[ev.span_id]
            if project is None:
                out.unknown_spans.append(i)
                continue
        out.sources.append(i)
        out.annotations.append(
            Annotation(
                id=uuid.uuid4().hex,
                project=project or ProjectName("default"),
                span_id=ev.span_id,
                prediction_id=ev.prediction_id,
                name=ev.name,
                annotator_kind=str(ev.annotator_kind),
                created_at=now,
                label=ev.label,
                score=ev.score,
                explanation=ev.explanation,
                metadata=dict(ev.metadata),
            )
        )
    return out
