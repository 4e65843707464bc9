"""Price tables, price lookup and cost arithmetic (METHODS.md §6.1-6.3 oracles)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from importlib.resources import files
from pathlib import Path

import pytest
from pydantic import ValidationError

from llmpulse.demo.traces import PRICES_PER_MTOK, PROVIDERS
from llmpulse.domain.errors import InvalidInput
from llmpulse.domain.specs import ModelPrice, PriceTable, PriceTier
from llmpulse.ingest.pricing import (
    PriceBook,
    Usage,
    compute_cost,
    default_price_book,
    load_price_table,
    shipped_price_table,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "prices"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
DEMO_MODELS = ("gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "llama-3.1-70b", "claude-3-opus")


def _price(**kw: object) -> ModelPrice:
    return ModelPrice.model_validate({"model": "m", "input": "1e-6", "output": "2e-6", **kw})


def _book(*tables: list[dict[str, object]]) -> PriceBook:
    return PriceBook([PriceTable.model_validate({"prices": prices}) for prices in tables])


# --- cost arithmetic --------------------------------------------------------------------------


def test_pricing_costs_openai_usage_0_007_when_400_of_1000_prompt_tokens_are_cached() -> None:
    # METHODS.md §6.1 oracle: 600·2.5e-6 + 400·1.25e-6 + 500·1e-5 = 0.007 exactly.
    price = _price(input="2.5e-6", cache_read="1.25e-6", output="1e-5")
    usage = Usage.from_inclusive(prompt=1000, completion=500, cache_read=400)
    cost = compute_cost(price, usage)
    assert usage == Usage(input_uncached=600, cache_read=400, cache_write=0, output=500)
    assert isinstance(cost, Decimal)
    assert cost == Decimal("0.007")


def test_pricing_costs_anthropic_usage_0_01275_when_input_excludes_cache_tokens() -> None:
    # METHODS.md §6.1 oracle: input 200, cache write 1000, cache read 3000, output 500.
    price = _price(input="3e-6", cache_write="3.75e-6", cache_read="3e-7", output="1.5e-5")
    usage = Usage.from_exclusive(
        input_tokens=200, output_tokens=500, cache_read=3000, cache_write=1000
    )
    assert compute_cost(price, usage) == Decimal("0.01275")


def test_pricing_gives_same_anthropic_cost_when_cache_tokens_are_folded_into_prompt() -> None:
    price = _price(input="3e-6", cache_write="3.75e-6", cache_read="3e-7", output="1.5e-5")
    folded = Usage.from_inclusive(prompt=4200, completion=500, cache_read=3000, cache_write=1000)
    assert folded == Usage.from_exclusive(200, 500, 3000, 1000)
    assert compute_cost(price, folded) == Decimal("0.01275")


def test_pricing_prices_whole_request_at_tier_when_input_exceeds_threshold() -> None:
    # METHODS.md §6.2 oracle: 250000 in / 1000 out → 1.5225 (tier), not 0.765 nor a bracket.
    table = load_price_table(DATA / "tiered.yaml")
    price = table.prices[0]
    cost = compute_cost(price, Usage.from_inclusive(250_000, 1_000))
    assert cost == Decimal("1.5225")
    bracket = Decimal(200_000) * Decimal("3e-6") + Decimal(50_000) * Decimal("6e-6")
    assert cost not in (Decimal("0.765"), bracket + Decimal(1000) * Decimal("2.25e-5"))


def test_pricing_uses_default_tier_when_input_equals_threshold() -> None:
    price = load_price_table(DATA / "tiered.yaml").prices[0]
    cost = compute_cost(price, Usage.from_inclusive(200_000, 1_000))
    assert cost == Decimal(200_000) * Decimal("3e-6") + Decimal(1_000) * Decimal("1.5e-5")


def test_pricing_counts_cache_tokens_towards_tier_threshold() -> None:
    price = load_price_table(DATA / "tiered.yaml").prices[0]
    usage = Usage.from_exclusive(input_tokens=100_000, output_tokens=0, cache_read=150_000)
    # No tier cache price: cache reads fall back to the tier's input price.
    assert compute_cost(price, usage) == Decimal(250_000) * Decimal("6e-6")


def test_pricing_picks_highest_tier_exceeded_when_several_tiers() -> None:
    tiers = [
        {"above_input_tokens": 1000, "input": "2e-6", "output": "2e-6"},
        {"above_input_tokens": 5000, "input": "4e-6", "output": "4e-6"},
    ]
    price = _price(tiers=tiers)
    assert compute_cost(price, Usage(input_uncached=500)) == Decimal("0.0005")
    assert compute_cost(price, Usage(input_uncached=2000)) == Decimal("0.004")
    assert compute_cost(price, Usage(input_uncached=6000)) == Decimal("0.024")


def test_pricing_charges_cache_tokens_at_input_price_when_no_cache_price() -> None:
    price = _price(input="1e-6", output="2e-6")
    usage = Usage.from_inclusive(prompt=1000, completion=0, cache_read=600, cache_write=100)
    assert compute_cost(price, usage) == Decimal("0.001")


def test_pricing_charges_zero_cache_price_when_table_says_zero() -> None:
    price = _price(input="1e-6", cache_read="0", output="2e-6")
    assert compute_cost(price, Usage.from_inclusive(1000, 0, cache_read=1000)) == 0


def test_pricing_refuses_usage_when_cache_tokens_exceed_inclusive_prompt() -> None:
    with pytest.raises(ValueError, match="exceed prompt"):
        Usage.from_inclusive(prompt=100, completion=0, cache_read=101)
    with pytest.raises(ValueError, match="negative"):
        Usage(input_uncached=-1)


# --- lookup -----------------------------------------------------------------------------------


def test_pricing_selects_version_in_force_when_price_changed() -> None:
    book = default_price_book()
    before = book.price_for("gpt-4o", "openai", datetime(2024, 10, 1, 23, 59, tzinfo=UTC))
    at_change = book.price_for("gpt-4o", "openai", datetime(2024, 10, 2, tzinfo=UTC))
    assert before is not None
    assert at_change is not None
    assert (before.input, before.output) == (Decimal("5e-6"), Decimal("1.5e-5"))
    assert (at_change.input, at_change.cache_read) == (Decimal("2.5e-6"), Decimal("1.25e-6"))
    o3_old = book.price_for("o3", None, datetime(2025, 5, 1, tzinfo=UTC))
    o3_new = book.price_for("o3", None, datetime(2025, 7, 1, tzinfo=UTC))
    assert o3_old is not None
    assert o3_new is not None
    assert (o3_old.input, o3_new.input) == (Decimal("1e-5"), Decimal("2e-6"))


def test_pricing_returns_none_when_no_version_in_force_yet() -> None:
    book = _book(
        [{"model": "new-model", "input": "1e-6", "output": "1e-6", "effective_from": "2025-03-01"}]
    )
    assert book.price_for("new-model", None, datetime(2025, 2, 28, tzinfo=UTC)) is None
    assert book.price_for("new-model", None, datetime(2025, 3, 1, tzinfo=UTC)) is not None


@pytest.mark.parametrize(
    ("name", "expected_input"),
    [
        ("gpt-4o", "2.5e-6"),
        ("GPT-4o", "2.5e-6"),
        ("openai/gpt-4o", "2.5e-6"),
        ("gpt-4o-2024-08-06", "2.5e-6"),
        ("azure/gpt-4o-2024-11-20", "2.5e-6"),
        ("gpt-4o-2024-05-13", "5e-6"),
        ("gpt-4o-mini", "1.5e-7"),
        ("openai/gpt-4o-mini-2024-07-18", "1.5e-7"),
        ("claude-3-5-sonnet-20241022", "3e-6"),
        ("anthropic/claude-3.5-sonnet", "3e-6"),
        ("claude-3-5-sonnet-latest", "3e-6"),
        ("anthropic.claude-3-5-sonnet-20240620-v1:0", "3e-6"),
        ("claude-sonnet-4-20250514", "3e-6"),
        ("gemini/gemini-2.5-pro", "1.25e-6"),
        ("models/gemini-1.5-flash-002", "7.5e-8"),
        ("meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo", "8.8e-7"),
        ("together_ai/meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo", "3.5e-6"),
        ("mistral/mistral-large-2411", "2e-6"),
        ("text-embedding-3-small", "2e-8"),
    ],
)
def test_pricing_matches_shipped_pattern_when_name_has_prefix_or_snapshot(
    name: str, expected_input: str
) -> None:
    price = default_price_book().price_for(name, None, NOW)
    assert price is not None
    assert price.input == Decimal(expected_input)


@pytest.mark.parametrize(
    "name", ["gpt-4o-audio-preview", "my-gpt-4o", "gpt-4o/extra", "claude-3-5-sonnet-foo", ""]
)
def test_pricing_leaves_model_unpriced_when_pattern_does_not_match_whole_name(name: str) -> None:
    assert default_price_book().price_for(name, None, NOW) is None


def test_pricing_prefers_exact_name_over_earlier_pattern_in_same_table() -> None:
    book = _book(
        [
            {"match": "(?i)^acme-.*$", "input": "1e-6", "output": "1e-6"},
            {"model": "ACME-Large", "input": "5e-6", "output": "5e-6"},
        ]
    )
    assert book.price_for("acme-large", None, NOW).input == Decimal("5e-6")  # type: ignore[union-attr]
    assert book.price_for("acme-small", None, NOW).input == Decimal("1e-6")  # type: ignore[union-attr]


def test_pricing_prefers_provider_specific_entry_when_provider_matches() -> None:
    book = default_price_book()
    groq = book.price_for("llama-3.1-70b", "groq", NOW)
    together = book.price_for("llama-3.1-70b", "together", NOW)
    unknown = book.price_for("llama-3.1-70b", None, NOW)
    assert groq is not None
    assert together is not None
    assert unknown is not None
    assert (groq.input, groq.output) == (Decimal("5.9e-7"), Decimal("7.9e-7"))
    assert together.input == unknown.input == Decimal("8.8e-7")


def test_pricing_lets_later_table_override_when_both_price_the_model() -> None:
    shipped = default_price_book()
    book = shipped.with_overrides(load_price_table(DATA / "overrides.yaml"))
    negotiated = book.price_for("gpt-4o", "openai", datetime(2025, 2, 1, tzinfo=UTC))
    assert negotiated is not None
    assert negotiated.input == Decimal("2e-6")
    # Before the override's effective date the shipped price still holds.
    older = book.price_for("gpt-4o", "openai", datetime(2024, 12, 1, tzinfo=UTC))
    assert older is not None
    assert older.input == Decimal("2.5e-6")
    # The override names `gpt-4o` exactly: dated snapshots keep the shipped pattern.
    snapshot = book.price_for("gpt-4o-2024-08-06", "openai", datetime(2025, 2, 1, tzinfo=UTC))
    assert snapshot is not None
    assert snapshot.input == Decimal("2.5e-6")
    # The shipped book itself is unchanged.
    unchanged = shipped.price_for("gpt-4o", "openai", datetime(2025, 2, 1, tzinfo=UTC))
    assert unchanged is not None
    assert unchanged.input == Decimal("2.5e-6")


def test_pricing_applies_provider_bound_override_only_for_that_provider() -> None:
    book = default_price_book().with_overrides(load_price_table(DATA / "overrides.yaml"))
    assert book.price_for("acme/support-llm-v2", "acme", NOW) is not None
    assert book.price_for("acme/support-llm-v2", "other", NOW) is None


def test_pricing_returns_same_answer_when_lookup_is_cached() -> None:
    book = _book([{"model": "m", "input": "1e-6", "output": "1e-6"}])
    first = book.price_for("m", None, NOW)
    assert first is not None
    assert book.price_for("m", None, NOW) is first
    assert book.price_for("unknown", None, NOW) is None
    assert book.price_for("unknown", None, NOW) is None


# --- YAML loading and validation ------------------------------------------------------------


def test_pricing_reads_yaml_numbers_as_exact_decimals() -> None:
    table = load_price_table(
        "api_version: llmpulse/v1\nkind: PriceTable\nprices:\n"
        "  - {model: a, input: 2.5e-6, output: 1e-5, cache_read: 0.00000125}\n"
    )
    price = table.prices[0]
    assert (price.input, price.output, price.cache_read) == (
        Decimal("2.5e-6"),
        Decimal("1e-5"),
        Decimal("1.25e-6"),
    )


def test_pricing_names_file_line_and_field_when_price_is_invalid() -> None:
    with pytest.raises(InvalidInput) as info:
        load_price_table(DATA / "bad_price.yaml")
    assert [e.path for e in info.value.errors] == ["prices[1].input"]
    assert "bad_price.yaml:8: prices[1].input" in info.value.detail
    assert "greater than or equal to 0" in info.value.detail


def test_pricing_refuses_table_when_prices_look_per_million() -> None:
    with pytest.raises(InvalidInput) as info:
        load_price_table(DATA / "per_million.yaml")
    assert [e.path for e in info.value.errors] == ["prices[0].input", "prices[0].output"]
    assert "per_million.yaml:6: prices[0].input" in info.value.detail
    assert "looks like a per-1M-token price" in info.value.errors[0].message


@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        ("  - {model: a, input: 1e-6, outptu: 1e-6}\n", "prices[0].outptu", "Extra inputs"),
        ("  - {input: 1e-6, output: 1e-6}\n", "prices[0]", "give `model`"),
        ("  - {match: '(gpt', input: 1e-6, output: 1e-6}\n", "prices[0].match", "regular expr"),
        ("  - {model: a, input: cheap, output: 1e-6}\n", "prices[0].input", "decimal"),
        (
            "  - {model: a, input: 1e-6, output: 1e-6, effective_from: 2025-01-01T00:00:00}\n",
            "prices[0].effective_from",
            "timezone",
        ),
        (
            "  - {model: a, input: 1e-6, output: 1e-6}\n"
            "  - {model: a, input: 2e-6, output: 1e-6}\n",
            "prices",
            "repeats prices[0]",
        ),
    ],
)
def test_pricing_names_field_when_entry_is_invalid(body: str, path: str, message: str) -> None:
    text = "api_version: llmpulse/v1\nkind: PriceTable\nprices:\n" + body
    with pytest.raises(InvalidInput) as info:
        load_price_table(text, name="inline.yaml")
    errors = {e.path: e.message for e in info.value.errors}
    assert path in errors
    assert message in errors[path]
    assert f"inline.yaml:{3 if path == 'prices' else 4}: {path}" in info.value.detail


def test_pricing_refuses_table_when_api_version_is_unknown() -> None:
    with pytest.raises(InvalidInput) as info:
        load_price_table("api_version: llmpulse/v2\nkind: PriceTable\nprices: []\n")
    assert info.value.errors[0].path == "api_version"
    assert "<text>:1: api_version" in info.value.detail


def test_pricing_names_line_when_yaml_is_malformed() -> None:
    text = "api_version: llmpulse/v1\nkind: Price: Table\nprices: []\n"
    with pytest.raises(InvalidInput, match=r"broken\.yaml:2: invalid YAML: mapping values"):
        load_price_table(text, name="broken.yaml")


def test_pricing_reports_path_when_file_is_missing(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(InvalidInput, match=r"nope\.yaml: cannot read"):
        load_price_table(missing)
    with pytest.raises(InvalidInput, match=r"nope\.yaml: cannot read"):
        load_price_table(str(missing))


def test_pricing_reads_dates_as_midnight_utc_when_effective_from_is_a_date() -> None:
    price = _price(effective_from="2025-06-10")
    assert price.effective_from == datetime(2025, 6, 10, tzinfo=UTC)


def test_pricing_specs_are_frozen_and_publish_a_json_schema() -> None:
    price = _price()
    with pytest.raises(ValidationError):
        price.input = Decimal(1)  # type: ignore[misc]
    schema = PriceTable.model_json_schema()
    assert set(schema["properties"]) == {"api_version", "kind", "prices"}
    model_price = schema["$defs"]["ModelPrice"]
    assert {
        "model",
        "match",
        "provider",
        "input",
        "output",
        "cache_read",
        "cache_write",
        "tiers",
        "effective_from",
    } <= set(model_price["properties"])
    assert "PriceTier" in schema["$defs"]
    assert PriceTier.model_json_schema()["required"] == ["above_input_tokens", "input", "output"]


# --- the shipped table ----------------------------------------------------------------------


def test_pricing_ships_table_as_package_data() -> None:
    resource = files("llmpulse.ingest").joinpath("data", "prices.yaml")
    assert resource.is_file()
    assert len(shipped_price_table().prices) >= 30


@pytest.mark.parametrize("model", DEMO_MODELS)
def test_pricing_prices_every_demo_model_when_using_shipped_table(model: str) -> None:
    price = default_price_book().price_for(model, PROVIDERS[model], NOW)
    assert price is not None
    per_million_in, per_million_out = PRICES_PER_MTOK[model]
    assert price.input * 1_000_000 == Decimal(str(per_million_in))
    assert price.output * 1_000_000 == Decimal(str(per_million_out))


def test_pricing_ships_methods_oracle_prices_for_gpt_4o() -> None:
    price = default_price_book().price_for("gpt-4o", "openai", NOW)
    assert price is not None
    usage = Usage.from_inclusive(prompt=1000, completion=500, cache_read=400)
    assert compute_cost(price, usage) == Decimal("0.007")


def test_pricing_ships_anthropic_long_context_tier_for_sonnet_4() -> None:
    price = default_price_book().price_for("claude-sonnet-4", "anthropic", NOW)
    assert price is not None
    assert compute_cost(price, Usage.from_inclusive(250_000, 1_000)) == Decimal("1.5225")
