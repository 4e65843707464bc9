"""SDK predictions → spans: validate JSON records, then map each to a PREDICTION span.

Stage ① of the flow (ingest). Pure functions: `parse_predictions` checks the JSON records of
``POST /api/v1/projects/{project}/predictions`` and collects one `RecordRejection` per bad
field (path ``records[3].prediction_id``), so one bad record never sinks its neighbours;
`prediction_to_span` maps a valid `PredictionRecord` to a `Span`. Ids are derived from
``(project, prediction_id)`` by hash, so logging the same prediction again (or attaching a
late actual) lands on the same span id.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from llmpulse.domain.ids import PredictionId, ProjectName, SpanId, TraceId
from llmpulse.domain.predictions import ENVIRONMENTS, EmbeddingValue, PredictionRecord, Scalar
from llmpulse.domain.spans import Span, SpanKind, StatusCode

MAX_RECORDS = 10_000
_FIELDS = frozenset(
    {
        "prediction_id", "model_id", "model_version", "environment", "timestamp", "features",
        "tags", "prediction_label", "prediction_score", "actual_label", "actual_score",
        "latency_ms", "prompt_tokens", "completion_tokens", "total_tokens", "embeddings",
        "shap_values", "input", "output", "session_id", "user_id",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class RecordRejection:
    """One problem with one record of a predictions request."""

    index: int
    path: str
    message: str


@dataclass(frozen=True, slots=True)
class ParsedPredictions:
    """Valid records (with their request index) and the rejections of the others."""

    accepted: list[tuple[int, PredictionRecord]] = field(default_factory=list)
    rejected: list[RecordRejection] = field(default_factory=list)


def prediction_span_ids(
    project: ProjectName, prediction_id: PredictionId
) -> tuple[TraceId, SpanId]:
    """Derive the (trace id, span id) of a prediction from its project and id.

    Deterministic (BLAKE2b of both names), so re-logging a prediction id maps to the same span.
    """
    digest = hashlib.blake2b(
        f"{project}\x00{prediction_id}".encode(), digest_size=24, person=b"llmpulse.pred"
    ).hexdigest()
    return TraceId(digest[:32]), SpanId(digest[32:48])


def parse_prediction(raw: object, path: str) -> PredictionRecord | list[tuple[str, str]]:
    """Validate one JSON record; return the record or its ``(path, message)`` errors."""
    if not isinstance(raw, dict):
        return [(path, "must be an object")]
    errs = FieldErrors(path)
    check_keys(raw, errs)
    pid = text(raw.get("prediction_id"), "prediction_id", errs, required=True)
    if pid is not None and not pid.strip():
        errs.add("prediction_id", "must not be empty")
    env = text(raw.get("environment"), "environment", errs)
    if env is not None and env not in ENVIRONMENTS:
        errs.add("environment", "must be one of production, staging, training, validation")
    record = PredictionRecord(
        prediction_id=PredictionId(pid or ""),
        model_id=text(raw.get("model_id"), "model_id", errs),
        model_version=text(raw.get("model_version"), "model_version", errs),
        environment=env,
        timestamp=timestamp(raw.get("timestamp"), "timestamp", errs),
        features=scalar_map(raw.get("features"), "features", errs),
        tags=scalar_map(raw.get("tags"), "tags", errs, allow_null=False),
        prediction_label=text(raw.get("prediction_label"), "prediction_label", errs),
        prediction_score=number(raw.get("prediction_score"), "prediction_score", errs),
        actual_label=text(raw.get("actual_label"), "actual_label", errs),
        actual_score=number(raw.get("actual_score"), "actual_score", errs),
        latency_ms=number(raw.get("latency_ms"), "latency_ms", errs, non_negative=True),
        prompt_tokens=non_negative_int(raw.get("prompt_tokens"), "prompt_tokens", errs),
        completion_tokens=non_negative_int(raw.get("completion_tokens"), "completion_tokens", errs),
        total_tokens=non_negative_int(raw.get("total_tokens"), "total_tokens", errs),
        embeddings=embeddings(raw.get("embeddings"), "embeddings", errs),
        shap_values=float_map(raw.get("shap_values"), "shap_values", errs),
        input=text(raw.get("input"), "input", errs),
        output=text(raw.get("output"), "output", errs),
        session_id=text(raw.get("session_id"), "session_id", errs),
        user_id=text(raw.get("user_id"), "user_id", errs),
    )
    return errs.items if errs.items else record


def parse_predictions(records: Sequence[object], prefix: str = "records") -> ParsedPredictions:
    """Validate every record of a request; bad records are reported, good ones kept."""
    out = ParsedPredictions()
    for i, raw in enumerate(records):
        parsed = parse_prediction(raw, f"{prefix}[{i}]")
        if isinstance(parsed, PredictionRecord):
            out.accepted.append((i, parsed))
        else:
            out.rejected.extend(RecordRejection(i, p, m) for p, m in parsed)
    return out


@dataclass(slots=True)
class FieldErrors:
    """Collects ``(path, message)`` pairs for the fields of one record."""

    prefix: str
    items: list[tuple[str, str]] = field(default_factory=list)

    def add(self, name: str, message: str) -> None:
        """Record that field ``name`` (relative to the record) is wrong."""
        self.items.append((f"{self.prefix}.{name}", message))


def check_keys(raw: dict[str, object], errs: FieldErrors) -> None:
    """Report keys the contract does not know (a typo must not vanish silently)."""
    for key in raw:
        if key not in _FIELDS:
            errs.add(str(key), "unknown field")


def text(value: object, name: str, errs: FieldErrors, *, required: bool = False) -> str | None:
    """A string field; ``None`` when absent (an error when ``required``)."""
    if value is None:
        if required:
            errs.add(name, "is required")
        return None
    if not isinstance(value, str):
        errs.add(name, f"must be a string, not {type(value).__name__}")
        return None
    return value


def number(
    value: object, name: str, errs: FieldErrors, *, non_negative: bool = False
) -> float | None:
    """A finite float field (booleans, NaN and infinities are refused)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        errs.add(name, f"must be a number, not {type(value).__name__}")
        return None
    f = float(value)
    if not math.isfinite(f):
        errs.add(name, "must be a finite number")
        return None
    if non_negative and f < 0:
        errs.add(name, "must not be negative")
        return None
    return f


