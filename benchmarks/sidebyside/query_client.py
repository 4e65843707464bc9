"""`QueryClient`: the one HTTP client the timed queries of both systems go through.

It is the standard library's `http.client` on one keep-alive HTTP/1.1 connection per server,
with TCP_NODELAY, called synchronously. httpx cost ~0.8 ms per request on the benchmark
machine (``GET /healthz`` 1.1-1.4 ms with `httpx.AsyncClient`, 0.3-0.4 ms with this client,
0.23-0.29 ms over a raw socket), which hid a sub-millisecond server's time and shrank every
ratio towards 1. Requests carry
``Accept-Encoding: identity`` (http.client's default), so neither server compresses: Phoenix
gzips large bodies when asked, as httpx did.

`QueryClient.wire_s` adds up the time from sending each request to reading the last byte of
its answer, so the harness can leave its own JSON decoding (~1 ms for 100 spans with the
stdlib) out of the timings.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

Params = Mapping[str, Any] | Sequence[tuple[str, Any]]
# Recorded in the results' meta, so a report can tell timings of different clients apart.
CLIENT_ID = "http.client keep-alive, wire time"
IDLE_S = 4.0
"""A connection idle longer than this is replaced (uvicorn closes one idle for 5 s)."""


class NotAvailable(Exception):
    """The system has no endpoint for this query (reported as n/a)."""


class QueryFailed(Exception):
    """A non-2xx answer other than 404/405."""


@dataclass(frozen=True, slots=True)
class Reply:
    """A 2xx answer, read in full (so the connection can be reused)."""

    status: int
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class QueryClient:
    """Sends GETs and JSON POSTs to one ``http://host:port`` over one kept-alive connection.

    ``http.client`` reconnects by itself only once it has seen the close, which on a socket the
    server closed while it was idle it sees only by a request failing (``RemoteDisconnected``).
    uvicorn, which both systems run, closes a connection idle for 5 s (``timeout_keep_alive``),
    so a connection idle longer than `IDLE_S` is closed here and a new one opened before the
    request (a loopback connect, ~0.1 ms, inside the timing). A transport error (`OSError`,
    `http.client.HTTPException`) propagates; the connection is closed first, so the next
    request starts a new one.
    """

    def __init__(self, timeout_s: float = 600.0) -> None:
        """Nothing is connected until the first request."""
        self.wire_s = 0.0  # send to last byte received, summed over requests; callers reset it
        self._timeout_s = timeout_s
        self._conn: http.client.HTTPConnection | None = None
        self._netloc = ""
        self._last_used = 0.0

    def get(self, url: str, params: Params | None = None) -> Reply:
        """``GET url?params``."""
        return self._send("GET", f"{url}?{urlencode(params, doseq=True)}" if params else url)

    def post_json(self, url: str, body: Any) -> Reply:
        """``POST url`` with ``body`` as JSON."""
        data = json.dumps(body).encode()
        return self._send("POST", url, data, {"Content-Type": "application/json"})

    def close(self) -> None:
        """Close the connection (a later request opens a new one)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> QueryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connection(self, netloc: str) -> http.client.HTTPConnection:
        idle = time.perf_counter() - self._last_used > IDLE_S
        if self._conn is None or netloc != self._netloc or idle:
            self.close()
            # HTTPConnection.connect sets TCP_NODELAY on its socket itself.
            self._conn = http.client.HTTPConnection(netloc, timeout=self._timeout_s)
            self._netloc = netloc
        return self._conn

    def _send(
        self,
        method: str,
        url: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        parts = urlsplit(url)
        if parts.scheme != "http":
            raise ValueError(f"only http:// URLs: {url}")
        target = f"{parts.path}?{parts.query}" if parts.query else parts.path
        conn = self._connection(parts.netloc)
        t0 = time.perf_counter()
        try:
            conn.request(method, target, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        finally:
            self._last_used = time.perf_counter()
            self.wire_s += self._last_used - t0
        if resp.status in (404, 405):
            raise NotAvailable(f"{method} {parts.path} → {resp.status}")
        if not 200 <= resp.status < 300:
            raise QueryFailed(f"{method} {parts.path} → {resp.status}: {data[:200]!r}")
        return Reply(resp.status, data)
