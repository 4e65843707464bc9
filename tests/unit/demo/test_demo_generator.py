"""The demo generator: deterministic, well-formed traces, and the planted incidents show."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from llmpulse.demo.generator import (
    DemoBatch,
    estimate_demo,
    generate_demo,
    span_text_bytes,
)
from llmpulse.demo.traces import PRICES_PER_MTOK
from llmpulse.domain.spans import Annotation, Span, SpanKind, StatusCode

END = datetime(2025, 6, 2, 0, 0, tzinfo=UTC)


def _collect(batches: list[DemoBatch]) -> tuple[list[Span], list[Annotation]]:
    spans = [s for b in batches for s in b.spans]
    notes = [a for b in batches for a in b.annotations]
    return spans, notes


@pytest.fixture(scope="module")
def four_days() -> tuple[list[Span], list[Annotation]]:
    """Four days (the error burst is 81 hours before the end) at the default rate."""
    return _collect(list(generate_demo(end=END, days=4)))


def is_error(span: Span) -> bool:
    return span.status_code is StatusCode.ERROR


def _roots(spans: list[Span]) -> list[Span]:
    return [s for s in spans if s.parent_span_id is None]


def test_generate_demo_repeats_itself_when_seed_and_end_are_the_same() -> None:
    a = _collect(list(generate_demo(end=END, days=1, traces_per_hour=40, seed=3)))
    b = _collect(list(generate_demo(end=END, days=1, traces_per_hour=40, seed=3, batch_spans=97)))
    assert a == b
    c = _collect(list(generate_demo(end=END, days=1, traces_per_hour=40, seed=4)))
    assert [s.span_id for s in a[0]] != [s.span_id for s in c[0]]


def test_generate_demo_builds_rag_traces_inside_the_window(
    four_days: tuple[list[Span], list[Annotation]],
) -> None:
    spans, _ = four_days
    by_trace: dict[str, list[Span]] = defaultdict(list)
    for s in spans:
        by_trace[s.trace_id].append(s)
    start = END - timedelta(days=4)
    for trace in by_trace.values():
        (root,) = [s for s in trace if s.parent_span_id is None]
        assert (root.kind, root.name) == (SpanKind.CHAIN, "rag.query")
        kinds = {s.kind for s in trace}
        assert SpanKind.RETRIEVER in kinds
        assert SpanKind.LLM in kinds or root.status_code is StatusCode.ERROR
        for s in trace:
            assert s.parent_span_id in (None, root.span_id)
            assert start <= root.start_time <= s.start_time <= s.end_time <= root.end_time <= END
            assert set(s.metadata) == {"tier", "region", "product_line", "intent"}
            assert s.session_id
            assert s.user_id
            assert (s.environment, s.version in {"v1", "v2"}) == ("production", True)
    assert len({s.span_id for s in spans}) == len(spans)
    counts = Counter(s.kind for s in spans)
    assert counts[SpanKind.TOOL] > 0
    assert counts[SpanKind.RERANKER] > 0
    sessions = Counter(r.session_id for r in _roots(spans))
    assert max(sessions.values()) > 1


def test_generate_demo_llm_spans_carry_model_tokens_and_cost(
    four_days: tuple[list[Span], list[Annotation]],
) -> None:
    llms = [s for s in four_days[0] if s.kind is SpanKind.LLM]
    assert {"gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "llama-3.1-70b"} <= {
        s.model for s in llms
    }
    for s in llms[:500]:
        assert s.provider
        assert s.prompt_tokens
        assert s.total_tokens is not None
        assert s.input_messages[0].role == "system"
        p, c = PRICES_PER_MTOK[s.model or ""]
        expected = (s.prompt_tokens * p + (s.completion_tokens or 0) * c) / 1e6
        assert s.cost_usd == pytest.approx(expected, rel=1e-6)


def test_generate_demo_spans_carry_realistic_amounts_of_text(
    four_days: tuple[list[Span], list[Annotation]],
) -> None:
    mean_bytes = statistics.fmean(span_text_bytes(s) for s in four_days[0])
    assert 1000 <= mean_bytes <= 3000


def _error_rate(roots: list[Span]) -> float:
    return sum(is_error(r) for r in roots) / len(roots)


def test_generate_demo_fails_about_one_percent_outside_the_error_burst(
    four_days: tuple[list[Span], list[Annotation]],
) -> None:
    burst = (END - timedelta(hours=81), END - timedelta(hours=80))
    inside: list[Span] = []
    outside: list[Span] = []
    for r in _roots(four_days[0]):
        (inside if burst[0] <= r.start_time < burst[1] else outside).append(r)
    assert 0.003 <= _error_rate(outside) <= 0.025
    assert 0.2 <= _error_rate(inside) <= 0.4
    failed = [s for s in four_days[0] if s.status_code is StatusCode.ERROR]
    assert all(s.exception_type and s.events[0].name == "exception" for s in failed)


def test_generate_demo_plants_an_llm_latency_spike_in_eu_west(
    four_days: tuple[list[Span], list[Annotation]],
) -> None:
    lo, hi = END - timedelta(hours=30), END - timedelta(hours=28)
    groups: dict[str, list[float]] = defaultdict(list)
    for s in four_days[0]:
        if s.kind is SpanKind.LLM:
            in_window = lo <= s.start_time < hi
            key = f"{s.metadata['region'] == 'eu-west'}-{in_window}"
            groups[key].append(s.latency_ms)
    spike = statistics.median(groups["True-True"])
    assert spike > 3 * statistics.median(groups["True-False"])
    assert statistics.median(groups["False-True"]) < 2 * statistics.median(groups["False-False"])


def _mean_cost(spans: list[Span]) -> float:
    return statistics.fmean(s.cost_usd or 0.0 for s in spans)


def test_generate_demo_plants_a_cost_jump_for_enterprise_sales(
    four_days: tuple[list[Span], list[Annotation]],
) -> None:
    jump = END - timedelta(hours=48)
    before: list[Span] = []
    after: list[Span] = []
    other_after: list[Span] = []
    for s in four_days[0]:
        if s.kind is not SpanKind.LLM or s.cost_usd is None:
            continue
        segment = s.metadata["tier"] == "enterprise" and s.metadata["product_line"] == "sales"
        if segment:
            (after if s.start_time >= jump else before).append(s)
        elif s.start_time >= jump:
            other_after.append(s)
    assert _mean_cost(after) > 3 * _mean_cost(before)
    assert {s.model for s in after} == {"claude-3-opus"}
    assert "claude-3-opus" not in {s.model for s in other_after}


def test_generate_demo_exposes_its_incidents_as_data() -> None:
    data = generate_demo(end=END)
    names = {i.name: i for i in data.incidents}
    assert set(names) == {"llm-latency-spike", "error-burst", "sales-enterprise-cost-jump"}
    assert names["llm-latency-spike"].where == {"region": "eu-west"}
    assert names["sales-enterprise-cost-jump"].end == END
    assert all(data.start <= i.start < i.end <= END for i in data.incidents)
    short = generate_demo(end=END, days=1)
    assert "error-burst" not in {i.name for i in short.incidents}


def test_generate_demo_annotates_roots_with_feedback_and_llm_spans_with_judge(
    four_days: tuple[list[Span], list[Annotation]],
) -> None:
    spans, notes = four_days
    by_id: dict[str | None, Span] = {s.span_id: s for s in spans}
    roots = _roots(spans)
    feedback = [a for a in notes if a.name == "feedback"]
    judged = [a for a in notes if a.name == "hallucination"]
    assert 0.07 <= len(feedback) / len(roots) <= 0.13
    assert {a.label for a in feedback} == {"thumbs_up", "thumbs_down"}
    assert all(by_id[a.span_id].parent_span_id is None for a in feedback)
    assert judged
    assert all(by_id[a.span_id].kind is SpanKind.LLM for a in judged)
    assert all(a.annotator_kind == "LLM" and a.explanation for a in judged)
    assert all(a.created_at <= END for a in notes)

    def down_rate(failed: bool) -> float:
        rated = [a for a in feedback if is_error(by_id[a.span_id]) == failed]
        return sum(a.label == "thumbs_down" for a in rated) / len(rated)

    assert down_rate(failed=True) > 2 * down_rate(failed=False) > 0


def test_generate_demo_counts_traces_as_announced() -> None:
    data = generate_demo(end=END, days=2, traces_per_hour=30)
    spans, _ = _collect(list(data))
    assert len(_roots(spans)) == data.expected_traces
    assert 30 * 48 * 0.95 <= data.expected_traces <= 30 * 48 * 1.05


def test_estimate_demo_is_close_to_the_real_size() -> None:
    est = estimate_demo(end=END, days=1, traces_per_hour=60)
    spans, notes = _collect(list(generate_demo(end=END, days=1, traces_per_hour=60)))
    assert est.traces == len(_roots(spans))
    assert est.spans == pytest.approx(len(spans), rel=0.1)
    assert est.text_bytes == pytest.approx(sum(span_text_bytes(s) for s in spans), rel=0.15)
    assert est.annotations == pytest.approx(len(notes), rel=0.6)


def test_generate_demo_refuses_a_naive_end() -> None:
    with pytest.raises(ValueError, match="timezone"):
        generate_demo(end=datetime(2025, 1, 1))
