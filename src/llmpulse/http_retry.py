"""POST JSON to an HTTP API (an OpenAI-compatible endpoint) with retries: the one retry loop
that the evaluation judge (`llmpulse.evals.judge`) and the explanation endpoint
(`llmpulse.explain.endpoint`) share; it sits outside the layers so that both can call it.

* 429, 500, 502, 503, 504 and connection errors are retried up to ``max_retries`` times with
  exponential back-off (``backoff_s * 2**attempt``, capped at ``max_backoff_s``);
* a ``Retry-After`` header (seconds or an HTTP date) replaces the back-off: the client waits as
  long as the endpoint asked (at most ``max_retry_after_s`` when set);
* other answers fail at once (retrying a bad request does not help), as does a 200 whose body
  is not a JSON object.

Each caller raises its own error class (``error``) and may pace attempts (``before_attempt``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from llmpulse.domain.errors import LlmpulseError

RETRYABLE = frozenset({429, 500, 502, 503, 504})


def retry_after_s(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry."""

    max_retries: int = 4
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    max_retry_after_s: float | None = None

    def wait_s(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry ``attempt + 1``."""
        if retry_after is None:
            return min(self.max_backoff_s, self.backoff_s * 2.0**attempt)
        if self.max_retry_after_s is None:
            return retry_after
        return min(retry_after, self.max_retry_after_s)


async def post_json(
    http: httpx.AsyncClient,
    path: str,
    body: dict[str, Any],
    *,
    policy: RetryPolicy,
    now: Callable[[], datetime],
    error: Callable[[str], LlmpulseError],
    before_attempt: Callable[[int], Awaitable[None]] | None = None,
) -> tuple[dict[str, Any], int]:
    """POST ``body`` to ``path`` and return the answer's JSON object and the attempts made.

    Args:
        http: The client (base URL and headers set).
        path: The path under the base URL.
        body: The JSON body.
        policy: Retries and back-off.
        now: The clock that dates an HTTP-date ``Retry-After``.
        error: Makes the caller's error from a message.
        before_attempt: Awaited before each attempt with its index (0 first), e.g. to pace.

    Raises:
        LlmpulseError: ``error(...)`` of a non-retryable answer, or retries exhausted.
    """
    attempt = 0
    while True:
        if before_attempt is not None:
            await before_attempt(attempt)
        hinted: float | None = None
        try:
            r = await http.post(path, json=body)
        except httpx.TransportError as exc:
            reason = f"{type(exc).__name__}: {exc}"
        else:
            if r.status_code == 200:
                try:
                    doc = r.json()
                except ValueError:
                    raise error("the endpoint answered 200 with a body that is not JSON") from None
                if not isinstance(doc, dict):
                    raise error("the endpoint answered 200 with JSON that is not an object")
                return doc, attempt + 1
            if r.status_code not in RETRYABLE:
                raise error(
                    f"the endpoint refused the request: HTTP {r.status_code} {r.text[:300]}"
                )
            reason = f"HTTP {r.status_code}"
            hinted = retry_after_s(r.headers.get("retry-after"), now())
        if attempt >= policy.max_retries:
            raise error(f"gave up after {attempt + 1} attempts: {reason}")
        await asyncio.sleep(policy.wait_s(attempt, hinted))
        attempt += 1
