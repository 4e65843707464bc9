"""Price-table patterns run on RE2: linear time, refused at upload when RE2 cannot run them."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from llmpulse.domain.patterns import MAX_PATTERN_LENGTH, compile_pattern
from llmpulse.domain.specs import ModelPrice, PriceTable
from llmpulse.ingest.price_config import stored_overrides
from llmpulse.ingest.pricing import PriceBook

EVIL = r"^(a+)+$"
AT = datetime(2026, 1, 1, tzinfo=UTC)


def test_patterns_match_the_whole_name_case_insensitively() -> None:
    p = compile_pattern(r"(openai/)?gpt-4o(-\d{4}-\d{2}-\d{2})?")
    assert p.fullmatch("OpenAI/GPT-4o-2024-08-06")
    assert not p.fullmatch("gpt-4o-mini")


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [(r"(gpt)-\1", "backreferences"), (r"(?=gpt)gpt", "lookaround"), ("a{5000}", "RE2")],
)
def test_patterns_re2_cannot_run_are_refused_with_a_reason(pattern: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        compile_pattern(pattern)


def test_overlong_pattern_is_refused() -> None:
    with pytest.raises(ValueError, match="longer than"):
        compile_pattern("a" * (MAX_PATTERN_LENGTH + 1))


def test_price_entry_with_unsupported_pattern_names_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        PriceTable.model_validate({"prices": [{"match": r"(a)\1", "input": 1e-6, "output": 1e-6}]})
    assert caught.value.errors()[0]["loc"] == ("prices", 0, "match")


def test_backtracking_pattern_against_a_long_name_is_linear() -> None:
    price = ModelPrice(match=EVIL, input=Decimal("1e-6"), output=Decimal("2e-6"))
    book = PriceBook([PriceTable(prices=(price,))])
    start = time.perf_counter()
    assert book.price_for("a" * 20_000 + "!", None, AT) is None  # Python's re: 2**20000 steps
    assert book.price_for("a" * 20_000, None, AT) == price
    assert time.perf_counter() - start < 1.0


def test_stored_overrides_drop_only_the_entries_re2_refuses() -> None:
    body = json.dumps(
        {
            "prices": [
                {"match": r"(?=x)x", "input": "1e-6", "output": "1e-6"},
                {"match": EVIL, "input": "2e-6", "output": "2e-6"},
            ]
        }
    )
    table = stored_overrides(body)
    assert table is not None
    assert [p.match for p in table.prices] == [EVIL]
    only_bad = json.dumps({"prices": [{"match": r"(a)\1", "input": "1e-6", "output": "1e-6"}]})
    assert stored_overrides(only_bad) is None
    assert stored_overrides("not json") is None
