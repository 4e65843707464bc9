"""Send the workload with concurrent OTLP/HTTP senders and wait until it is queryable."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from sidebyside.requests import RequestSource

CountFn = Callable[[httpx.AsyncClient], Awaitable[int]]
RETRY_CODES = {429, 502, 503, 504}


@dataclass(slots=True)
class IngestResult:
    """What one ingest run measured (seconds from the first send)."""

    num_spans: int
    num_requests: int
    send_s: float = 0.0
    queryable_s: float | None = None
    retries: int = 0
    errors: list[str] = field(default_factory=list)
    final_count: int = 0
    timeline: list[tuple[float, int]] = field(default_factory=list)

    @property
    def queryable_spans_per_s(self) -> float | None:
        """Spans per second from the first send until all were countable."""
        return self.num_spans / self.queryable_s if self.queryable_s else None

    @property
    def acked_spans_per_s(self) -> float:
        """Spans per second from the first send until the last 2xx."""
        return self.num_spans / self.send_s if self.send_s else 0.0


async def _post(client: httpx.AsyncClient, url: str, body: bytes, res: IngestResult) -> None:
    headers = {"content-type": "application/x-protobuf"}
    for attempt in range(1000):
        try:
            resp = await client.post(url, content=body, headers=headers)
        except httpx.TransportError as exc:
            if attempt >= 5:
                res.errors.append(f"transport: {exc!r}")
                return
            res.retries += 1
            await asyncio.sleep(0.5)
            continue
        if resp.status_code < 300:
            return
        if resp.status_code not in RETRY_CODES:
            res.errors.append(f"HTTP {resp.status_code}: {resp.text[:200]}")
            return
        res.retries += 1
        await asyncio.sleep(float(resp.headers.get("retry-after", "0.5") or 0.5))
    res.errors.append("gave up after 1000 retries")


async def _sender(
    client: httpx.AsyncClient, url: str, source: RequestSource, next_r: list[int], res: IngestResult
) -> None:
    while next_r[0] < len(source) and len(res.errors) < 10:
        r = next_r[0]
        next_r[0] += 1
        await _post(client, url, source.get(r), res)


async def _poll(
    client: httpx.AsyncClient,
    count: CountFn,
    res: IngestResult,
    t0: float,
    interval_s: float,
    stall_s: float,
) -> None:
    last_change = time.perf_counter()
    last_report = 0.0
    while True:
        try:
            n = await count(client)
        except httpx.HTTPError:
            n = res.final_count
        now = time.perf_counter()
        if n != res.final_count:
            last_change = now
        res.final_count = n
        res.timeline.append((round(now - t0, 3), n))
        if n >= res.num_spans:
            res.queryable_s = now - t0
            return
        if now - last_change > stall_s and (res.send_s or res.errors):
            res.errors.append(f"count stalled at {n} for {stall_s:.0f} s")
            return
        if now - last_report > 10:
            last_report = now
            print(
                f"    … {n:,}/{res.num_spans:,} spans queryable after {now - t0:.0f} s",
                file=sys.stderr,
            )
        await asyncio.sleep(interval_s)


async def ingest(
    otlp_url: str,
    source: RequestSource,
    count: CountFn,
    concurrency: int = 4,
    poll_interval_s: float = 0.25,
    stall_s: float = 120.0,
) -> IngestResult:
    """Send every request of ``source`` and poll ``count`` until all spans are queryable."""
    res = IngestResult(source.spec.num_spans, len(source))
    limits = httpx.Limits(max_connections=concurrency + 2)
    async with httpx.AsyncClient(timeout=300.0, limits=limits) as client:
        next_r = [0]
        t0 = time.perf_counter()
        poller = asyncio.create_task(_poll(client, count, res, t0, poll_interval_s, stall_s))
        await asyncio.gather(
            *(_sender(client, otlp_url, source, next_r, res) for _ in range(concurrency))
        )
        res.send_s = time.perf_counter() - t0
        await poller
    return res
