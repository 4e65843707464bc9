"""Cost enrichment of normalized spans from a `PriceBook` (METHODS.md §6, Langfuse semantics).

Rules, per span:

- A span that already carries ``cost_usd`` keeps it (ingested cost wins over inferred cost)
  and gets ``llmpulse.cost.source = "ingested"``.
- A span with a model and a prompt or completion token count is priced with the price in
  force at its ``start_time``; ``cost_usd`` becomes the float of the exact `Decimal` cost and
  ``llmpulse.cost.source = "price_table"``.
- A span with tokens whose model has no price in force (or whose token counts are negative)
  keeps ``cost_usd = None`` (never a silent 0), gets ``llmpulse.cost.unpriced = True`` and is
  counted under its model name in what `CostEnricher.enrich_rows` returns.
- Anything else (no model, or no prompt/completion count) passes through untouched.

Cache tokens come from ``llm.token_count.prompt_details.cache_read`` / ``.cache_write``
(OpenInference) or ``gen_ai.usage.cache_read.input_tokens`` /
``gen_ai.usage.cache_creation.input_tokens`` (OTel GenAI; the older
``gen_ai.usage.cache_*_input_tokens`` spellings are read too, ``cache_write_input_tokens``
included). Both conventions say the prompt
count includes them, so spans are normalised with `Usage.from_inclusive`; when the cache
counts exceed the prompt count, the instrumentation evidently reported Anthropic's exclusive
``input_tokens``, and `Usage.from_exclusive` is used instead.

Enrichment works on `SpanRow` values and updates them in place, attributes included: the
decoder's rows own their dicts, and `decode_pool.columnarize` copies a domain span's
attributes before its row is priced.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from llmpulse.clock import from_unix_us
from llmpulse.domain.spans import Span
from llmpulse.ingest.attributes import as_int
from llmpulse.ingest.pricing import PriceBook, Usage, cost_of_buckets
from llmpulse.store.events.codec import ROW_INDEX, SpanRow

COST_SOURCE = "llmpulse.cost.source"
COST_UNPRICED = "llmpulse.cost.unpriced"
SOURCE_INGESTED = "ingested"
SOURCE_PRICE_TABLE = "price_table"
CACHE_READ = (
    "llm.token_count.prompt_details.cache_read",
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
)
CACHE_WRITE = (
    "llm.token_count.prompt_details.cache_write",
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "gen_ai.usage.cache_write_input_tokens",  # Strands Agents (Bedrock) before 1.34
)
_CACHE_KEYS = frozenset(CACHE_READ + CACHE_WRITE)
_COST, _ATTRIBUTES, _MODEL, _PROVIDER, _PROMPT, _COMPLETION, _START = (
    ROW_INDEX[name]
    for name in (
        "cost_usd", "attributes", "model", "provider", "prompt_tokens", "completion_tokens",
        "start_time",
    )
)  # fmt: skip


class CostEnricher:
    """Fills the ``cost_usd`` of span rows from a `PriceBook` (rules in the module docstring)."""

    def __init__(self, book: PriceBook) -> None:
        """Price spans with ``book``; swap books by building a new enricher."""
        self.book = book

    def enrich_rows(self, rows: list[SpanRow]) -> dict[str, int]:
        """Price span rows in place; returns, per unpriced model name, how many rows it had."""
        unpriced: dict[str, int] = {}
        for row in rows:
            attrs = row[_ATTRIBUTES]
            if row[_COST] is not None:
                attrs[COST_SOURCE] = SOURCE_INGESTED
                continue
            model, prompt, completion = row[_MODEL], row[_PROMPT], row[_COMPLETION]
            if model is None or (prompt is None and completion is None):
                continue
            at = from_unix_us(row[_START])
            cost = self._price(model, row[_PROVIDER], at, prompt, completion, attrs)
            if cost is None:
                unpriced[model] = unpriced.get(model, 0) + 1
                attrs[COST_UNPRICED] = True
            else:
                row[_COST] = cost
                attrs[COST_SOURCE] = SOURCE_PRICE_TABLE
        return unpriced

    def _price(
        self,
        model: str,
        provider: str | None,
        at: datetime,
        prompt: int | None,
        completion: int | None,
        attrs: dict[str, Any],
    ) -> float | None:
        """The cost of one call, or None when it cannot be priced."""
        price = self.book.price_for(model, provider, at)
        if price is None:
            return None
        buckets = _buckets(prompt, completion, attrs)
        return None if buckets is None else float(cost_of_buckets(price, *buckets))


def span_usage(span: Span) -> Usage | None:
    """Disjoint usage buckets of a span, or None when a count is negative."""
    buckets = _buckets(span.prompt_tokens, span.completion_tokens, span.attributes)
    return None if buckets is None else Usage(*buckets)


def _buckets(
    prompt_tokens: int | None, completion_tokens: int | None, attrs: dict[str, Any]
) -> tuple[int, int, int, int] | None:
    """(uncached input, cache read, cache write, output), as in `Usage`; None if negative."""
    prompt = prompt_tokens or 0
    completion = completion_tokens or 0
    if _CACHE_KEYS.isdisjoint(attrs):
        if prompt < 0 or completion < 0:
            return None
        return prompt, 0, 0, completion
    read = _first_int(attrs, CACHE_READ)
    write = _first_int(attrs, CACHE_WRITE)
    if min(prompt, completion, read, write) < 0:
        return None
    if read + write > prompt:  # exclusive (Anthropic) input count: see the module docstring
        return prompt, read, write, completion
    return prompt - read - write, read, write, completion


def _first_int(attrs: dict[str, Any], keys: tuple[str, ...]) -> int:
    for key in keys:
        value = attrs.get(key)
        if value is not None:
            return as_int(value) or 0
    return 0
