"""The timed questions: p95 latency per 5-minute bucket per region, and a full segment scan.

llmpulse answers each question in one REST request. Phoenix (20.x) has no grouped or
filtered percentile time series: ``traceLatencyMsPercentileTimeSeries`` bins trace latency
of the whole project by minute/hour/day and takes no filter. Its nearest equivalent is the
GraphQL field ``spanLatencyMsQuantile(probability, timeRange, filterCondition)``, one value
per (bucket, region), asked either one HTTP request per value, or many aliased fields in one
GraphQL document (its data loader still runs one SQL query per value).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from sidebyside.workload import REGIONS, WorkloadSpec

DAY_NS = 86_400 * 1_000_000_000

BUCKET_NS = 300 * 1_000_000_000
Values = dict[tuple[int, str], float]
_SPAN_P95 = """query($n: String!, $s: DateTime!, $e: DateTime!, $f: String!) {
  getProjectByName(name: $n) {
    v: spanLatencyMsQuantile(probability: 0.95, timeRange: {start: $s, end: $e},
                             filterCondition: $f) } }"""
_TRACE_SERIES = """query($n: String!, $s: DateTime!, $e: DateTime!) {
  getProjectByName(name: $n) {
    traceLatencyMsPercentileTimeSeries(timeRange: {start: $s, end: $e},
                                       timeBinConfig: {scale: MINUTE}) {
      data { timestamp p95 } } } }"""


def iso(ns: int) -> str:
    """An instant in unix ns as ISO 8601 UTC."""
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat()


def to_ns(text: str) -> int:
    """ISO 8601 (as the APIs return it) → unix ns, to the second."""
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()) * 1_000_000_000


@dataclass(slots=True)
class Timing:
    """One question asked ``len(samples_ms)`` times in a row; the first run is cold."""

    samples_ms: list[float] = field(default_factory=list)
    num_requests: int = 0
    num_results: int = 0
    error: str | None = None

    @property
    def first_ms(self) -> float | None:
        """The first (cold) run."""
        return self.samples_ms[0] if self.samples_ms else None

    @property
    def median_ms(self) -> float | None:
        """Median of all runs, the first included."""
        return statistics.median(self.samples_ms) if self.samples_ms else None

    def to_json(self) -> dict[str, Any]:
        """Raw samples plus the derived numbers."""
        return {
            "samples_ms": [round(s, 3) for s in self.samples_ms],
            "first_ms": self.first_ms,
            "median_ms": self.median_ms,
            "num_requests": self.num_requests,
            "num_results": self.num_results,
            "error": self.error,
        }


# A question runs once and returns the requests it sent, the results it got, its values (for
# cross-checks) and the seconds the client spent decoding JSON and building those values:
# they are left out of the timing, so only the HTTP exchange, body read included, counts.
Answer = tuple[int, int, Values, float]
Question = Callable[[httpx.Client], Answer]


class _ClientWork:
    """Adds up the client's own decoding time within one question."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def json(self, resp: httpx.Response) -> Any:
        t0 = time.perf_counter()
        body = resp.json()
        self.seconds += time.perf_counter() - t0
        return body


def time_question(client: httpx.Client, ask: Question, repeat: int) -> tuple[Timing, Values]:
    """Ask ``repeat`` times in a row on one keep-alive client; keep the last values."""
    timing, values = Timing(), Values()
    for _ in range(repeat):
        t0 = time.perf_counter()
        try:
            timing.num_requests, timing.num_results, values, client_s = ask(client)
        except (httpx.HTTPError, RuntimeError, KeyError, ValueError) as exc:
            timing.error = f"failed: {exc!r}"[:300]
            return timing, values
        timing.samples_ms.append((time.perf_counter() - t0 - client_s) * 1000.0)
    return timing, values


def window(spec: WorkloadSpec, days: int | None = None) -> tuple[int, int]:
    """The whole workload's window (7 days), or its first ``days`` days, in unix ns: [s, e)."""
    if days:
        return spec.base_ns, spec.base_ns + days * DAY_NS
    return spec.base_ns, spec.base_ns + spec.duration_ns


def buckets(spec: WorkloadSpec, days: int | None = None) -> list[int]:
    """Start of every 5-minute bucket of the window."""
    start, end = window(spec, days)
    return list(range(start, end, BUCKET_NS))


