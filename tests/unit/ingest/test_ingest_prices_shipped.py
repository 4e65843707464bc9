"""The shipped price table against the vendors' published prices, at the dates they applied."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from llmpulse.ingest.pricing import PriceBook, shipped_price_table

BOOK = PriceBook([shipped_price_table()])
BEFORE_ALIAS_MOVE = datetime(2024, 9, 1, tzinfo=UTC)  # gpt-4o still served 2024-05-13
AFTER_ALIAS_MOVE = datetime(2024, 10, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("model", "at", "input_", "output"),
    [
        # gpt-4o-2024-08-06 cost $2.50/$10 per 1M from its release, not only from 2024-10-02
        ("gpt-4o-2024-08-06", datetime(2024, 8, 7, tzinfo=UTC), "2.5e-6", "1e-5"),
        ("gpt-4o-2024-08-06", BEFORE_ALIAS_MOVE, "2.5e-6", "1e-5"),
        ("openai/gpt-4o-2024-08-06", BEFORE_ALIAS_MOVE, "2.5e-6", "1e-5"),
        ("gpt-4o-2024-08-06", AFTER_ALIAS_MOVE, "2.5e-6", "1e-5"),
        ("gpt-4o-2024-11-20", datetime(2024, 11, 21, tzinfo=UTC), "2.5e-6", "1e-5"),
        # the first snapshot kept its launch price; the alias moved on 2024-10-02
        ("gpt-4o-2024-05-13", AFTER_ALIAS_MOVE, "5e-6", "1.5e-5"),
        ("gpt-4o", BEFORE_ALIAS_MOVE, "5e-6", "1.5e-5"),
        ("gpt-4o", AFTER_ALIAS_MOVE, "2.5e-6", "1e-5"),
    ],
)
def test_gpt_4o_snapshots_cost_what_openai_published_at_the_time(
    model: str, at: datetime, input_: str, output: str
) -> None:
    price = BOOK.price_for(model, "openai", at)
    assert price is not None
    assert (price.input, price.output) == (Decimal(input_), Decimal(output))


def test_gpt_4o_2024_08_06_cached_input_is_half_the_input_price() -> None:
    price = BOOK.price_for("gpt-4o-2024-08-06", "openai", AFTER_ALIAS_MOVE)
    assert price is not None
    assert price.cache_read == Decimal("1.25e-6")


@pytest.mark.parametrize(
    "model",
    [
        "us.anthropic.claude-sonnet-4-20250514-v1:0",  # Bedrock cross-region inference profile
        "eu.anthropic.claude-3-7-sonnet-20250219-v1:0",
        "global.anthropic.claude-sonnet-4-20250514-v1:0",
        "bedrock/us.anthropic.claude-3-5-sonnet-20241022-v2:0",  # LiteLLM's name for it
        "claude-3-5-sonnet-v2@20241022",  # Vertex AI
        "vertex_ai/claude-sonnet-4@20250514",
    ],
)
def test_anthropic_models_behind_bedrock_and_vertex_names_have_anthropic_prices(model: str) -> None:
    price = BOOK.price_for(model, None, AFTER_ALIAS_MOVE.replace(year=2025, month=7))
    assert price is not None
    assert (price.input, price.cache_write, price.cache_read, price.output) == (
        Decimal("3e-6"),
        Decimal("3.75e-6"),
        Decimal("3e-7"),
        Decimal("1.5e-5"),
    )


@pytest.mark.parametrize(
    "model", ["us.openai.gpt-4o", "xx.anthropic.claude-sonnet-4", "claude-3-5-sonnet@2024"]
)
def test_anthropic_patterns_still_refuse_other_names(model: str) -> None:
    assert BOOK.price_for(model, None, datetime(2025, 7, 1, tzinfo=UTC)) is None
