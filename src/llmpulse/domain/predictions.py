"""Predictions, evaluations and feedback: the facts the Arize-style SDK logs.

A `PredictionRecord` is one model decision as the SDK (``Client.log``/``log_dataframe``)
sends it; ingest turns it into a `Span` of kind PREDICTION so every metric, monitor,
segment and drift test works the same on predictions and on traces. An `Evaluation` is a
label/score/explanation attached later to a span or a prediction (LLM judge, human
feedback, late ground truth).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from llmpulse.domain.ids import PredictionId, ProjectName, SpanId

Scalar = str | int | float | bool | None
"""A feature or tag value as it travels in JSON."""

ENVIRONMENTS = frozenset({"production", "staging", "training", "validation"})


@dataclass(frozen=True, slots=True)
class EmbeddingValue:
    """One named embedding of a prediction: the vector and, optionally, the raw data."""

    vector: tuple[float, ...]
    data: str | None = None


@dataclass(frozen=True, slots=True)
class PredictionRecord:
    """One logged model prediction (optionally with its actual, known at log time)."""

    prediction_id: PredictionId
    model_id: str | None = None
    model_version: str | None = None
    environment: str | None = None
    timestamp: datetime | None = None  # aware UTC; None means "when the server received it"
    features: dict[str, Scalar] = field(default_factory=dict)
    tags: dict[str, Scalar] = field(default_factory=dict)
    prediction_label: str | None = None
    prediction_score: float | None = None
    actual_label: str | None = None
    actual_score: float | None = None
    latency_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    embeddings: dict[str, EmbeddingValue] = field(default_factory=dict)
    shap_values: dict[str, float] = field(default_factory=dict)
    input: str | None = None
    output: str | None = None
    session_id: str | None = None
    user_id: str | None = None


class AnnotatorKind(StrEnum):
    """Who produced an evaluation."""

    HUMAN = "HUMAN"
    LLM = "LLM"
    CODE = "CODE"


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A named verdict on a span or on a prediction (exactly one of the two targets).

    Feedback (thumbs up/down) and late actuals are evaluations too, named ``feedback``
    and ``actual`` by convention.
    """

    name: str
    span_id: SpanId | None = None
    prediction_id: PredictionId | None = None
    project: ProjectName | None = None
    label: str | None = None
    score: float | None = None
    explanation: str | None = None
    annotator_kind: AnnotatorKind = AnnotatorKind.HUMAN
    metadata: dict[str, Scalar] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.span_id is None) == (self.prediction_id is None):
            raise ValueError("an Evaluation targets exactly one of span_id or prediction_id")