class LlmpulseQuestions:
    """The questions asked of ``llmpulse serve`` over its REST API."""

    def __init__(
        self, base_url: str, spec: WorkloadSpec, fresh: bool = True, days: int | None = None
    ) -> None:
        """``base_url`` is the server's root, ``spec`` the workload it holds.

        The server caches metric frames and slice tables per query until the data changes.
        With ``fresh``, each call moves the window's end 1 ms earlier than the call before
        (the workload has no span there), so every call is computed, never served from that
        cache; without it, repeated calls are identical and all but the first are cache hits.
        ``days`` narrows the window to the first days of the workload.
        """
        self.base = f"{base_url}/api/v1/projects/{spec.project}"
        self.spec = spec
        self.days = days
        self.fresh = fresh
        self._calls = 0

    def _window(self) -> list[tuple[str, str]]:
        start, end = window(self.spec, self.days)
        if self.fresh:
            end -= self._calls * 1_000_000
            self._calls += 1
        return [("start", iso(start)), ("end", iso(end))]

    def _get(
        self, client: httpx.Client, path: str, params: list[tuple[str, str]], work: _ClientWork
    ) -> Any:
        resp = client.get(f"{self.base}{path}", params=tuple(params))
        if resp.status_code >= 300:
            raise RuntimeError(f"GET {path} → {resp.status_code}: {resp.text[:300]}")
        return work.json(resp)

    def p95_by_region(self, client: httpx.Client) -> Answer:
        """p95 of span latency per 5-minute bucket per ``metadata.region`` over the window."""
        params = [("metric", "latency_ms:p95"), ("bucket", "5m"), ("group_by", "metadata.region")]
        params += self._window()
        work = _ClientWork()
        rows = self._get(client, "/metrics", params, work)["rows"]
        t0 = time.perf_counter()
        values = {
            (to_ns(r["bucket"]), r["group"][0]): r["values"]["latency_ms:p95"]
            for r in rows
            if r["values"]["latency_ms:p95"] is not None
        }
        return 1, len(rows), values, work.seconds + time.perf_counter() - t0

    def discover(self, metric: str) -> Question:
        """All values of tier, region and product_line and all their pairs, ``k=50``."""

        def ask(client: httpx.Client) -> Answer:
            params = [("metric", metric), ("k", "50")]
            params += [("key", f"metadata.{k}") for k in ("tier", "region", "product_line")]
            params += self._window()
            work = _ClientWork()
            body = self._get(client, "/segments/discover", params, work)
            return 1, len(body["data"]), {}, work.seconds

        return ask

    def support(self, client: httpx.Client, metric: str) -> int:
        """Spans that carry the metric's field (0: the workload has no such field)."""
        body = self._get(client, "/metrics", [("metric", metric)], _ClientWork())
        return sum(int(r["support"][metric]) for r in body["rows"])


class PhoenixQuestions:
    """The nearest equivalents Phoenix's GraphQL API offers (see the module docstring)."""

    def __init__(
        self,
        base_url: str,
        spec: WorkloadSpec,
        days: int | None = None,
        aliases_per_document: int = 50,
    ) -> None:
        """``aliases_per_document`` values per document in the batched variant (Phoenix allows
        at most 50 aliases in one document); ``days`` narrows the window to the first days."""
        self.url = f"{base_url}/graphql"
        self.spec = spec
        self.days = days
        self.per_doc = aliases_per_document

    def _post(
        self, client: httpx.Client, query: str, variables: dict[str, Any], work: _ClientWork
    ) -> Any:
        body = {"query": query, "variables": {"n": self.spec.project, **variables}}
        resp = client.post(self.url, json=body)
        resp.raise_for_status()
        payload = work.json(resp)
        if payload.get("errors"):
            raise RuntimeError(f"GraphQL errors: {json.dumps(payload['errors'])[:300]}")
        return payload["data"]["getProjectByName"]

    @staticmethod
    def region_filter(region: str) -> str:
        """Phoenix span-filter DSL for one value of the ``metadata`` JSON attribute."""
        return f"metadata['region'] == '{region}'"

    def _cells(self) -> Iterator[tuple[int, str]]:
        for region in REGIONS:
            for b in buckets(self.spec, self.days):
                yield b, region

    def p95_one_request_each(self, client: httpx.Client) -> Answer:
        """One GraphQL request per (5-minute bucket, region) over the window."""
        values: Values = {}
        n = 0
        work = _ClientWork()
        for b, region in self._cells():
            variables = {"s": iso(b), "e": iso(b + BUCKET_NS), "f": self.region_filter(region)}
            v = self._post(client, _SPAN_P95, variables, work)["v"]
            n += 1
            if v is not None:
                values[(b, region)] = float(v)
        return n, len(values), values, work.seconds

    def _document(self, cells: list[tuple[int, str]]) -> str:
        fields = [
            f'c{i}: spanLatencyMsQuantile(probability: 0.95, timeRange: {{start: "{iso(b)}", '
            f'end: "{iso(b + BUCKET_NS)}"}}, filterCondition: "{self.region_filter(region)}")'
            for i, (b, region) in enumerate(cells)
        ]
        return "query($n: String!) { getProjectByName(name: $n) { " + " ".join(fields) + " } }"

    def p95_batched(self, client: httpx.Client) -> Answer:
        """The same values, ``aliases_per_document`` aliased fields per GraphQL document."""
        cells = list(self._cells())
        values: Values = {}
        n = 0
        work = _ClientWork()
        for i in range(0, len(cells), self.per_doc):
            chunk = cells[i : i + self.per_doc]
            data = self._post(client, self._document(chunk), {}, work)
            n += 1
            for j, cell in enumerate(chunk):
                if data[f"c{j}"] is not None:
                    values[cell] = float(data[f"c{j}"])
        return n, len(values), values, work.seconds

    def trace_p95_series(self, client: httpx.Client) -> Answer:
        """Phoenix's built-in percentile series: trace p95 per minute, whole project."""
        start, end = window(self.spec, self.days)
        work = _ClientWork()
        data = self._post(client, _TRACE_SERIES, {"s": iso(start), "e": iso(end)}, work)
        points = data["traceLatencyMsPercentileTimeSeries"]["data"]
        return 1, sum(1 for p in points if p["p95"] is not None), {}, work.seconds


def compare_values(ours: Values, theirs: Values) -> dict[str, Any]:
    """How far two answers to the same question are apart (cells both answered)."""
    common = sorted(set(ours) & set(theirs))
    diffs = [abs(ours[c] - theirs[c]) / max(1e-9, abs(theirs[c])) for c in common]
    return {
        "cells_llmpulse": len(ours),
        "cells_phoenix": len(theirs),
        "cells_both": len(common),
        "max_rel_diff": max(diffs) if diffs else None,
        "cells_within_1pct": sum(d <= 0.01 for d in diffs),
    }
