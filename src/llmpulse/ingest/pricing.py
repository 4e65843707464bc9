"""Model prices and cost arithmetic (METHODS.md §6): price lookup, usage buckets, tiers.

**Usage normalisation (§6.1).** Cost is a sum over *disjoint* buckets: uncached input,
cache-read input, cache-write input and output (reasoning tokens are already inside output).
Providers report usage two ways, so `Usage` has one constructor per convention:

- `Usage.from_inclusive` — the prompt count *includes* cache reads and writes: OpenAI
  (``prompt_tokens`` ⊇ ``cached_tokens``), Google Gemini, and both span conventions we ingest
  (OpenInference: ``llm.token_count.prompt_details.*`` are sub-counts of
  ``llm.token_count.prompt``; OTel GenAI: ``gen_ai.usage.cache_*.input_tokens`` SHOULD be
  included in ``gen_ai.usage.input_tokens``).
- `Usage.from_exclusive` — the input count *excludes* them: Anthropic's Messages API
  (``input_tokens`` next to ``cache_read_input_tokens`` and ``cache_creation_input_tokens``).

**Lookup.** A `PriceBook` layers `PriceTable`s: shipped defaults first, overrides after; a
later table wins. `PriceBook.price_for` tries the tables latest first; inside a table, entries
whose ``model`` equals the name come before ``match`` patterns, provider-specific entries
before generic ones, then file order. Entries with the same model/pattern/provider in one
table are versions of one price; the first candidate with a version in force at ``at``
(largest ``effective_from`` ≤ ``at``) is returned. Resolved candidates are cached per
(model, provider), so a lookup on the ingest hot path is a dict hit and a bisect.
"""

from __future__ import annotations

import os
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.patterns import CompiledPattern, compile_pattern
from llmpulse.domain.specs import ModelPrice, PriceTable, PriceTier

