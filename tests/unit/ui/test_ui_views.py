"""Pure parts of the UI: the filter form and the waterfall layout (no server, no browser)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from llmpulse.domain.errors import InvalidInput
from llmpulse.domain.ids import ProjectName, SpanId, TraceId
from llmpulse.domain.spans import Span, SpanKind, StatusCode
from llmpulse.query.service import Trace
from llmpulse.query.traces import build_tree
from llmpulse.store.api import AttrEquals
from llmpulse.ui.filters import FilterForm, replace_param
from llmpulse.ui.views import format_cost, format_ms, preview, trace_view

T0 = datetime(2025, 11, 23, 12, 0, 0, tzinfo=UTC)
P = ProjectName("p")


def _span(n: int, parent: int | None, start_ms: int, end_ms: int) -> Span:
    return Span(
        project=P,
        trace_id=TraceId("a" * 32),
        span_id=SpanId(f"{n:016x}"),
        parent_span_id=SpanId(f"{parent:016x}") if parent else None,
        name=f"s{n}",
        kind=SpanKind.CHAIN,
        start_time=T0 + timedelta(milliseconds=start_ms),
        end_time=T0 + timedelta(milliseconds=end_ms),
    )


def test_filter_form_builds_query_when_every_field_given() -> None:
    params = [
        ("start", "2025-11-23T12:00"),
        ("end", "2025-11-23T14:00:00+01:00"),
        ("kind", "llm"),
        ("status", "error"),
        ("model", "gpt-4o"),
        ("name", "chat"),
        ("attr", "metadata.region: eu-west"),
        ("attr", ""),
        ("q", "refund"),
        ("all", "1"),
        ("limit", "25"),
        ("cursor", "abc"),
    ]
    q = FilterForm.from_params(params).to_query(P)
    assert q.time.start == T0
    assert q.time.end == T0 + timedelta(hours=1)  # the offset is honoured
    assert q.kinds == (SpanKind.LLM,)
    assert q.status is StatusCode.ERROR
    assert q.models == ("gpt-4o",)
    assert q.names == ("chat",)
    assert q.attributes == (AttrEquals("metadata.region", "eu-west"),)
    assert q.text == "refund"
    assert q.root_only is False
    assert (q.limit, q.cursor) == (25, "abc")


def test_filter_form_lists_every_bad_field_when_input_unreadable() -> None:
    params = [("start", "soon"), ("kind", "robot"), ("attr", "nocolon"), ("limit", "5000")]
    with pytest.raises(InvalidInput) as info:
        FilterForm.from_params(params).to_query(P)
    assert [e.path for e in info.value.errors] == ["start", "kind", "attr[0]", "limit"]


def test_filter_form_rejects_range_when_end_not_after_start() -> None:
    form = FilterForm(start="2025-11-23T12:00", end="2025-11-23T11:00")
    with pytest.raises(InvalidInput, match="end"):
        form.to_query(P)


def test_filter_form_defaults_to_roots_when_empty() -> None:
    q = FilterForm.from_params([]).to_query(P)
    assert q.root_only is True
    assert q.limit == 50
    assert not FilterForm().is_filtered


def test_replace_param_swaps_cursor_and_drops_empty_values() -> None:
    params = [("status", "OK"), ("cursor", "old"), ("q", ""), ("attr", "a:1"), ("attr", "b:2")]
    assert replace_param(params, "cursor", "new") == "status=OK&attr=a%3A1&attr=b%3A2&cursor=new"
    assert replace_param(params, "cursor", None) == "status=OK&attr=a%3A1&attr=b%3A2"


def test_trace_view_places_spans_on_trace_axis_depth_first() -> None:
    spans = [
        _span(1, None, 0, 1000),
        _span(3, 1, 500, 1000),
        _span(2, 1, 100, 300),
        _span(4, 2, 150, 150),
    ]
    view = trace_view(Trace(TraceId("a" * 32), spans, build_tree(spans)))
    assert [(r.span.name, r.depth) for r in view.rows] == [
        ("s1", 0),
        ("s2", 1),
        ("s4", 2),
        ("s3", 1),
    ]
    by_name = {r.span.name: r for r in view.rows}
    assert (by_name["s1"].offset_pct, by_name["s1"].width_pct) == (0.0, 100.0)
    assert (by_name["s2"].offset_pct, by_name["s2"].width_pct) == (10.0, 20.0)
    assert (by_name["s3"].offset_pct, by_name["s3"].width_pct) == (50.0, 50.0)
    assert by_name["s4"].width_pct > 0  # a zero-length span still shows
    assert view.latency_ms == 1000.0
    assert view.find("0000000000000002").name == "s2"
    assert view.find("unknown").name == "s1"


def test_trace_view_counts_errors_when_spans_failed() -> None:
    spans = [replace(_span(1, None, 0, 10), status_code=StatusCode.ERROR), _span(2, 1, 1, 2)]
    assert trace_view(Trace(TraceId("a" * 32), spans, build_tree(spans))).num_errors == 1


@pytest.mark.parametrize(
    ("ms", "text"), [(0.5, "0.50 ms"), (12.4, "12 ms"), (1250, "1.25 s"), (90_000, "1.5 min")]
)
def test_format_ms_picks_unit_by_size(ms: float, text: str) -> None:
    assert format_ms(ms) == text


def test_format_cost_and_preview_shorten_values() -> None:
    assert format_cost(0.00012) == "$0.000120"
    assert format_cost(0.5) == "$0.5000"
    assert format_cost(None) == ""
    assert preview("a\n  b " + "x" * 200, 10) == "a b xxxxx…"
