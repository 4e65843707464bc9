"""HTTP delivery shared by the webhook, Slack and PagerDuty notifiers: classify, back off, retry.

A response is classified once: 2xx is delivered; 408, 429 and 5xx are retryable (with the
service's ``Retry-After`` when it sends one); any other status is a permanent refusal. A
transport error (refused connection, timeout) is retryable. `post_with_retries` retries a
retryable outcome up to `RetryPolicy.attempts` times with exponential back-off, waiting at least
as long as ``Retry-After`` asks (capped by `RetryPolicy.max_delay_s`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace

import httpx

from llmpulse.alerts.notifiers.base import Delivery, parse_retry_after
from llmpulse.clock import Clock, SystemClock

Sleep = Callable[[float], Awaitable[None]]
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a notifier retries a retryable failure.

    Attributes:
        attempts: Requests in all, the first included (1 = no retry).
        base_delay_s: Delay before the first retry; doubled for each further one.
        max_delay_s: No single wait is longer than this, even if ``Retry-After`` asks for more.
        timeout_s: Timeout of each request.
    """

    attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    timeout_s: float = 10.0

    def delay(self, retry: int, retry_after_s: float | None) -> float:
        """Return the wait before retry number ``retry`` (1-based)."""
        backoff = self.base_delay_s * 2.0 ** (retry - 1)
        wanted = max(backoff, retry_after_s or 0.0)
        return min(wanted, self.max_delay_s)


def classify(response: httpx.Response, clock: Clock) -> Delivery:
    """Turn one HTTP response into a `Delivery`."""
    detail = f"HTTP {response.status_code}: {response.text[:500]}"
    if 200 <= response.status_code < 300:
        return Delivery(ok=True, detail=detail)
    retryable = response.status_code in RETRYABLE_STATUSES
    retry_after = parse_retry_after(response.headers.get("retry-after"), clock.now())
    return Delivery(
        ok=False,
        retryable=retryable,
        retry_after_s=retry_after if retryable else None,
        detail=detail,
    )


async def post_with_retries(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    policy: RetryPolicy,
    client: httpx.AsyncClient | None = None,
    clock: Clock | None = None,
    sleep: Sleep = asyncio.sleep,
    accept: Callable[[httpx.Response], Delivery | None] | None = None,
) -> Delivery:
    """POST ``body`` to ``url``, retrying retryable failures per ``policy``.

    Args:
        url: Target URL.
        body: The exact bytes to send (already signed, if signing applies).
        headers: Request headers.
        policy: Attempts, back-off and timeout.
        client: A client to reuse; a short-lived one is made otherwise.
        clock: Source of the current time (for HTTP-date ``Retry-After``).
        sleep: How to wait between attempts.
        accept: Optional service-specific check of a response; returning a `Delivery`
            overrides the generic classification.

    Returns:
        The outcome of the last attempt, with ``attempts`` set.
    """
    clk = clock or SystemClock()
    own = client is None
    http = client or httpx.AsyncClient(timeout=policy.timeout_s)
    outcome = Delivery(ok=False, retryable=True, detail="not sent")
    try:
        for attempt in range(1, policy.attempts + 1):
            if attempt > 1:
                await sleep(policy.delay(attempt - 1, outcome.retry_after_s))
            try:
                response = await http.post(
                    url, content=body, headers=dict(headers), timeout=policy.timeout_s
                )
            except httpx.TransportError as exc:
                outcome = Delivery(ok=False, retryable=True, detail=f"{type(exc).__name__}: {exc}")
            else:
                special = accept(response) if accept is not None else None
                outcome = special if special is not None else classify(response, clk)
            outcome = replace(outcome, attempts=attempt)
            if outcome.ok or not outcome.retryable:
                return outcome
        return outcome
    finally:
        if own:
            await http.aclose()
