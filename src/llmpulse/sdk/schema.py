"""`Schema`: which dataframe column holds what (Arize-style), and the pure conversions.

`dataframe_to_records` turns a pandas DataFrame and a `Schema` into ``PredictionIn`` JSON
objects; `evaluations_to_annotations` turns an evaluations dataframe (ours, or Phoenix's
``SpanEvaluations`` frame indexed by span id) into ``AnnotationIn`` objects. Neither does
HTTP, so both are tested without a server. pandas is never imported here: the frames are
used through their public methods only.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmpulse.sdk.records import JsonDict, plain, prediction_payload, vector

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]

_SPAN_ID_NAMES = ("span_id", "context.span_id")


@dataclass(frozen=True)
class Schema:
    """Column mapping of a predictions dataframe (names follow Arize's ``Schema``).

    ``embedding_feature_column_names`` maps an embedding name to ``(vector_column,
    data_column_or_None)``; ``shap_values_column_names`` maps a feature to its SHAP column.
    Without ``prediction_id_column_name`` each row gets a random id.
    """

    prediction_id_column_name: str | None = None
    timestamp_column_name: str | None = None
    feature_column_names: Sequence[str] = ()
    tag_column_names: Sequence[str] = ()
    prediction_label_column_name: str | None = None
    prediction_score_column_name: str | None = None
    actual_label_column_name: str | None = None
    actual_score_column_name: str | None = None
    shap_values_column_names: Mapping[str, str] = field(default_factory=dict)
    embedding_feature_column_names: Mapping[str, tuple[str, str | None]] = field(
        default_factory=dict
    )
    latency_ms_column_name: str | None = None
    prompt_tokens_column_name: str | None = None
    completion_tokens_column_name: str | None = None
    total_tokens_column_name: str | None = None
    model_version_column_name: str | None = None
    environment_column_name: str | None = None
    input_column_name: str | None = None
    output_column_name: str | None = None
    session_id_column_name: str | None = None
    user_id_column_name: str | None = None

    def scalar_columns(self) -> dict[str, str]:
        """Map ``PredictionIn`` field → column for every one-column field that is set."""
        pairs = {
            "prediction_id": self.prediction_id_column_name,
            "timestamp": self.timestamp_column_name,
            "prediction_label": self.prediction_label_column_name,
            "prediction_score": self.prediction_score_column_name,
            "actual_label": self.actual_label_column_name,
            "actual_score": self.actual_score_column_name,
            "latency_ms": self.latency_ms_column_name,
            "prompt_tokens": self.prompt_tokens_column_name,
            "completion_tokens": self.completion_tokens_column_name,
            "total_tokens": self.total_tokens_column_name,
            "model_version": self.model_version_column_name,
            "environment": self.environment_column_name,
            "input": self.input_column_name,
            "output": self.output_column_name,
            "session_id": self.session_id_column_name,
            "user_id": self.user_id_column_name,
        }
        return {k: v for k, v in pairs.items() if v is not None}

    def all_columns(self) -> list[str]:
        """Every column the schema names (to check a dataframe against)."""
        cols = [*self.scalar_columns().values(), *self.feature_column_names]
        cols += [*self.tag_column_names, *self.shap_values_column_names.values()]
        for vec_col, data_col in self.embedding_feature_column_names.values():
            cols += [vec_col] if data_col is None else [vec_col, data_col]
        return cols


def _column(df: pd.DataFrame, name: str) -> list[Any]:
    return [plain(v) for v in df[name].tolist()]


def _mapped(df: pd.DataFrame, mapping: Mapping[str, str]) -> dict[str, list[Any]]:
    return {key: _column(df, col) for key, col in mapping.items()}


def dataframe_to_records(
    df: pd.DataFrame, schema: Schema, *, model_id: str | None = None
) -> list[JsonDict]:
    """Convert each row of ``df`` to a ``PredictionIn`` JSON object.

    Raises:
        ValueError: when the schema names a column the dataframe does not have.
    """
    missing = [c for c in schema.all_columns() if c not in df.columns]
    if missing:
        raise ValueError(f"dataframe has no column(s) {missing!r} named in the schema")
    n = len(df)
    scalars = _mapped(df, schema.scalar_columns())
    features = _mapped(df, {c: c for c in schema.feature_column_names})
    tags = _mapped(df, {c: c for c in schema.tag_column_names})
    shap = _mapped(df, schema.shap_values_column_names)
    vectors = {
        name: ([vector(v) for v in df[vc].tolist()], _column(df, dc) if dc else [None] * n)
        for name, (vc, dc) in schema.embedding_feature_column_names.items()
    }
    out: list[JsonDict] = []
    for i in range(n):
        fields: dict[str, Any] = {k: col[i] for k, col in scalars.items()}
        if fields.get("prediction_id") is None:
            fields["prediction_id"] = uuid.uuid4().hex
        fields["model_id"] = model_id
        fields["features"] = {k: col[i] for k, col in features.items()} or None
        fields["tags"] = {k: col[i] for k, col in tags.items()} or None
        fields["shap_values"] = {k: col[i] for k, col in shap.items() if col[i] is not None}
        fields["embeddings"] = {
            k: {"vector": vecs[i], "data": datas[i]}
            for k, (vecs, datas) in vectors.items()
            if vecs[i] is not None
        }
        out.append(prediction_payload({k: v for k, v in fields.items() if v != {}}))
    return out


def _targets(df: pd.DataFrame) -> tuple[str, list[Any]]:
    """Which column (or index) names the evaluated spans or predictions."""
    for name in (*_SPAN_ID_NAMES, "prediction_id"):
        if name in df.columns:
            return ("span_id" if name in _SPAN_ID_NAMES else name), _column(df, name)
    if df.index.name in _SPAN_ID_NAMES:
        return "span_id", [plain(v) for v in df.index.tolist()]
    raise ValueError(
        "evaluations need a span_id or prediction_id column (or an index named span_id)"
    )


def evaluations_to_annotations(
    df: pd.DataFrame, *, eval_name: str | None = None, project: str | None = None
) -> list[JsonDict]:
    """Convert an evaluations dataframe to ``AnnotationIn`` JSON objects.

    Columns: ``span_id`` (or ``context.span_id``, or such an index) or ``prediction_id``;
    ``name`` unless ``eval_name`` is given; any of ``label``, ``score``, ``explanation``,
    ``annotator_kind`` (default LLM, as evaluations usually come from a judge).

    Raises:
        ValueError: when the target or the name cannot be found.
    """
    target, ids = _targets(df)
    if eval_name is None and "name" not in df.columns:
        raise ValueError("evaluations need a name column or the eval_name argument")
    n = len(df)
    cols = {
        c: (_column(df, c) if c in df.columns else [None] * n)
        for c in ("name", "label", "score", "explanation", "annotator_kind")
    }
    out: list[JsonDict] = []
    for i in range(n):
        item: JsonDict = {target: None if ids[i] is None else str(ids[i])}
        if target == "prediction_id":
            item["project"] = project or "default"
        item["name"] = eval_name or cols["name"][i]
        item["annotator_kind"] = str(cols["annotator_kind"][i] or "LLM").upper()
        for key in ("label", "score", "explanation"):
            if cols[key][i] is not None:
                item[key] = str(cols[key][i]) if key != "score" else cols[key][i]
        out.append(item)
    return out