def non_negative_int(value: object, name: str, errs: FieldErrors) -> int | None:
    """A count (tokens): an integer ≥ 0; integral floats such as ``12.0`` are accepted."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        errs.add(name, "must be an integer")
        return None
    if value < 0:
        errs.add(name, "must not be negative")
        return None
    return value


def timestamp(value: object, name: str, errs: FieldErrors) -> datetime | None:
    """An instant: ISO-8601 with a timezone, or Unix epoch seconds."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value) or not 0 <= value < 32_503_680_000:
            errs.add(name, "epoch seconds out of range")
            return None
        return datetime.fromtimestamp(value, tz=UTC)
    if not isinstance(value, str):
        errs.add(name, "must be an ISO-8601 string or epoch seconds")
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        errs.add(name, f"not an ISO-8601 timestamp: {value[:40]!r}")
        return None
    if parsed.tzinfo is None:
        errs.add(name, "needs a timezone (for example a trailing Z)")
        return None
    return parsed.astimezone(UTC)


def _object(value: object, name: str, errs: FieldErrors) -> dict[str, object]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errs.add(name, "must be an object")
        return {}
    return value


def scalar_map(
    value: object, name: str, errs: FieldErrors, *, allow_null: bool = True
) -> dict[str, Scalar]:
    """A ``{name: str | number | bool | null}`` object (features, tags)."""
    out: dict[str, Scalar] = {}
    for key, v in _object(value, name, errs).items():
        if v is None and allow_null:
            out[key] = None
        elif isinstance(v, str | bool):
            out[key] = v
        elif isinstance(v, int | float) and v is not None:
            if isinstance(v, float) and not math.isfinite(v):
                errs.add(f"{name}.{key}", "must be a finite number")
            else:
                out[key] = v
        else:
            errs.add(f"{name}.{key}", "must be a string, number or boolean")
    return out


