"""Metric frames → chart series, windows and analysis forms (pure UI helpers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from llmpulse.domain.errors import InvalidInput
from llmpulse.store.metric_api import MetricFrame, MetricRow
from llmpulse.ui.analysis_forms import AnalysisForm
from llmpulse.ui.page_support import traces_url
from llmpulse.ui.series import bucket_starts, group_series, metric_series
from llmpulse.ui.windows import auto_bucket, resolve_window

T0 = datetime(2025, 11, 23, 0, 0, tzinfo=UTC)
H = timedelta(hours=1)


def _row(hour: int, group: tuple[str | None, ...], n: int, *values: float | None) -> MetricRow:
    return MetricRow(T0 + hour * H, group, n, values, tuple(n for _ in values))


def test_metric_series_leaves_gaps_when_value_is_missing() -> None:
    frame = MetricFrame(("count", "error:rate"), (), [_row(0, (), 5, 5.0, 0.2),
                                                      _row(2, (), 3, 3.0, None)])  # fmt: skip
    rate = metric_series(frame, "error:rate", "errors")
    assert rate.points == ((T0, 0.2),)


def test_metric_series_fills_zero_counts_when_asked() -> None:
    frame = MetricFrame(("count",), (), [_row(0, (), 5, 5.0), _row(2, (), 3, 3.0)])
    fill = bucket_starts(T0, T0 + 3 * H, H)
    series = metric_series(frame, "count", "traces", fill)
    assert [v for _, v in series.points] == [5.0, 0.0, 3.0]


def test_metric_series_is_empty_when_frame_has_no_rows_even_with_fill() -> None:
    series = metric_series(MetricFrame(("count",), (), []), "count", "t", [T0, T0 + H])
    assert series.points == ()


def test_group_series_orders_groups_by_size_and_keeps_top() -> None:
    rows = [_row(0, ("free",), 10, 1.0), _row(0, ("pro",), 30, 2.0), _row(1, ("pro",), 30, 3.0),
            _row(0, (None,), 1, 9.0)]  # fmt: skip
    frame = MetricFrame(("latency_ms:p95",), ("metadata.tier",), rows)
    series = group_series(frame, "latency_ms:p95", top=2)
    assert [s.name for s in series] == ["pro", "free"]
    assert series[0].points == ((T0, 2.0), (T0 + H, 3.0))
    assert [s.name for s in group_series(frame, "latency_ms:p95")][-1] == "(none)"


def test_resolve_window_ends_at_last_span_and_picks_bucket_by_length() -> None:
    last = T0 + 7 * 24 * H
    w = resolve_window("24h", "auto", T0, last)
    assert w.end is not None
    assert w.start is not None
    assert w.end > last
    assert w.end - w.start == 24 * H
    assert w.bucket_key == "5m"
    assert resolve_window("all", "auto", T0, last).bucket_key == "1h"
    assert resolve_window("30d", "", T0, last).bucket_key == "1d"
    assert resolve_window("all", "1d", T0, last).bucket == 24 * H
    assert auto_bucket(timedelta(days=20)) == "1d"


def test_resolve_window_has_no_bounds_when_project_has_no_spans() -> None:
    w = resolve_window("all", "auto", None, None)
    assert not w.has_data


@pytest.mark.parametrize(("window", "bucket"), [("2w", "auto"), ("all", "7m")])
def test_resolve_window_refuses_unknown_names(window: str, bucket: str) -> None:
    with pytest.raises(InvalidInput) as e:
        resolve_window(window, bucket, T0, T0 + H)
    assert e.value.errors[0].path in ("window", "bucket")


def test_analysis_form_reads_repeated_keys_and_checks_numbers() -> None:
    form = AnalysisForm.from_params(
        [("metric", "error:rate"), ("key", "a"), ("key", "b"), ("key", "a"), ("key", " "),
         ("discover", "1"), ("min_support", "x")]
    )  # fmt: skip
    assert form.keys == ("a", "b")
    assert form.discover
    with pytest.raises(InvalidInput):
        form.parsed_min_support()
    with pytest.raises(InvalidInput):
        AnalysisForm(threshold="1.5").parsed_threshold()
    with pytest.raises(InvalidInput):
        AnalysisForm(direction="sideways").parsed_direction()


def test_traces_url_uses_typed_filters_for_model_and_attr_for_metadata() -> None:
    url = traces_url("p q", (("metadata.tier", "free"), ("model", "gpt-4o")), None)
    assert url == "/ui/projects/p%20q/traces?all=1&attr=metadata.tier%3Afree&model=gpt-4o"
