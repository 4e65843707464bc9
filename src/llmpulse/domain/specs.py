"""Specs: what users author (price tables so far), as frozen pydantic models.

The same model validates YAML files, REST bodies and SDK calls and produces the JSON Schema
(``PriceTable.model_json_schema()``). Every file carries ``api_version: llmpulse/v1`` and a
``kind``. Prices are USD **per token** as `Decimal` (METHODS.md §6.3 pitfalls: never floats,
never per-1M units): a price above `MAX_USD_PER_TOKEN` is refused as a probable per-1M value.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from llmpulse.domain.cohorts import parse_cohort
from llmpulse.domain.errors import InvalidInput
from llmpulse.domain.patterns import compile_pattern

API_VERSION: Literal["llmpulse/v1"] = "llmpulse/v1"
# $10,000 per million tokens: ten times the dearest public price; anything above is a unit slip.
MAX_USD_PER_TOKEN = Decimal("0.01")


def _per_token(value: Decimal) -> Decimal:
    if value > MAX_USD_PER_TOKEN:
        raise ValueError(
            f"{value} USD per token looks like a per-1M-token price; prices are USD per token "
            f"(e.g. 2.5e-6 for $2.50 per 1M tokens)"
        )
    return value


UsdPerToken = Annotated[
    Decimal,
    Field(
        ge=0,
        allow_inf_nan=False,
        description="USD per token (not per 1M tokens)",
        json_schema_extra={"maximum": float(MAX_USD_PER_TOKEN)},
    ),
    AfterValidator(_per_token),
]


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class PriceTier(_Spec):
    """Whole-request prices that apply when the request's input exceeds a threshold.

    METHODS.md §6.2: not marginal brackets. When ``input_tokens > above_input_tokens`` (input
    counts uncached, cache-read and cache-write tokens), **all** of the request's tokens use
    the tier's prices. A missing tier cache price falls back to the tier's ``input`` price.
    """

    above_input_tokens: int = Field(gt=0, description="Tier applies when input tokens exceed this")
    input: UsdPerToken
    output: UsdPerToken
    cache_read: UsdPerToken | None = None
    cache_write: UsdPerToken | None = None


class ModelPrice(_Spec):
    """The price of one model (or a family matched by a pattern), from an effective instant on.

    Matching: ``model`` is an exact, case-insensitive name; ``match`` is an RE2 regular
    expression (linear-time: no backreferences or lookaround; see `domain.patterns`) that must
    match the **whole** model name, case-insensitively (write it anchored, e.g.
    ``(?i)^(openai/)?gpt-4o(-\\d{4}-\\d{2}-\\d{2})?$``). Give at least one of the two.
    ``provider`` restricts the entry to spans of that provider (case-insensitive).

    Prices: ``cache_read`` is cached input (OpenAI ``cached_tokens``, Anthropic
    ``cache_read_input_tokens``); ``cache_write`` is input written to the cache (Anthropic
    5-minute ``cache_creation_input_tokens``). A missing cache price falls back to ``input``.
    ``effective_from`` is an aware datetime or a date (midnight UTC); None means "always".
    """

    model: str | None = Field(default=None, min_length=1)
    match: str | None = Field(default=None, min_length=1)
    provider: str | None = Field(default=None, min_length=1)
    input: UsdPerToken
    output: UsdPerToken
    cache_read: UsdPerToken | None = None
    cache_write: UsdPerToken | None = None
    tiers: tuple[PriceTier, ...] = ()
    effective_from: AwareDatetime | None = None
    source: str | None = Field(default=None, description="Where the numbers come from (URL)")

    @field_validator("match")
    @classmethod
    def _match_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            compile_pattern(value)  # RE2: linear-time matching, refused here if unsupported
        return value

    @field_validator("effective_from", mode="before")
    @classmethod
    def _date_is_midnight_utc(cls, value: Any) -> Any:
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime(value.year, value.month, value.day, tzinfo=UTC)
        if isinstance(value, str) and len(value.strip()) == 10:
            try:
                day = date.fromisoformat(value.strip())
            except ValueError:
                return value
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        return value

    @field_validator("tiers")
    @classmethod
    def _tiers_have_distinct_thresholds(cls, value: tuple[PriceTier, ...]) -> tuple[PriceTier, ...]:
        thresholds = [tier.above_input_tokens for tier in value]
        if len(set(thresholds)) != len(thresholds):
            raise ValueError("two tiers share the same above_input_tokens")
        return value

    @model_validator(mode="after")
    def _named_or_matched(self) -> ModelPrice:
        if self.model is None and self.match is None:
            raise ValueError("give `model` (exact name) or `match` (regular expression)")
        return self

    @property
    def key(self) -> str:
        """A readable name for the entry: the model name, else the pattern."""
        return self.model if self.model is not None else str(self.match)


class PriceTable(_Spec):
    """A list of model prices; several tables layer, later ones overriding earlier ones."""

    api_version: Literal["llmpulse/v1"] = API_VERSION
    kind: Literal["PriceTable"] = "PriceTable"
    prices: tuple[ModelPrice, ...] = ()

    @field_validator("prices")
    @classmethod
    def _no_duplicate_versions(cls, value: tuple[ModelPrice, ...]) -> tuple[ModelPrice, ...]:
        seen: dict[tuple[str | None, ...], int] = {}
        for index, price in enumerate(value):
            when = None if price.effective_from is None else price.effective_from.isoformat()
            provider = None if price.provider is None else price.provider.casefold()
            ident = (price.model, price.match, provider, when)
            if ident in seen:
                raise ValueError(
                    f"prices[{index}] repeats prices[{seen[ident]}] "
                    "(same model/match, provider and effective_from)"
                )
            seen[ident] = index
        return value


class CohortSpec(_Spec):
    """One saved cohort as written in YAML or sent to the API."""

    name: str = Field(min_length=1, max_length=100)
    expression: str = Field(min_length=1, max_length=4000)
    description: str = ""

    @field_validator("expression")
    @classmethod
    def _parses(cls, value: str) -> str:
        try:
            parse_cohort("check", value)
        except InvalidInput as exc:
            raise ValueError(exc.detail) from None
        return value


class CohortList(_Spec):
    """A project's cohorts as config-as-code (``kind: CohortList``)."""

    api_version: Literal["llmpulse/v1"] = API_VERSION
    kind: Literal["CohortList"] = "CohortList"
    project: str = Field(min_length=1, max_length=200)
    cohorts: tuple[CohortSpec, ...] = ()

    @field_validator("cohorts")
    @classmethod
    def _no_duplicate_names(cls, value: tuple[CohortSpec, ...]) -> tuple[CohortSpec, ...]:
        seen: dict[str, int] = {}
        for index, cohort in enumerate(value):
            if cohort.name in seen:
                raise ValueError(
                    f"cohorts[{index}].name {cohort.name!r} repeats cohorts[{seen[cohort.name]}]"
                )
            seen[cohort.name] = index
        return value