def float_map(value: object, name: str, errs: FieldErrors) -> dict[str, float]:
    """A ``{name: number}`` object (SHAP values)."""
    out: dict[str, float] = {}
    for key, v in _object(value, name, errs).items():
        f = number(v, f"{name}.{key}", errs)
        if f is None and v is None:
            errs.add(f"{name}.{key}", "must be a number")
        elif f is not None:
            out[key] = f
    return out


def embeddings(value: object, name: str, errs: FieldErrors) -> dict[str, EmbeddingValue]:
    """A ``{name: {"vector": [floats], "data": str | null}}`` object."""
    out: dict[str, EmbeddingValue] = {}
    for key, v in _object(value, name, errs).items():
        path = f"{name}.{key}"
        if not isinstance(v, dict):
            errs.add(path, "must be an object with a vector")
            continue
        vector = v.get("vector")
        if not isinstance(vector, list) or not vector:
            errs.add(f"{path}.vector", "must be a non-empty list of numbers")
            continue
        before = len(errs.items)
        floats = tuple(number(x, f"{path}.vector[{i}]", errs) or 0.0 for i, x in enumerate(vector))
        data = text(v.get("data"), f"{path}.data", errs)
        if len(errs.items) == before and None not in vector:
            out[key] = EmbeddingValue(floats, data)
        elif None in vector:
            errs.add(f"{path}.vector", "must not contain null")
    return out


def _attributes(rec: PredictionRecord) -> dict[str, Any]:
    attrs: dict[str, Any] = {f"features.{k}": v for k, v in rec.features.items()}
    attrs.update({f"tags.{k}": v for k, v in rec.tags.items()})
    for key, value in (
        ("prediction.label", rec.prediction_label),
        ("prediction.score", rec.prediction_score),
        ("actual.label", rec.actual_label),
        ("actual.score", rec.actual_score),
    ):
        if value is not None:
            attrs[key] = value
    attrs.update({f"shap.{k}": v for k, v in rec.shap_values.items()})
    for name, emb in rec.embeddings.items():
        attrs[f"embedding.{name}.vector"] = list(emb.vector)
        if emb.data is not None:
            attrs[f"embedding.{name}.data"] = emb.data
    return attrs


def prediction_to_span(rec: PredictionRecord, project: ProjectName, received_at: datetime) -> Span:
    """Map one validated prediction to a PREDICTION span of ``project``.

    The span ends at the prediction's timestamp (``received_at`` when it has none) and
    starts ``latency_ms`` earlier. Tags become the span's metadata, so segment filters on
    ``metadata.<tag>`` work for predictions as for traces.
    """
    trace_id, span_id = prediction_span_ids(project, rec.prediction_id)
    end = (rec.timestamp or received_at).astimezone(UTC)
    start = end - timedelta(milliseconds=rec.latency_ms) if rec.latency_ms else end
    output = rec.output if rec.output is not None else rec.prediction_label
    total = rec.total_tokens
    if total is None and rec.prompt_tokens is not None and rec.completion_tokens is not None:
        total = rec.prompt_tokens + rec.completion_tokens
    return Span(
        project=project,
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=None,
        name="prediction",
        kind=SpanKind.PREDICTION,
        start_time=start,
        end_time=end,
        status_code=StatusCode.OK,
        model=rec.model_id,
        prompt_tokens=rec.prompt_tokens,
        completion_tokens=rec.completion_tokens,
        total_tokens=total,
        session_id=rec.session_id,
        user_id=rec.user_id,
        environment=rec.environment,
        version=rec.model_version,
        prediction_id=rec.prediction_id,
        input_value=rec.input,
        output_value=output,
        metadata=dict(rec.tags),
        attributes=_attributes(rec),
    )
