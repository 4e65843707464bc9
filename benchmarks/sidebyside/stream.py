"""A steady background ingest stream, to time queries while spans keep arriving.

The stream continues the loaded workload (the same spec with more traces), so its spans have
fresh ids. The longer workload spreads its traces over the same day, so the stream's start
times fall inside the loaded day, not after its newest span: ~2.2 h after its start at 1M
spans, ~12 h at 10M, each request ~2.4 s (1M) or ~1.3 s (10M) of start time after the one
before. The newest pages that `sidebyside.variants` asks (ending after the loaded data's
newest span) are therefore the loaded data's while the stream commits. With ``head`` the
traces keep the loaded ones' pace and start after the newest span instead. It posts one request
at a time from a thread, paced to ``spans_per_s``; a request that fails is counted, never
retried for long (the stream is load, not a measurement of ingest).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace

import httpx

from sidebyside.requests import RequestSource
from sidebyside.workload import SPANS_PER_TRACE, WorkloadSpec


@dataclass(slots=True)
class StreamStats:
    """What the stream sent while it ran."""

    spans_per_s_asked: float
    requests: int = 0
    """Requests posted (acknowledged or not): the next stream's ``after``."""
    spans_sent: int = 0
    seconds: float = 0.0
    errors: int = 0

    @property
    def spans_per_s(self) -> float:
        """Spans acknowledged per second of streaming."""
        return self.spans_sent / self.seconds if self.seconds else 0.0


class IngestStream:
    """Posts the continuation of ``spec`` to ``url`` at a steady rate until stopped."""

    def __init__(
        self,
        url: str,
        spec: WorkloadSpec,
        spans_per_s: float,
        after: int = 0,
        *,
        head: bool = False,
    ) -> None:
        """Nothing is sent before `start`; ``after``: requests an earlier stream of the same
        run posted (`StreamStats.requests`), which this one continues; ``head``: its traces
        keep the loaded ones' pace, so they start after the loaded data's newest span (the
        stream is then the head of the data, as live traffic is)."""
        self.url = url
        self.stats = StreamStats(spans_per_s)
        extra = 10_000_000 // SPANS_PER_TRACE  # more than any run streams
        traces = spec.num_traces + extra
        longer = spec.interval_ns * traces if head else spec.duration_ns
        self._source = RequestSource(replace(spec, num_traces=traces, duration_ns=longer))
        self._first = spec.num_requests + after
        self._period_s = spec.traces_per_request * SPANS_PER_TRACE / spans_per_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ingest-stream", daemon=True)

    def start(self) -> None:
        """Start streaming in a background thread."""
        self._thread.start()

    def stop(self) -> StreamStats:
        """Stop, wait for the request in flight, and return what was sent."""
        self._stop.set()
        self._thread.join()
        return self.stats

    def _run(self) -> None:
        headers = {"content-type": "application/x-protobuf"}
        t0 = time.perf_counter()
        r = self._first
        per_request = self._source.spec.traces_per_request * SPANS_PER_TRACE
        with httpx.Client(timeout=30.0) as client:
            while not self._stop.is_set():
                due = t0 + (r - self._first) * self._period_s
                if self._stop.wait(max(0.0, due - time.perf_counter())):
                    break
                try:
                    ok = client.post(self.url, content=self._source.get(r), headers=headers)
                    if ok.status_code < 300:
                        self.stats.spans_sent += per_request
                    else:
                        self.stats.errors += 1
                except httpx.HTTPError:
                    self.stats.errors += 1
                r += 1
                self.stats.requests += 1
        self.stats.seconds = time.perf_counter() - t0
