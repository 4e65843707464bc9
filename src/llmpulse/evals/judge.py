"""`JudgeClient`: chat completions against any OpenAI-compatible endpoint, with limits.

* **Concurrency**: at most ``concurrency`` requests in flight (a semaphore).
* **Rate limit**: request starts are spaced ``1 / requests_per_s`` apart.
* **Retries**: `llmpulse.http_retry.post_json` (429, 5xx and connection errors, up to
  ``max_retries`` times, exponential back-off from ``backoff_s`` capped at ``max_backoff_s``;
  a ``Retry-After`` header is waited exactly; other 4xx answers fail at once).
* **Cost cap**: each call reserves its worst-case cost before it starts (prompt bytes as input
  tokens, which no tokenizer exceeds, plus ``max_tokens`` of output) and settles to the real
  cost from the answer's ``usage``; a call whose reservation would pass ``max_cost_usd`` is
  refused with `CostCapReached`, so the money spent never exceeds the cap. A cap on a model the
  price table does not know is refused up front: it could not be honoured.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from llmpulse.clock import Clock
from llmpulse.domain.errors import FieldError, InvalidInput, LlmpulseError
from llmpulse.http_retry import RetryPolicy, post_json

Pricer = Callable[[str, int, int], Decimal | None]
"""(model, prompt tokens, completion tokens) → USD, or None when the model has no price."""


class CostCapReached(LlmpulseError):
    """The next call could cost more than the cost cap allows; nothing more is sent."""


class JudgeFailed(LlmpulseError):
    """The endpoint refused the request or kept failing after every retry."""


@dataclass(frozen=True)
class JudgeConfig:
    """Where the judge is and how hard it may be used."""

    base_url: str
    model: str
    api_key: str | None = None
    concurrency: int = 4
    requests_per_s: float | None = None
    max_retries: int = 4
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    max_cost_usd: float | None = None
    max_tokens: int = 256
    timeout_s: float = 60.0

    def __post_init__(self) -> None:
        errors = []
        if not self.base_url.startswith(("http://", "https://")):
            errors.append(FieldError("base_url", "must start with http:// or https://"))
        if not self.model:
            errors.append(FieldError("model", "must not be empty"))
        if self.concurrency < 1:
            errors.append(FieldError("concurrency", "must be at least 1"))
        if self.requests_per_s is not None and self.requests_per_s <= 0:
            errors.append(FieldError("requests_per_s", "must be positive"))
        if self.max_cost_usd is not None and self.max_cost_usd < 0:
            errors.append(FieldError("max_cost_usd", "must not be negative"))
        if errors:
            raise InvalidInput("judge configuration is not valid", errors)


@dataclass(frozen=True)
class JudgeReply:
    """One answer: text, the model the endpoint says answered, usage, cost, attempts made."""

    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    attempts: int


class JudgeClient:
    """An async OpenAI-compatible chat client with the limits of the module docstring."""

    def __init__(
        self,
        config: JudgeConfig,
        clock: Clock,
        pricer: Pricer | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """Validate the cost cap against the price table; the HTTP client opens lazily."""
        self.config = config
        self._clock = clock
        self._pricer = pricer
        if config.max_cost_usd is not None and self._price(1, 1) is None:
            raise InvalidInput(
                f"cannot honour max_cost_usd: model {config.model!r} has no price",
                [FieldError("max_cost_usd", "the judge model is not in the price table")],
            )
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        self._http = httpx.AsyncClient(
            base_url=config.base_url.rstrip("/"),
            headers=headers,
            timeout=config.timeout_s,
            transport=transport,
        )
        self._retry = RetryPolicy(config.max_retries, config.backoff_s, config.max_backoff_s)
        self._slots = asyncio.Semaphore(config.concurrency)
        self._pace = asyncio.Lock()
        self._next_start = 0.0
        self.spent_usd = Decimal(0)
        self._reserved = Decimal(0)
        self.calls = 0
        self.retries = 0

    def _price(self, prompt_tokens: int, completion_tokens: int) -> Decimal | None:
        if self._pricer is None:
            return None
        return self._pricer(self.config.model, prompt_tokens, completion_tokens)

    def _reserve(self, messages: list[dict[str, str]]) -> Decimal:
        if self.config.max_cost_usd is None:
            return Decimal(0)
        prompt_bytes = sum(len(m["content"].encode()) + len(m["role"]) + 4 for m in messages)
        worst = self._price(prompt_bytes, self.config.max_tokens) or Decimal(0)
        cap = Decimal(str(self.config.max_cost_usd))
        if self.spent_usd + self._reserved + worst > cap:
            raise CostCapReached(
                f"cost cap reached: spent {float(self.spent_usd):.6f} USD of "
                f"{self.config.max_cost_usd} (next call could cost up to {float(worst):.6f})"
            )
        self._reserved += worst
        return worst

    async def _wait_turn(self) -> None:
        if self.config.requests_per_s is None:
            return
        loop = asyncio.get_running_loop()
        async with self._pace:
            delay = self._next_start - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self._next_start = max(loop.time(), self._next_start) + 1.0 / self.config.requests_per_s

    async def chat(self, messages: list[dict[str, str]]) -> JudgeReply:
        """Send one chat completion and return the reply.

        Raises:
            CostCapReached: the call could pass the cost cap; it was not sent.
            JudgeFailed: a non-retryable error, or retries exhausted.
        """
        reservation = self._reserve(messages)
        try:
            async with self._slots:
                doc, attempts = await self._send(messages)
        finally:
            self._reserved -= reservation
        return self._reply(doc, attempts)

    def _reply(self, doc: dict[str, Any], attempts: int) -> JudgeReply:
        try:
            text = doc["choices"][0]["message"]["content"] or ""
            usage = doc.get("usage") or {}
            p, c = int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise JudgeFailed(f"the endpoint's answer is not a chat completion: {exc!r}") from None
        cost = self._price(p, c)
        if cost is not None:
            self.spent_usd += cost
        self.calls += 1
        model = str(doc.get("model") or self.config.model)
        return JudgeReply(text, model, p, c, None if cost is None else float(cost), attempts)

    async def _send(self, messages: list[dict[str, str]]) -> tuple[dict[str, Any], int]:
        body = {
            "model": self.config.model,
            "messages": messages,
            "temperature": 0,
            "max_tokens": self.config.max_tokens,
        }
        return await post_json(
            self._http, "/chat/completions", body, policy=self._retry, now=self._clock.now,
            error=JudgeFailed, before_attempt=self._before_attempt,
        )  # fmt: skip

    async def _before_attempt(self, attempt: int) -> None:
        if attempt:
            self.retries += 1
        await self._wait_turn()

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()
