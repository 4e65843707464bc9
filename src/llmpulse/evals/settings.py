"""Judge settings from the environment, and the pricer that costs its calls.

``LLMPULSE_JUDGE_BASE_URL`` (e.g. ``https://api.openai.com/v1`` or a vLLM / llama.cpp server's
``http://host:8000/v1``) turns the judge on; ``LLMPULSE_JUDGE_MODEL`` names the model
(``gpt-4o-mini``); the API key is read from the variable named by ``LLMPULSE_JUDGE_API_KEY_ENV``
(``OPENAI_API_KEY`` by default), so the key itself is never in llmpulse's own settings.
``LLMPULSE_JUDGE_CONCURRENCY`` (4), ``LLMPULSE_JUDGE_RATE`` (requests per second; unset = no
limit), ``LLMPULSE_JUDGE_MAX_RETRIES`` (4), ``LLMPULSE_JUDGE_MAX_COST_USD`` (unset = no cap).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.evals.judge import JudgeConfig, Pricer
from llmpulse.ingest.pricing import PriceBook, Usage, compute_cost


def _number(env: Mapping[str, str], name: str, kind: type[float] | type[int]) -> float | None:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return None
    try:
        return kind(raw)
    except ValueError:
        raise InvalidInput(
            f"{name}={raw!r} is not a number", [FieldError(name, "not a number")]
        ) from None


def judge_config_from_env(env: Mapping[str, str] | None = None) -> JudgeConfig | None:
    """The judge configured by the environment, or None when no base URL is set.

    Raises:
        InvalidInput: a setting is malformed; the error names the variable.
    """
    env = os.environ if env is None else env
    base = env.get("LLMPULSE_JUDGE_BASE_URL", "").strip()
    if not base:
        return None
    key_var = env.get("LLMPULSE_JUDGE_API_KEY_ENV", "OPENAI_API_KEY")
    concurrency = _number(env, "LLMPULSE_JUDGE_CONCURRENCY", int)
    retries = _number(env, "LLMPULSE_JUDGE_MAX_RETRIES", int)
    return JudgeConfig(
        base_url=base,
        model=env.get("LLMPULSE_JUDGE_MODEL", "gpt-4o-mini").strip(),
        api_key=env.get(key_var) or None,
        concurrency=int(concurrency) if concurrency is not None else 4,
        requests_per_s=_number(env, "LLMPULSE_JUDGE_RATE", float),
        max_retries=int(retries) if retries is not None else 4,
        max_cost_usd=_number(env, "LLMPULSE_JUDGE_MAX_COST_USD", float),
    )


def pricer(book: PriceBook, at: datetime) -> Pricer:
    """Cost of a judge call from the price table in force at ``at`` (None: model not priced)."""

    def price(model: str, prompt_tokens: int, completion_tokens: int) -> Decimal | None:
        found = book.price_for(model, None, at)
        if found is None:
            return None
        return compute_cost(found, Usage.from_inclusive(prompt_tokens, completion_tokens))

    return price
