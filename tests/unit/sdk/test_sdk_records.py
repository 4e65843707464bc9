"""Single-record payloads, value cleaning, errors and register's URL (no HTTP)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from llmpulse.domain.errors import FieldError, LlmpulseError
from llmpulse.ingest.predictions import parse_predictions
from llmpulse.sdk.errors import LlmpulseApiError
from llmpulse.sdk.records import annotation_payload, plain, prediction_payload
from llmpulse.sdk.register import traces_url


def test_prediction_payload_drops_none_and_normalizes_values() -> None:
    payload = prediction_payload(
        {
            "prediction_id": 42,
            "model_id": "m",
            "prediction_label": True,
            "prediction_score": np.float64(0.25),
            "prompt_tokens": np.int64(7),
            "tags": {"tier": "pro", "empty": None},
            "features": {"f": np.nan},
            "embeddings": {"a": [1, 2], "b": (np.array([0.5]), "txt"), "c": {"vector": [3.0]}},
            "timestamp": datetime(2025, 1, 1, 12, tzinfo=timezone(timedelta(hours=2))),
            "actual_label": None,
        }
    )
    assert payload == {
        "prediction_id": "42",
        "model_id": "m",
        "prediction_label": "True",
        "prediction_score": 0.25,
        "prompt_tokens": 7,
        "tags": {"tier": "pro"},
        "features": {"f": None},
        "embeddings": {
            "a": {"vector": [1.0, 2.0], "data": None},
            "b": {"vector": [0.5], "data": "txt"},
            "c": {"vector": [3.0], "data": None},
        },
        "timestamp": "2025-01-01T12:00:00+02:00",
    }
    assert type(payload["prompt_tokens"]) is int
    assert parse_predictions([payload]).rejected == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (float("nan"), None),
        (float("inf"), "inf"),
        (np.bool_(True), True),
        (np.int32(3), 3),
        (datetime(2025, 1, 1), "2025-01-01T00:00:00+00:00"),
        (datetime(2025, 1, 1, tzinfo=UTC), "2025-01-01T00:00:00+00:00"),
        ("x", "x"),
        (None, None),
    ],
)
def test_plain_turns_python_numpy_and_time_values_into_json(
    value: object, expected: object
) -> None:
    assert plain(value) == expected


def test_plain_turns_pandas_missing_values_into_none() -> None:
    import pandas as pd

    assert plain(pd.NA) is None
    assert plain(pd.NaT) is None
    assert plain(pd.Timestamp("2025-01-01T00:00:00Z")) == "2025-01-01T00:00:00+00:00"


def test_annotation_payload_targets_a_prediction_with_its_project() -> None:
    item = annotation_payload(name="feedback", prediction_id="p1", label="thumbs_up", score=1)
    assert item == {
        "name": "feedback",
        "annotator_kind": "HUMAN",
        "prediction_id": "p1",
        "project": "default",
        "label": "thumbs_up",
        "score": 1,
    }


@pytest.mark.parametrize(("span_id", "prediction_id"), [(None, None), ("00000000000000aa", "p")])
def test_annotation_payload_raises_when_not_exactly_one_target(
    span_id: str | None, prediction_id: str | None
) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        annotation_payload(name="x", label="y", span_id=span_id, prediction_id=prediction_id)


def test_api_error_carries_status_detail_and_field_paths() -> None:
    err = LlmpulseApiError(400, "bad body", [FieldError("records", "field required")])
    assert isinstance(err, LlmpulseError)
    assert (err.status, err.detail) == (400, "bad body")
    assert str(err) == "HTTP 400: bad body (records: field required)"


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        ("http://h:7600", "http://h:7600/v1/traces"),
        ("http://h:7600/", "http://h:7600/v1/traces"),
        ("http://h:7600/v1/traces", "http://h:7600/v1/traces"),
    ],
)
def test_traces_url_appends_the_otlp_path_once(endpoint: str, url: str) -> None:
    assert traces_url(endpoint) == url


def test_importing_the_sdk_stays_light_in_a_fresh_interpreter() -> None:
    heavy = ["numpy", "pandas", "duckdb", "sqlalchemy", "starlette", "fastapi", "opentelemetry"]
    code = (
        "import sys, llmpulse.sdk, llmpulse\n"
        "from llmpulse import Client, Schema, register\n"
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""