_ALWAYS = datetime.min.replace(tzinfo=UTC)  # sort key of effective_from=None
_MAX_CACHED_NAMES = 4096  # distinct (model, provider) pairs kept; cleared when exceeded


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage of one request in disjoint buckets (METHODS.md §6.1)."""

    input_uncached: int = 0
    cache_read: int = 0
    cache_write: int = 0
    output: int = 0

    def __post_init__(self) -> None:
        if min(self.input_uncached, self.cache_read, self.cache_write, self.output) < 0:
            raise ValueError(f"token counts must not be negative: {self}")

    @property
    def input_tokens(self) -> int:
        """All input tokens (uncached + cache read + cache write): what tiers compare."""
        return self.input_uncached + self.cache_read + self.cache_write

    @classmethod
    def from_inclusive(
        cls, prompt: int, completion: int, cache_read: int = 0, cache_write: int = 0
    ) -> Usage:
        """Usage whose ``prompt`` already includes the cache reads and writes (OpenAI style).

        Raises:
            ValueError: the cache counts exceed the prompt count, or a count is negative.
        """
        uncached = prompt - cache_read - cache_write
        if uncached < 0:
            raise ValueError(
                f"cache tokens ({cache_read} read + {cache_write} write) exceed prompt {prompt}"
            )
        return cls(uncached, cache_read, cache_write, completion)

    @classmethod
    def from_exclusive(
        cls, input_tokens: int, output_tokens: int, cache_read: int = 0, cache_write: int = 0
    ) -> Usage:
        """Usage whose ``input_tokens`` excludes cache reads and writes (Anthropic style)."""
        return cls(input_tokens, cache_read, cache_write, output_tokens)


def compute_cost(price: ModelPrice, usage: Usage) -> Decimal:
    """Cost in USD of one request: the sum of bucket tokens times bucket price, in `Decimal`.

    Whole-request tiers (METHODS.md §6.2): when ``usage.input_tokens`` exceeds a tier's
    ``above_input_tokens``, every bucket is priced by the highest such tier. A missing cache
    price falls back to the input price of the same tier (no discount assumed).
    """
    return cost_of_buckets(
        price, usage.input_uncached, usage.cache_read, usage.cache_write, usage.output
    )


def cost_of_buckets(
    price: ModelPrice, input_uncached: int, cache_read: int, cache_write: int, output: int
) -> Decimal:
    """`compute_cost` over disjoint, non-negative counts, without building a `Usage` (hot path)."""
    rates: ModelPrice | PriceTier = price
    if price.tiers:
        rates = _tier_for(price, input_uncached + cache_read + cache_write)
    cost = rates.input * input_uncached + rates.output * output
    if cache_read:
        cost += (rates.input if rates.cache_read is None else rates.cache_read) * cache_read
    if cache_write:
        cost += (rates.input if rates.cache_write is None else rates.cache_write) * cache_write
    return cost


def _tier_for(price: ModelPrice, input_tokens: int) -> ModelPrice | PriceTier:
    chosen: ModelPrice | PriceTier = price
    threshold = -1
    for tier in price.tiers:
        if threshold < tier.above_input_tokens < input_tokens:
            chosen, threshold = tier, tier.above_input_tokens
    return chosen


@dataclass(frozen=True, slots=True)
class _Versions:
    """One model/pattern/provider entry of one table: its prices by effective date."""

    exact: str | None  # casefolded model name
    pattern: CompiledPattern | None
    provider: str | None  # casefolded
    starts: tuple[datetime, ...]  # sorted; _ALWAYS for effective_from=None
    prices: tuple[ModelPrice, ...]

    def in_force(self, at: datetime) -> ModelPrice | None:
        if len(self.starts) == 1 and self.starts[0] is _ALWAYS:
            return self.prices[0]
        index = bisect_right(self.starts, at)
        return self.prices[index - 1] if index else None


def _group_table(table: PriceTable) -> list[_Versions]:
    groups: dict[tuple[str | None, str | None, str | None], list[ModelPrice]] = {}
    for price in table.prices:
        provider = None if price.provider is None else price.provider.casefold()
        groups.setdefault((price.model, price.match, provider), []).append(price)
    out = []
    for (model, match, provider), prices in groups.items():
        prices.sort(key=lambda p: _ALWAYS if p.effective_from is None else p.effective_from)
        out.append(
            _Versions(
                exact=None if model is None else model.casefold(),
                pattern=None if match is None else compile_pattern(match),
                provider=provider,
                starts=tuple(
                    _ALWAYS if p.effective_from is None else p.effective_from for p in prices
                ),
                prices=tuple(prices),
            )
        )
    # Provider-specific entries before generic ones; the sort is stable, so file order holds.
    out.sort(key=lambda g: g.provider is None)
    return out


class PriceBook:
    """Prices from layered tables; later tables override earlier ones (see module docstring)."""

    def __init__(self, tables: Sequence[PriceTable]) -> None:
        """Build a book from tables in precedence order: defaults first, overrides last."""
        self.tables: tuple[PriceTable, ...] = tuple(tables)
        self._layers = [_group_table(t) for t in reversed(self.tables)]
        self._resolved: dict[tuple[str, str | None], tuple[_Versions, ...]] = {}

    def with_overrides(self, *tables: PriceTable) -> PriceBook:
        """A new book with ``tables`` layered on top of this one's."""
        return PriceBook((*self.tables, *tables))

    def price_for(self, model: str, provider: str | None, at: datetime) -> ModelPrice | None:
        """The price in force at ``at`` (aware) for ``model`` served by ``provider``, or None."""
        key = (model, provider)
        candidates = self._resolved.get(key)
        if candidates is None:
            if len(self._resolved) >= _MAX_CACHED_NAMES:
                self._resolved.clear()
            candidates = self._resolved[key] = tuple(self._candidates(model, provider))
        for versions in candidates:
            price = versions.in_force(at)
            if price is not None:
                return price
        return None

    def _candidates(self, model: str, provider: str | None) -> Iterable[_Versions]:
        name = model.strip()
        folded = name.casefold()
        wanted = None if provider is None else provider.strip().casefold()
        for layer in self._layers:
            usable = [g for g in layer if g.provider is None or g.provider == wanted]
            yield from (g for g in usable if g.exact == folded)
            yield from (
                g
                for g in usable
                if g.exact != folded and g.pattern is not None and g.pattern.fullmatch(name)
            )


