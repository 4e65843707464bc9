"""JSON payloads of the predictions and annotations endpoints, built from Python values.

Pure functions, no HTTP: `prediction_payload` is what ``Client.log`` sends for one
record, `annotation_payload` one item of ``POST /api/v1/annotations``, and `plain` turns
numpy/pandas scalars and datetimes into JSON values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

JsonDict = dict[str, Any]
EmbeddingArg = Mapping[str, Any]
"""``{name: vector}``, ``{name: (vector, data)}`` or ``{name: {"vector": ..., "data": ...}}``."""


@dataclass(frozen=True, slots=True)
class RejectedRecord:
    """One record the server refused, by index in what was logged and field path."""

    index: int
    path: str
    message: str


def plain(value: object) -> Any:
    """Return ``value`` as a JSON value: NaN/NA/NaT → None, numpy scalars → Python.

    Infinities become the strings ``"inf"``/``"-inf"`` so the server rejects that one record
    by field path instead of the whole request failing to parse.
    """
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return value if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, datetime):
        if value != value:  # pandas NaT compares unequal to itself
            return None
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    item = getattr(value, "item", None)  # numpy scalar
    if callable(item) and getattr(value, "ndim", 1) == 0:
        return plain(item())
    if type(value).__name__ in {"NAType", "NaTType"}:
        return None
    return value


def iso(t: datetime) -> str:
    """ISO-8601 of an instant; a naive datetime is taken as UTC."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.isoformat()


def vector(value: object) -> list[float] | None:
    """An embedding vector (list, tuple, numpy array) as a list of floats."""
    if value is None:
        return None
    tolist = getattr(value, "tolist", None)
    items = tolist() if callable(tolist) else value
    if not isinstance(items, Sequence) or isinstance(items, str):
        return None
    return [plain(float(x)) for x in items]


def embedding_payload(embeddings: EmbeddingArg) -> JsonDict:
    """Normalize the accepted embedding argument forms to the wire form."""
    out: JsonDict = {}
    for name, value in embeddings.items():
        if isinstance(value, Mapping):
            vec, data = value.get("vector"), value.get("data")
        elif isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], str | None):
            vec, data = value
        else:
            vec, data = value, None
        out[name] = {"vector": vector(vec), "data": plain(data)}
    return out


def prediction_payload(fields: Mapping[str, Any]) -> JsonDict:
    """One ``PredictionIn`` JSON object; ``None`` fields are left out."""
    out: JsonDict = {}
    for key, value in fields.items():
        if value is None:
            continue
        if key in {"features", "tags", "shap_values"}:
            mapped = {str(k): plain(v) for k, v in value.items()}
            if key == "tags":
                mapped = {k: v for k, v in mapped.items() if v is not None}
            out[key] = mapped
        elif key == "embeddings":
            out[key] = embedding_payload(value)
        elif key in {"prediction_label", "actual_label", "prediction_id"}:
            label = plain(value)
            out[key] = None if label is None else str(label)
        else:
            out[key] = plain(value)
    return out


def annotation_payload(
    *,
    name: str,
    span_id: str | None = None,
    prediction_id: str | None = None,
    project: str | None = None,
    label: object = None,
    score: object = None,
    explanation: object = None,
    annotator_kind: str = "HUMAN",
    metadata: Mapping[str, Any] | None = None,
) -> JsonDict:
    """One ``AnnotationIn`` JSON object (exactly one of ``span_id``/``prediction_id``)."""
    if (span_id is None) == (prediction_id is None):
        raise ValueError("give exactly one of span_id or prediction_id")
    out: JsonDict = {"name": name, "annotator_kind": annotator_kind.upper()}
    if span_id is not None:
        out["span_id"] = str(span_id)
    else:
        out["prediction_id"] = str(prediction_id)
        out["project"] = project or "default"
    label_v, score_v, expl_v = plain(label), plain(score), plain(explanation)
    if label_v is not None:
        out["label"] = str(label_v)
    if score_v is not None:
        out["score"] = score_v
    if expl_v is not None:
        out["explanation"] = str(expl_v)
    if metadata:
        out["metadata"] = {str(k): plain(v) for k, v in metadata.items()}
    return out
