"""Cost enrichment of spans at ingest: table arithmetic, ingested cost, unpriced models."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from llmpulse.demo.traces import PROVIDERS
from llmpulse.domain.ids import ProjectName, SpanId, TraceId
from llmpulse.domain.spans import Message, Span, SpanKind, StatusCode
from llmpulse.domain.specs import PriceTable
from llmpulse.ingest.decode_pool import columnarize
from llmpulse.ingest.enrich import (
    COST_SOURCE,
    COST_UNPRICED,
    CostEnricher,
    span_usage,
)
from llmpulse.ingest.pricing import PriceBook, Usage, compute_cost, default_price_book
from llmpulse.store.events.codec import span_from_row, span_to_row

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
DEMO_MODELS = ("gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "llama-3.1-70b", "claude-3-opus")


def _span(n: int = 0, at: datetime = START, **kw: Any) -> Span:
    return Span(
        project=ProjectName("p"),
        trace_id=TraceId(f"{n:032x}"),
        span_id=SpanId(f"{n:016x}"),
        parent_span_id=None,
        name="llm",
        kind=SpanKind.LLM,
        start_time=at,
        end_time=at + timedelta(seconds=1),
        **kw,
    )


@dataclasses.dataclass
class Enriched:
    spans: list[Span]
    unpriced: dict[str, int]


def _enrich(*spans: Span, book: PriceBook | None = None) -> Enriched:
    """Price the spans' rows (each with its own attributes dict) and read them back."""
    rows = [span_to_row(dataclasses.replace(s, attributes=dict(s.attributes))) for s in spans]
    unpriced = CostEnricher(book or default_price_book()).enrich_rows(rows)
    return Enriched([span_from_row(r) for r in rows], unpriced)


def test_enrich_costs_span_by_table_arithmetic_when_openinference_cache_read_present() -> None:
    attrs = {"llm.token_count.prompt_details.cache_read": 400, "llm.model_name": "gpt-4o"}
    span = _span(
        model="gpt-4o",
        provider="openai",
        prompt_tokens=1000,
        completion_tokens=500,
        attributes=attrs,
    )
    result = _enrich(span)
    (out,) = result.spans
    # METHODS.md §6.1 oracle through the shipped table: 0.007 USD.
    assert out.cost_usd == pytest.approx(0.007, rel=1e-12)
    assert out.attributes[COST_SOURCE] == "price_table"
    assert result.unpriced == {}
    assert COST_SOURCE not in span.attributes  # the input span's dict is untouched


def test_enrich_equals_compute_cost_for_each_demo_model() -> None:
    book = default_price_book()
    spans = [
        _span(i, model=m, provider=PROVIDERS[m], prompt_tokens=1234 + i, completion_tokens=321)
        for i, m in enumerate(DEMO_MODELS)
    ]
    result = _enrich(*spans, book=book)
    assert result.unpriced == {}
    for span, out in zip(spans, result.spans, strict=True):
        price = book.price_for(span.model or "", span.provider, span.start_time)
        assert price is not None
        expected = price.input * (span.prompt_tokens or 0) + price.output * 321
        assert out.cost_usd == float(expected)
        assert out.cost_usd is not None
        assert out.cost_usd > 0


def test_enrich_reads_otel_genai_cache_attributes_when_input_includes_them() -> None:
    # OTel GenAI: cache_read/cache_creation SHOULD be included in gen_ai.usage.input_tokens.
    attrs = {
        "gen_ai.usage.input_tokens": 4200,
        "gen_ai.usage.cache_read.input_tokens": 3000,
        "gen_ai.usage.cache_creation.input_tokens": 1000,
    }
    span = _span(
        model="claude-3-5-sonnet-20241022",
        provider="anthropic",
        prompt_tokens=4200,
        completion_tokens=500,
        attributes=attrs,
    )
    (out,) = _enrich(span).spans
    assert span_usage(span) == Usage.from_exclusive(200, 500, 3000, 1000)
    assert out.cost_usd == float(Decimal("0.01275"))  # METHODS.md §6.1 Anthropic oracle


def test_enrich_treats_prompt_as_exclusive_when_cache_tokens_exceed_it() -> None:
    # An instrumentation that reports Anthropic's raw input_tokens (cache excluded).
    attrs = {
        "llm.token_count.prompt_details.cache_read": 3000,
        "llm.token_count.prompt_details.cache_write": "1000",
    }
    span = _span(
        model="claude-3-5-sonnet",
        provider="anthropic",
        prompt_tokens=200,
        completion_tokens=500,
        attributes=attrs,
    )
    (out,) = _enrich(span).spans
    assert out.cost_usd == float(Decimal("0.01275"))


def test_enrich_keeps_ingested_cost_when_span_already_has_one() -> None:
    span = _span(
        model="gpt-4o", provider="openai", prompt_tokens=1000, completion_tokens=500, cost_usd=0.5
    )
    (out,) = _enrich(span).spans
    assert out.cost_usd == 0.5
    assert out.attributes[COST_SOURCE] == "ingested"


