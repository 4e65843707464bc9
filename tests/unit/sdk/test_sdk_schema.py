"""Dataframe + Schema → PredictionIn records, and evaluations frames → AnnotationIn items."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from llmpulse import Schema
from llmpulse.domain.ids import ProjectName
from llmpulse.domain.predictions import PredictionRecord
from llmpulse.ingest.predictions import parse_predictions, prediction_to_span
from llmpulse.sdk.schema import dataframe_to_records, evaluations_to_annotations

SCHEMA = Schema(
    prediction_id_column_name="id",
    timestamp_column_name="ts",
    feature_column_names=["amount", "country"],
    tag_column_names=["tier"],
    prediction_label_column_name="pred",
    prediction_score_column_name="score",
    actual_label_column_name="actual",
    shap_values_column_names={"amount": "shap_amount"},
    embedding_feature_column_names={"text": ("vec", "raw")},
    latency_ms_column_name="latency",
    prompt_tokens_column_name="pt",
    model_version_column_name="ver",
    environment_column_name="env",
)


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["a", "b"],
            "ts": pd.to_datetime(["2025-03-01T10:00:00Z", "2025-03-01T11:00:00Z"]),
            "amount": [10.5, np.nan],
            "country": ["FR", "US"],
            "tier": ["pro", None],
            "pred": [1, 0],
            "score": np.array([0.9, 0.2], dtype=np.float32),
            "actual": ["1", None],
            "shap_amount": [0.3, np.nan],
            "vec": [np.array([0.1, 0.2]), [0.3, 0.4]],
            "raw": ["hello", None],
            "latency": [12, 15],
            "pt": np.array([100, 200], dtype=np.int64),
            "ver": ["v1", "v2"],
            "env": ["production", "production"],
        }
    )


def test_dataframe_to_records_maps_columns_when_schema_names_them() -> None:
    records = dataframe_to_records(_frame(), SCHEMA, model_id="fraud")
    first, second = records
    assert first["prediction_id"] == "a"
    assert first["model_id"] == "fraud"
    assert first["timestamp"] == "2025-03-01T10:00:00+00:00"
    assert first["features"] == {"amount": 10.5, "country": "FR"}
    assert first["tags"] == {"tier": "pro"}
    assert first["prediction_label"] == "1"
    assert first["prediction_score"] == pytest.approx(0.9)
    assert first["actual_label"] == "1"
    assert first["shap_values"] == {"amount": 0.3}
    assert first["embeddings"] == {"text": {"vector": [0.1, 0.2], "data": "hello"}}
    assert first["latency_ms"] == 12
    assert type(first["prompt_tokens"]) is int
    assert (first["model_version"], first["environment"]) == ("v1", "production")
    # missing values are left out (or null where the contract allows it)
    assert second["features"] == {"amount": None, "country": "US"}
    assert "tags" not in second or second["tags"] == {}
    assert "actual_label" not in second
    assert "shap_values" not in second
    assert second["embeddings"] == {"text": {"vector": [0.3, 0.4], "data": None}}


def test_dataframe_records_pass_server_validation_when_converted() -> None:
    parsed = parse_predictions(dataframe_to_records(_frame(), SCHEMA, model_id="fraud"))
    assert parsed.rejected == []
    recs = [r for _, r in parsed.accepted]
    assert all(isinstance(r, PredictionRecord) for r in recs)
    span = prediction_to_span(recs[0], ProjectName("fraud"), datetime(2025, 3, 2, tzinfo=UTC))
    assert span.end_time == datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    assert span.metadata == {"tier": "pro"}
    assert span.attributes["embedding.text.vector"] == [0.1, 0.2]


def test_dataframe_to_records_generates_ids_when_schema_has_no_id_column() -> None:
    records = dataframe_to_records(
        pd.DataFrame({"x": [1, 2, 3]}), Schema(feature_column_names=["x"])
    )
    ids = {r["prediction_id"] for r in records}
    assert len(ids) == 3
    assert all(isinstance(i, str) and i for i in ids)


def test_dataframe_to_records_raises_when_a_schema_column_is_missing() -> None:
    with pytest.raises(ValueError, match="score"):
        dataframe_to_records(
            pd.DataFrame({"id": ["a"]}), Schema("id", prediction_score_column_name="score")
        )


def test_dataframe_to_records_marks_infinite_values_so_the_server_rejects_that_row() -> None:
    df = pd.DataFrame({"id": ["a", "b"], "score": [np.inf, 0.5]})
    records = dataframe_to_records(df, Schema("id", prediction_score_column_name="score"))
    parsed = parse_predictions(records)
    assert [r.path for r in parsed.rejected] == ["records[0].prediction_score"]
    assert [i for i, _ in parsed.accepted] == [1]


def test_evaluations_to_annotations_reads_span_id_column_and_eval_name() -> None:
    df = pd.DataFrame(
        {
            "span_id": ["00000000000000aa"],
            "label": ["factual"],
            "score": [1.0],
            "explanation": ["ok"],
        }
    )
    (item,) = evaluations_to_annotations(df, eval_name="hallucination")
    assert item == {
        "span_id": "00000000000000aa",
        "name": "hallucination",
        "annotator_kind": "LLM",
        "label": "factual",
        "score": 1.0,
        "explanation": "ok",
    }


def test_evaluations_to_annotations_reads_phoenix_frame_indexed_by_span_id() -> None:
    df = pd.DataFrame(
        {"label": ["relevant", "irrelevant"], "score": [1.0, np.nan]},
        index=pd.Index(["00000000000000aa", "00000000000000bb"], name="context.span_id"),
    )
    items = evaluations_to_annotations(df, eval_name="relevance")
    assert [i["span_id"] for i in items] == ["00000000000000aa", "00000000000000bb"]
    assert "score" not in items[1]


def test_evaluations_to_annotations_targets_predictions_with_project() -> None:
    df = pd.DataFrame({"prediction_id": ["p1"], "name": ["actual"], "label": ["fraud"]})
    (item,) = evaluations_to_annotations(df, project="fraud")
    assert item["prediction_id"] == "p1"
    assert item["project"] == "fraud"
    assert item["name"] == "actual"


@pytest.mark.parametrize(
    ("df", "kwargs", "match"),
    [
        (pd.DataFrame({"label": ["x"]}), {"eval_name": "e"}, "span_id"),
        (pd.DataFrame({"span_id": ["00000000000000aa"], "label": ["x"]}), {}, "name"),
    ],
)
def test_evaluations_to_annotations_raises_when_target_or_name_is_missing(
    df: pd.DataFrame, kwargs: dict[str, str], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        evaluations_to_annotations(df, **kwargs)
