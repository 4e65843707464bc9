"""The time range of every page: presets, absolute ranges, the picker, chart point links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlparse

import pytest

from llmpulse.domain.errors import InvalidInput
from llmpulse.domain.ids import ProjectName
from llmpulse.ui.charts import Series, line_chart
from llmpulse.ui.drill import bucket_window, point_link
from llmpulse.ui.filters import FilterForm
from llmpulse.ui.timerange import time_picker
from llmpulse.ui.windows import CUSTOM, auto_bucket, resolve_window

T0 = datetime(2025, 11, 23, 0, 0, tzinfo=UTC)
LAST = T0 + timedelta(days=3, hours=5, minutes=7, seconds=3, microseconds=250_400)
H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("key", "length", "bucket"),
    [("15m", timedelta(minutes=15), "1m"), ("1h", H, "1m"), ("6h", 6 * H, "5m"),
     ("24h", 24 * H, "5m"), ("7d", 7 * 24 * H, "1h"), ("30d", 30 * 24 * H, "1d")],
)  # fmt: skip
def test_every_preset_ends_just_after_the_last_span(
    key: str, length: timedelta, bucket: str
) -> None:
    w = resolve_window(key, "auto", T0, LAST)
    assert w.end is not None
    assert w.start is not None
    assert LAST < w.end <= LAST + timedelta(milliseconds=1)
    assert w.end - w.start == length
    assert w.bucket_key == bucket
    assert w.page_params() == [("window", key)]


def test_absolute_start_and_end_win_over_the_preset() -> None:
    w = resolve_window("24h", "auto", T0, LAST, "2025-11-24T10:00", "2025-11-24T12:30:00Z")
    assert w.key == CUSTOM
    assert w.start == datetime(2025, 11, 24, 10, tzinfo=UTC)
    assert w.end == datetime(2025, 11, 24, 12, 30, tzinfo=UTC)
    assert w.bucket_key == "5m"
    assert w.page_params() == [("start", "2025-11-24T10:00:00.000"),
                               ("end", "2025-11-24T12:30:00.000")]  # fmt: skip


def test_an_open_side_of_an_absolute_range_is_the_projects_first_or_last_span() -> None:
    only_start = resolve_window("", "auto", T0, LAST, start="2025-11-25T00:00:00+01:00")
    assert only_start.start == datetime(2025, 11, 24, 23, tzinfo=UTC)
    assert only_start.end == LAST + timedelta(milliseconds=1)
    only_end = resolve_window("", "auto", T0, LAST, end="2025-11-24T00:00")
    assert (only_end.start, only_end.end) == (T0, T0 + 24 * H)


def test_a_start_after_the_last_span_is_an_empty_hour_not_an_error() -> None:
    w = resolve_window("", "auto", T0, LAST, start="2030-01-01T00:00")
    assert w.start is not None
    assert w.end == w.start + H


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [("yesterday", "", "start"), ("", "2025-13-01", "end"),
     ("2025-11-24T12:00", "2025-11-24T11:00", "end")],
)  # fmt: skip
def test_unreadable_or_reversed_ranges_are_refused_naming_the_field(
    start: str, end: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as e:
        resolve_window("all", "auto", T0, LAST, start, end)
    assert [x.path for x in e.value.errors] == [field]


def test_trace_params_keep_milliseconds_so_the_last_span_stays_inside() -> None:
    w = resolve_window("1h", "auto", T0, LAST)
    start, end = dict(w.trace_params())["start"], dict(w.trace_params())["end"]
    assert end == "2025-11-26T05:07:03.252"  # 03.2504 + 1 ms, rounded up to the millisecond
    form = FilterForm(start=start, end=end).to_query(ProjectName("p"))
    assert form.time.end is not None
    assert form.time.end > LAST


def test_auto_bucket_is_a_minute_up_to_about_an_hour() -> None:
    assert auto_bucket(timedelta(minutes=65)) == "1m"
    assert auto_bucket(timedelta(minutes=66)) == "5m"


def test_picker_presets_keep_the_page_filters_and_drop_the_cursor_and_old_range() -> None:
    tp = time_picker([("status", "ERROR"), ("cursor", "abc"), ("start", "2025-11-24T10:00"),
                      ("sort", "latency"), ("since", "x")])  # fmt: skip
    assert tp.is_custom
    assert tp.query == "?start=2025-11-24T10%3A00"
    assert tp.keep == (("status", "ERROR"), ("sort", "latency"))
    hrefs = {p.key: p.href for p in tp.presets}
    assert hrefs["6h"] == "?status=ERROR&sort=latency&window=6h"
    assert hrefs["all"] == "?status=ERROR&sort=latency"
    assert not any(p.on for p in tp.presets)


def test_picker_marks_the_current_preset_and_all_by_default() -> None:
    assert [p.key for p in time_picker([("window", "7d")]).presets if p.on] == ["7d"]
    assert [p.key for p in time_picker([]).presets if p.on] == ["all"]
    assert time_picker([("window", "all")]).query == ""


def test_chart_points_link_to_their_bucket_scope_and_segment() -> None:
    w = resolve_window("", "1h", T0, LAST, "2025-11-24T10:30", "2025-11-24T14:00")
    link = point_link("demo app", w, roots=False, metric="latency_ms:p95", split_key="model")
    chart = line_chart(
        [Series("gpt-4o", ((T0 + 34 * H, 1.0), (T0 + 36 * H, 2.0)))],
        w.start or T0, w.end or T0, w.bucket, str, link=link,
    )  # fmt: skip
    first, second = (d.href for d in chart.lines[0].dots)
    url = urlparse(first)
    assert url.path == "/ui/projects/demo%20app/traces"
    assert parse_qsl(url.query) == [
        ("all", "1"), ("model", "gpt-4o"), ("start", "2025-11-24T10:30:00.000"),
        ("end", "2025-11-24T11:00:00.000"), ("sort", "latency"), ("order", "desc"),
    ]  # fmt: skip
    # (the first bucket is clipped to the window's start)
    assert ("start", "2025-11-24T12:00:00.000") in parse_qsl(urlparse(second).query)
    assert chart.t_left == datetime(2025, 11, 24, 10, tzinfo=UTC)
    assert chart.t_right == datetime(2025, 11, 24, 14, tzinfo=UTC)


def test_a_missing_segment_value_and_a_count_chart_link_as_they_should() -> None:
    w = resolve_window("24h", "auto", T0, LAST)
    assert point_link("p", w, True, "count", "metadata.tier")("(none)", T0) == ""
    url = point_link("p", w, True, "count")("traces", LAST - H)
    assert "all=1" not in url
    assert "sort=" not in url
    b = bucket_window(w, LAST)  # the last bucket ends with the window
    assert b.end == w.end
