"""Floods of concurrent OTLP exports, and the server's peak memory while they run."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import psutil

from support.otlp import make_request, make_span

PB = {"content-type": "application/x-protobuf"}


@dataclass
class FloodResult:
    """What a flood got back: acknowledged span ids and the refusals."""

    acked: set[str] = field(default_factory=set)
    statuses: list[int] = field(default_factory=list)
    retry_after: list[str | None] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def otlp_body(project: str, spans: int, attr_bytes: int) -> tuple[bytes, list[str]]:
    """One protobuf export of ``spans`` spans carrying ``attr_bytes`` of input text each."""
    batch = [make_span(f"s{i}", attrs={"input.value": "x" * attr_bytes}) for i in range(spans)]
    return make_request(batch, project).SerializeToString(), [s.span_id.hex() for s in batch]


def http_flood(
    url: str, bodies: list[tuple[bytes, list[str]]], connections: int, rounds: int
) -> FloodResult:
    """``connections`` threads, each posting ``rounds`` bodies on its own connection."""
    result = FloodResult()

    def send(k: int) -> None:
        with httpx.Client(timeout=120) as client:
            for r in range(rounds):
                body, ids = bodies[(k * rounds + r) % len(bodies)]
                try:
                    resp = client.post(f"{url}/v1/traces", content=body, headers=PB)
                except httpx.HTTPError as exc:
                    with result.lock:
                        result.errors.append(repr(exc))
                    continue
                with result.lock:
                    result.statuses.append(resp.status_code)
                    result.retry_after.append(resp.headers.get("retry-after"))
                    if resp.status_code == 200:
                        result.acked.update(ids)

    run_threads(send, connections)
    return result


def run_threads(target: Callable[[int], None], n: int) -> None:
    """Start ``n`` threads on ``target(k)`` together and wait for all of them."""
    threads = [threading.Thread(target=target, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


class PeakRss:
    """Samples the summed RSS of a process and its children until stopped; keeps the peak."""

    def __init__(self, pid: int, interval_s: float = 0.02) -> None:
        self._proc = psutil.Process(pid)
        self._interval = interval_s
        self._stop = threading.Event()
        self.baseline = self.sample()
        self.peak = self.baseline
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> int:
        """RSS of the process tree now, in bytes."""
        total = 0
        for p in [self._proc, *self._proc.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += p.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.sample())
            time.sleep(self._interval)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth_mib(self) -> float:
        """Peak minus baseline, in MiB."""
        return (self.peak - self.baseline) / 2**20