def test_enrich_reports_unpriced_model_and_never_writes_zero() -> None:
    spans = [
        _span(1, model="acme-secret-llm", prompt_tokens=10, completion_tokens=5),
        _span(2, model="acme-secret-llm", completion_tokens=5),
        _span(3, model="other-llm", prompt_tokens=10),
        _span(4, model="gpt-4o", provider="openai", prompt_tokens=10, completion_tokens=1),
    ]
    result = _enrich(*spans)
    assert result.unpriced == {"acme-secret-llm": 2, "other-llm": 1}
    for out in result.spans[:3]:
        assert out.cost_usd is None
        assert out.attributes[COST_UNPRICED] is True
        assert COST_SOURCE not in out.attributes
    assert result.spans[3].cost_usd is not None
    assert COST_UNPRICED not in result.spans[3].attributes


def test_enrich_prices_by_span_start_time_when_price_changed() -> None:
    before = _span(
        1,
        at=datetime(2024, 9, 1, tzinfo=UTC),
        model="gpt-4o",
        prompt_tokens=1000,
        completion_tokens=0,
    )
    after = _span(
        2,
        at=datetime(2024, 11, 1, tzinfo=UTC),
        model="gpt-4o",
        prompt_tokens=1000,
        completion_tokens=0,
    )
    old, new = _enrich(before, after).spans
    assert old.cost_usd == float(Decimal("0.005"))
    assert new.cost_usd == float(Decimal("0.0025"))


def test_enrich_uses_override_table_when_book_has_one() -> None:
    override = PriceTable.model_validate(
        {"prices": [{"model": "acme-secret-llm", "input": "1e-6", "output": "3e-6"}]}
    )
    book = default_price_book().with_overrides(override)
    span = _span(model="acme-secret-llm", prompt_tokens=100, completion_tokens=10)
    result = _enrich(span, book=book)
    assert result.unpriced == {}
    assert result.spans[0].cost_usd == float(Decimal("0.00013"))


def test_enrich_passes_span_through_when_no_model_or_no_tokens() -> None:
    chain = _span(1, attributes={"x": 1})
    total_only = _span(2, model="gpt-4o", total_tokens=100)
    result = _enrich(chain, total_only)
    assert result.spans == [chain, total_only]
    assert result.unpriced == {}


def test_enrich_changes_only_cost_and_attributes_when_span_has_every_field_set() -> None:
    span = _span(
        7,
        status_code=StatusCode.ERROR,
        status_message="boom",
        model="gpt-4o-mini",
        provider="openai",
        prompt_tokens=50,
        completion_tokens=7,
        total_tokens=57,
        session_id="s",
        user_id="u",
        environment="prod",
        version="1.2",
        http_status=500,
        input_value="q",
        output_value="a",
        input_messages=(Message("user", "q"),),
        output_messages=(Message("assistant", "a"),),
        exception_type="E",
        exception_message="m",
        metadata={"k": "v"},
        tags=("t",),
        attributes={"a": 1},
        resource_attributes={"service.name": "svc"},
    )
    (out,) = _enrich(span).spans
    assert out == dataclasses.replace(span, cost_usd=out.cost_usd, attributes=out.attributes)
    assert out.attributes == {"a": 1, COST_SOURCE: "price_table"}
    price = default_price_book().price_for("gpt-4o-mini", "openai", START)
    assert price is not None
    assert out.cost_usd == float(compute_cost(price, Usage.from_inclusive(50, 7)))


def test_enrich_counts_span_unpriced_when_token_counts_are_negative() -> None:
    span = _span(model="gpt-4o", prompt_tokens=-5, completion_tokens=3)
    result = _enrich(span)
    assert result.unpriced == {"gpt-4o": 1}
    assert result.spans[0].cost_usd is None


def test_columnarize_prices_a_copy_and_leaves_domain_spans_untouched() -> None:
    span = _span(1, model="gpt-4o-mini", prompt_tokens=50, completion_tokens=7, attributes={})
    batch = columnarize([span], CostEnricher(default_price_book()))
    assert span.attributes == {}
    assert span.cost_usd is None
    assert batch.table is not None
    assert batch.table.column("cost_usd")[0].as_py() == _enrich(span).spans[0].cost_usd


def test_enrich_prices_bedrock_agent_cached_usage_with_its_exclusive_input_count() -> None:
    # Strands Agents on Bedrock: a cross-region profile id, input_tokens without the cache,
    # and the older cache_write_input_tokens spelling for the cache write.
    attrs = {
        "gen_ai.usage.cache_read_input_tokens": 35574,
        "gen_ai.usage.cache_write_input_tokens": 17787,
    }
    span = _span(
        model="us.anthropic.claude-sonnet-4-20250514-v1:0",
        prompt_tokens=4299,
        completion_tokens=631,
        attributes=attrs,
    )
    enriched = _enrich(span)
    expected = (
        4299 * Decimal("3e-6")
        + 35574 * Decimal("3e-7")
        + 17787 * Decimal("3.75e-6")
        + 631 * Decimal("1.5e-5")
    )
    assert enriched.unpriced == {}
    assert enriched.spans[0].cost_usd == float(expected)
