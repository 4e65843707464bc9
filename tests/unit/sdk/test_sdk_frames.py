"""JSON answers of the analytics endpoints → rows → DataFrames, and query-string building."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pandas as pd
import pytest

from llmpulse.sdk.analytics import jsonable
from llmpulse.sdk.frames import (
    comparison_rows,
    fairness_rows,
    metric_rows,
    price_rows,
    slice_rows,
    to_frame,
    unpriced_rows,
)
from llmpulse.sdk.query_params import filter_params, to_time

METRICS_BODY = {
    "metrics": ["latency_ms:p95", "error:rate"],
    "group_by": ["metadata.tier", "model"],
    "bucket_s": 3600,
    "rows": [
        {
            "bucket": "2025-03-01T10:00:00Z",
            "group": ["pro", "gpt-4o"],
            "n": 12,
            "values": {"latency_ms:p95": 812.5, "error:rate": 0.25},
            "support": {"latency_ms:p95": 12, "error:rate": 12},
        },
        {
            "bucket": "2025-03-01T11:00:00Z",
            "group": ["free", None],
            "n": 3,
            "values": {"latency_ms:p95": None, "error:rate": 0.0},
            "support": {"latency_ms:p95": 0, "error:rate": 3},
        },
    ],
}


def _slice(keys: dict[str, str], rank: int | None, value: float | None) -> dict[str, object]:
    return {
        "keys": keys, "n": 40, "share": 0.4, "value": value, "rest_value": 0.1, "diff": None,
        "ci_low": None, "ci_high": None, "effect": 0.5, "p_value": 0.01, "p_adjusted": 0.02,
        "significant": rank is not None, "worse": True, "impact": 3.0, "explained_share": 0.9,
        "test": "z", "tested": True, "rank": rank,
    }  # fmt: skip


def test_metric_rows_spread_groups_values_and_support_into_columns() -> None:
    table = metric_rows(METRICS_BODY)
    assert table.columns == [
        "bucket", "metadata.tier", "model", "n", "latency_ms:p95", "error:rate",
        "support.latency_ms:p95", "support.error:rate",
    ]  # fmt: skip
    assert table.rows[1] == {
        "bucket": "2025-03-01T11:00:00Z", "metadata.tier": "free", "model": None, "n": 3,
        "latency_ms:p95": None, "error:rate": 0.0, "support.latency_ms:p95": 0,
        "support.error:rate": 3,
    }  # fmt: skip
    assert table.attrs == {
        "metrics": ["latency_ms:p95", "error:rate"],
        "group_by": ["metadata.tier", "model"],
        "bucket_s": 3600,
    }


def test_to_frame_types_metric_columns_when_values_are_missing() -> None:
    df = to_frame(metric_rows(METRICS_BODY))
    assert df["bucket"].tolist() == [
        datetime(2025, 3, 1, 10, tzinfo=UTC),
        datetime(2025, 3, 1, 11, tzinfo=UTC),
    ]
    assert str(df["bucket"].dt.tz) == "UTC"
    assert df["latency_ms:p95"].dtype == "float64"
    assert pd.isna(df["latency_ms:p95"].iloc[1])
    assert str(df["n"].dtype) == "Int64"
    assert df["support.error:rate"].tolist() == [12, 3]
    assert df.attrs["bucket_s"] == 3600


def test_to_frame_keeps_the_columns_when_there_are_no_rows() -> None:
    body = {"metrics": ["count"], "group_by": [], "bucket_s": None, "rows": []}
    df = to_frame(metric_rows(body))
    assert df.empty
    assert list(df.columns) == ["bucket", "n", "count", "support.count"]


def test_slice_rows_leave_unfixed_keys_null_for_one_key_slices() -> None:
    body = {
        "metric": "cost_usd:mean", "kind": "mean", "keys": ["metadata.tier", "metadata.region"],
        "total_n": 100,
        "data": [
            _slice({"metadata.tier": "pro", "metadata.region": "eu"}, 1, 0.5),
            _slice({"metadata.region": "us"}, None, None),
        ],
    }  # fmt: skip
    df = to_frame(slice_rows(body))
    assert df["slice"].tolist() == ["metadata.tier=pro, metadata.region=eu", "metadata.region=us"]
    assert df["metadata.region"].tolist() == ["eu", "us"]
    assert pd.isna(df["metadata.tier"].iloc[1])
    assert df["rank"].iloc[0] == 1
    assert pd.isna(df["rank"].iloc[1])
    assert df["diff"].dtype == "float64"
    assert df["diff"].isna().all()
    assert df["significant"].tolist() == [True, False]
    assert df.attrs == {"metric": "cost_usd:mean", "kind": "mean", "total_n": 100,
                        "keys": ["metadata.tier", "metadata.region"]}  # fmt: skip


def test_fairness_rows_move_report_figures_to_attrs() -> None:
    group = {"n": 50, "selected": 5, "selection_rate": 0.1, "ci_low": 0.04, "ci_high": 0.2,
             "suppressed": False, "impact_ratio": 0.5, "passes_four_fifths": False,
             "most_favoured": False, "parity_difference": 0.1, "parity_ratio": 0.5,
             "threshold": 0.8, "min_support": 30}  # fmt: skip
    body = {
        "metric": "error:rate", "key": "metadata.tier", "parity_difference": 0.1,
        "parity_ratio": 0.5, "most_favoured": "pro", "threshold": 0.8, "min_support": 30,
        "groups": [group | {"group": "free"}, group | {"group": "pro", "selection_rate": 0.2}],
    }  # fmt: skip
    table = fairness_rows(body)
    assert "parity_ratio" not in table.columns
    assert "group" in table.columns
    df = to_frame(table)
    assert df["group"].tolist() == ["free", "pro"]
    assert df["selection_rate"].tolist() == [0.1, 0.2]
    assert df.attrs["parity_ratio"] == 0.5
    assert df.attrs["most_favoured"] == "pro"


def test_comparison_rows_put_the_signal_in_attrs() -> None:
    row = {"name": "latency_ms:p95", "test": "mann_whitney", "baseline_value": 100.0,
           "candidate_value": 150.0, "diff": 50.0, "ci_low": 20.0, "ci_high": 80.0,
           "p_value": 0.001, "effect": 0.4, "verdict": "worse", "required_n_per_group": None,
           "guard_rail": True, "baseline_n": 200, "candidate_n": 210, "signal": "hold"}  # fmt: skip
    body = {"key": "version", "baseline": "v1", "candidate": "v2", "signal": "hold",
            "metrics": [row]}  # fmt: skip
    df = to_frame(comparison_rows(body))
    assert "signal" not in df.columns
    assert df.attrs == {"signal": "hold", "key": "version", "baseline": "v1", "candidate": "v2"}
    assert df["verdict"].tolist() == ["worse"]
    assert pd.isna(df["required_n_per_group"].iloc[0])
    assert df["candidate_n"].tolist() == [210]


def test_unpriced_and_price_rows_flatten_the_answers() -> None:
    df = to_frame(unpriced_rows({"data": [{"model": "acme", "spans": 7}]}))
    assert df.to_dict("records") == [{"model": "acme", "spans": 7}]
    price = {"model": "acme", "match": None, "provider": None, "input": "1E-6",
             "output": "2E-6", "tiers": [{"above_input_tokens": 10}]}  # fmt: skip
    body = {"shipped": {"prices": [price]}, "file": None, "overrides": {"prices": [price]}}
    rows = price_rows(body).rows
    assert [(r["layer"], r["model"], r["tiers"]) for r in rows] == [
        ("shipped", "acme", 1),
        ("overrides", "acme", 1),
    ]


def test_filter_params_repeat_lists_and_format_times() -> None:
    params = filter_params(
        {
            "start": datetime(2025, 3, 1, 12, tzinfo=timezone(timedelta(hours=2))),
            "end": "2025-03-02T00:00:00Z",
            "kind": ["LLM", "CHAIN"],
            "attr": {"metadata.tier": "pro", "metadata.region": "eu"},
            "status": "ERROR",
            "root_only": True,
            "model": None,
        }
    )
    assert params == [
        ("start", "2025-03-01T12:00:00+02:00"),
        ("end", "2025-03-02T00:00:00Z"),
        ("kind", "LLM"),
        ("kind", "CHAIN"),
        ("status", "ERROR"),
        ("attr", "metadata.tier:pro"),
        ("attr", "metadata.region:eu"),
        ("root_only", "true"),
    ]
    assert to_time(datetime(2025, 3, 1)) == "2025-03-01T00:00:00+00:00"


def test_filter_params_refuse_an_unknown_filter_name() -> None:
    with pytest.raises(TypeError, match="regoin"):
        filter_params({"regoin": "eu"})


def testjsonable_turns_yaml_dates_into_iso_text() -> None:
    loaded = {"prices": [{"model": "m", "effective_from": date(2025, 1, 1), "input": 1e-6}]}
    assert jsonable(loaded) == {
        "prices": [{"model": "m", "effective_from": "2025-01-01", "input": 1e-6}]
    }