class _DecimalLoader(yaml.SafeLoader):
    """Safe YAML loader that reads floats as exact `Decimal`s (``2.5e-6`` stays 2.5e-6)."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    text = str(loader.construct_scalar(node))
    try:
        return Decimal(text)
    except InvalidOperation:
        return loader.construct_yaml_float(node)  # .inf / .nan: refused by validation later


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def load_price_table(source: str | os.PathLike[str], *, name: str | None = None) -> PriceTable:
    """Parse and validate a `PriceTable` from YAML (or JSON).

    Args:
        source: a path (`os.PathLike`, or a one-line string ending in ``.yaml``, ``.yml`` or
            ``.json``), otherwise the YAML text itself.
        name: how to call the source in error messages (defaults to the path or ``<text>``).

    Raises:
        InvalidInput: unreadable YAML or an invalid field; ``errors`` carry field paths such as
            ``prices[3].input`` and the message names the file and line.
    """
    text, label = _read_source(source)
    label = name or label
    loader = _DecimalLoader(text)
    try:
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _invalid_yaml(exc, label) from None
    finally:
        loader.dispose()
    lines: dict[tuple[str | int, ...], int] = {}
    if node is not None:
        _record_lines(node, (), lines)
    try:
        return PriceTable.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc, label, lines) from None


def _invalid_yaml(exc: yaml.YAMLError, label: str) -> InvalidInput:
    mark = getattr(exc, "problem_mark", None)
    where = f"{label}:{mark.line + 1}" if mark is not None else label
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    reason = f"{problem} ({context})" if context else problem
    return InvalidInput(f"{where}: invalid YAML: {reason}")


def _read_source(source: str | os.PathLike[str]) -> tuple[str, str]:
    is_path = not isinstance(source, str) or (
        "\n" not in source and source.strip().endswith((".yaml", ".yml", ".json"))
    )
    if not is_path:
        return str(source), "<text>"
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read price table: {exc.strerror}") from None


def _record_lines(node: yaml.Node, path: tuple[str | int, ...], out: dict[Any, int]) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, str(key.value))
            out[child] = key.start_mark.line + 1
            _record_lines(value, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, (*path, index), out)


def _invalid(exc: ValidationError, label: str, lines: dict[Any, int]) -> InvalidInput:
    errors = []
    located = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        path = _field_path(loc) or "(document)"
        errors.append(FieldError(path=path, message=error["msg"]))
        line = next((lines[loc[:n]] for n in range(len(loc), -1, -1) if loc[:n] in lines), None)
        located.append(
            f"{label}:{line}: {path}: {error['msg']}"
            if line
            else f"{label}: {path}: {error['msg']}"
        )
    return InvalidInput("invalid price table: " + "; ".join(located), errors=errors)


def _field_path(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(f".{item}" if parts else str(item))
    return "".join(parts)


@cache
def shipped_price_table() -> PriceTable:
    """The price table shipped with llmpulse (``llmpulse/ingest/data/prices.yaml``)."""
    resource = files("llmpulse.ingest").joinpath("data", "prices.yaml")
    return load_price_table(resource.read_text(encoding="utf-8"), name="llmpulse:prices.yaml")


@cache
def default_price_book() -> PriceBook:
    """A `PriceBook` over the shipped table only (shared; overrides make a new book)."""
    return PriceBook([shipped_price_table()])
