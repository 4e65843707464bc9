"""SDK prediction records → validation → PREDICTION spans (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from llmpulse.domain.ids import PredictionId, ProjectName
from llmpulse.domain.predictions import EmbeddingValue, PredictionRecord
from llmpulse.domain.spans import SpanKind
from llmpulse.ingest.predictions import (
    parse_prediction,
    parse_predictions,
    prediction_span_ids,
    prediction_to_span,
)

P = ProjectName("fraud")
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _full() -> PredictionRecord:
    return PredictionRecord(
        prediction_id=PredictionId("p-1"),
        model_id="fraud-model",
        model_version="v3",
        environment="production",
        timestamp=datetime(2025, 3, 1, 11, 0, tzinfo=UTC),
        features={"amount": 120.5, "country": "FR", "new_user": True, "missing": None},
        tags={"tier": "pro", "region": "eu-west"},
        prediction_label="fraud",
        prediction_score=0.91,
        actual_label="not_fraud",
        actual_score=0.0,
        latency_ms=250.0,
        prompt_tokens=10,
        completion_tokens=5,
        embeddings={"text": EmbeddingValue((0.1, 0.2), "hello")},
        shap_values={"amount": 0.4, "country": -0.1},
        input="order 42",
        session_id="s-1",
        user_id="u-1",
    )


def test_prediction_to_span_maps_every_field_when_record_is_full() -> None:
    span = prediction_to_span(_full(), P, NOW)
    assert span.kind is SpanKind.PREDICTION
    assert span.name == "prediction"
    assert span.parent_span_id is None
    assert span.model == "fraud-model"
    assert span.version == "v3"
    assert span.environment == "production"
    assert span.prediction_id == "p-1"
    assert span.end_time == datetime(2025, 3, 1, 11, 0, tzinfo=UTC)
    assert span.start_time == span.end_time - timedelta(milliseconds=250)
    assert span.latency_ms == pytest.approx(250.0)
    assert (span.prompt_tokens, span.completion_tokens, span.total_tokens) == (10, 5, 15)
    assert (span.session_id, span.user_id) == ("s-1", "u-1")
    assert span.input_value == "order 42"
    assert span.output_value == "fraud"
    assert span.metadata == {"tier": "pro", "region": "eu-west"}
    attrs = span.attributes
    assert attrs["features.amount"] == 120.5
    assert attrs["features.missing"] is None
    assert attrs["tags.tier"] == "pro"
    assert attrs["prediction.label"] == "fraud"
    assert attrs["prediction.score"] == 0.91
    assert attrs["actual.label"] == "not_fraud"
    assert attrs["actual.score"] == 0.0
    assert attrs["shap.country"] == -0.1
    assert attrs["embedding.text.vector"] == [0.1, 0.2]
    assert attrs["embedding.text.data"] == "hello"


def test_prediction_to_span_ends_at_received_time_when_timestamp_missing() -> None:
    span = prediction_to_span(PredictionRecord(PredictionId("x")), P, NOW)
    assert span.start_time == span.end_time == NOW
    assert span.output_value is None
    assert span.attributes == {}


def test_prediction_to_span_keeps_explicit_output_over_label() -> None:
    rec = PredictionRecord(PredictionId("x"), prediction_label="yes", output="Yes, it is.")
    assert prediction_to_span(rec, P, NOW).output_value == "Yes, it is."


def test_prediction_span_ids_are_stable_when_the_same_id_is_logged_again() -> None:
    first = prediction_to_span(PredictionRecord(PredictionId("p-7")), P, NOW)
    again = prediction_to_span(PredictionRecord(PredictionId("p-7")), P, NOW + timedelta(days=1))
    assert (first.trace_id, first.span_id) == (again.trace_id, again.span_id)
    trace_id, span_id = prediction_span_ids(P, PredictionId("p-7"))
    assert len(trace_id) == 32
    assert len(span_id) == 16
    int(trace_id, 16), int(span_id, 16)
    assert prediction_span_ids(ProjectName("other"), PredictionId("p-7")) != (trace_id, span_id)
    assert prediction_span_ids(P, PredictionId("p-8"))[1] != span_id


def test_parse_prediction_reads_json_record_when_valid() -> None:
    raw = {
        "prediction_id": "p-1",
        "model_id": "m",
        "timestamp": "2025-03-01T11:00:00Z",
        "features": {"a": 1, "b": "x", "c": False, "d": None},
        "tags": {"tier": "pro"},
        "prediction_score": 1,
        "total_tokens": 12.0,
        "embeddings": {"e": {"vector": [1, 2.5], "data": None}},
        "shap_values": {"a": 0.5},
        "environment": "staging",
    }
    rec = parse_prediction(raw, "records[0]")
    assert isinstance(rec, PredictionRecord)
    assert rec.timestamp == datetime(2025, 3, 1, 11, 0, tzinfo=UTC)
    assert rec.prediction_score == 1.0
    assert rec.total_tokens == 12
    assert rec.embeddings == {"e": EmbeddingValue((1.0, 2.5), None)}
    assert rec.features == {"a": 1, "b": "x", "c": False, "d": None}


def test_parse_prediction_reads_epoch_seconds_timestamp() -> None:
    rec = parse_prediction({"prediction_id": "p", "timestamp": 1_740_826_800}, "r")
    assert isinstance(rec, PredictionRecord)
    assert rec.timestamp == datetime(2025, 3, 1, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ({}, "records[0].prediction_id"),
        ({"prediction_id": ""}, "records[0].prediction_id"),
        ({"prediction_id": "  "}, "records[0].prediction_id"),
        ({"prediction_id": 5}, "records[0].prediction_id"),
        ({"prediction_id": "p", "prediction_score": float("nan")}, "records[0].prediction_score"),
        ({"prediction_id": "p", "actual_score": float("inf")}, "records[0].actual_score"),
        ({"prediction_id": "p", "prediction_score": True}, "records[0].prediction_score"),
        ({"prediction_id": "p", "prediction_score": "0.5"}, "records[0].prediction_score"),
        ({"prediction_id": "p", "latency_ms": -1}, "records[0].latency_ms"),
        ({"prediction_id": "p", "prompt_tokens": -3}, "records[0].prompt_tokens"),
        ({"prediction_id": "p", "total_tokens": 1.5}, "records[0].total_tokens"),
        ({"prediction_id": "p", "timestamp": "2025-03-01T11:00:00"}, "records[0].timestamp"),
        ({"prediction_id": "p", "timestamp": "yesterday"}, "records[0].timestamp"),
        ({"prediction_id": "p", "timestamp": -5}, "records[0].timestamp"),
        ({"prediction_id": "p", "environment": "prod"}, "records[0].environment"),
        ({"prediction_id": "p", "features": [1, 2]}, "records[0].features"),
        ({"prediction_id": "p", "features": {"a": [1]}}, "records[0].features.a"),
        ({"prediction_id": "p", "tags": {"tier": None}}, "records[0].tags.tier"),
        ({"prediction_id": "p", "shap_values": {"a": "x"}}, "records[0].shap_values.a"),
        ({"prediction_id": "p", "shap_values": {"a": None}}, "records[0].shap_values.a"),
        ({"prediction_id": "p", "embeddings": {"e": [1.0]}}, "records[0].embeddings.e"),
        (
            {"prediction_id": "p", "embeddings": {"e": {"vector": []}}},
            "records[0].embeddings.e.vector",
        ),
        (
            {"prediction_id": "p", "embeddings": {"e": {"vector": [1, "a"]}}},
            "records[0].embeddings.e.vector[1]",
        ),
        ({"prediction_id": "p", "prediction_label": 1}, "records[0].prediction_label"),
        ({"prediction_id": "p", "predicton_label": "x"}, "records[0].predicton_label"),
        ("not an object", "records[0]"),
    ],
)
def test_parse_predictions_names_the_bad_field_when_a_record_is_invalid(
    raw: object, path: str
) -> None:
    parsed = parse_predictions([raw])
    assert parsed.accepted == []
    assert [r.path for r in parsed.rejected] == [path]
    assert all(r.index == 0 and r.message for r in parsed.rejected)


def test_parse_predictions_keeps_good_records_when_one_is_invalid() -> None:
    records = [
        {"prediction_id": "a"},
        {"prediction_id": "b", "latency_ms": "slow"},
        {"prediction_id": "c"},
    ]
    parsed = parse_predictions(records)
    assert [(i, r.prediction_id) for i, r in parsed.accepted] == [(0, "a"), (2, "c")]
    assert [(r.index, r.path) for r in parsed.rejected] == [(1, "records[1].latency_ms")]


def test_parse_predictions_reports_every_bad_field_of_a_record() -> None:
    parsed = parse_predictions([{"prediction_id": "", "prediction_score": float("nan")}])
    assert {r.path for r in parsed.rejected} == {
        "records[0].prediction_id",
        "records[0].prediction_score",
    }
