"""Connection limits uvicorn lacks: header and body timeouts and a cap on open connections.

uvicorn (0.30 to at least 0.55) times out only the idle gap *between* requests
(``timeout_keep_alive``, armed after a response) and resets it on every byte; a connection
that never sends a request, or trickles its headers or body a byte at a time, is held for ever
(uvicorn issue #157 lists ``--timeout-request-start``/``--timeout-request-complete`` as still
open). Its ``limit_concurrency`` answers 503 to *every* request once that many connections are
open, idle or not, so a slowloris flood would still take ``/healthz`` down. This protocol,
a subclass of uvicorn's httptools protocol, adds:

- a header deadline, armed when a connection opens or a new request's first byte arrives and
  disarmed once its headers are complete;
- a body deadline, armed when the headers are complete and disarmed once the body is complete;
- on expiry, ``408 Request Timeout`` (when a request was under way) and the connection closed;
- a cap on open connections: past it the connection idle longest (not in the app's hands:
  waiting for headers or between requests) is closed to make room; when every connection is
  in use, the new one gets ``503`` + ``Retry-After`` and is closed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
from dataclasses import dataclass, field
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger(__name__)

# File descriptors kept for everything but client connections (data files, decode worker
# pipes, the gRPC listener, log files).
RESERVED_FDS = 128


@dataclass(slots=True)
class ConnectionStats:
    """How many connections each limit closed (shown by ``/healthz``)."""

    header_timeouts: int = 0
    body_timeouts: int = 0
    evicted_idle: int = 0
    refused: int = 0


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """The limits one server applies to its HTTP connections."""

    header_timeout_s: float
    body_timeout_s: float
    max_connections: int
    stats: ConnectionStats = field(default_factory=ConnectionStats, compare=False)


def _raw_response(status: int, reason: str, detail: str, extra: bytes = b"") -> bytes:
    """A complete problem+json response written straight to the socket (no ASGI app involved)."""
    body = json.dumps(
        {"type": "about:blank", "title": reason, "status": status, "detail": detail, "errors": []}
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n"
    ).encode()
    return head + extra + b"\r\n" + body


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header/body deadlines and a connection cap."""

    limits: ClassVar[ConnectionLimits]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._phase = "idle"  # idle | headers | body | app
        self._idle_since = 0.0

    # -- connection lifetime -------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Count the connection against the cap and start its header deadline."""
        super().connection_made(transport)
        self._idle_since = self.loop.time()
        self._arm("headers")
        if len(self.connections) > self.limits.max_connections:
            self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        """Drop the deadline with the connection."""
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """A new request's first byte starts its header deadline."""
        if self._phase == "idle":
            self._arm("headers")
        super().data_received(data)

    # -- parser callbacks ----------------------------------------------------------------
    def on_headers_complete(self) -> None:
        """Headers are in: the body deadline starts."""
        self._arm("body")
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        """The body is in: the app has the request (or has answered it already)."""
        self._disarm()
        cycle = self.cycle
        if cycle is not None and cycle.response_complete:  # answered early, body drained
            self._phase = "idle"
            self._idle_since = self.loop.time()
        else:
            self._phase = "app"
        super().on_message_complete()

    def on_response_complete(self) -> None:
        """Back to idle (uvicorn's keep-alive timeout takes over)."""
        if self._phase == "app":
            self._phase = "idle"
        self._idle_since = self.loop.time()
        super().on_response_complete()

    # -- deadlines -----------------------------------------------------------------------
    def _arm(self, phase: str) -> None:
        self._disarm()
        self._phase = phase
        timeout = self.limits.header_timeout_s if phase == "headers" else self.limits.body_timeout_s
        self._deadline = self.loop.call_later(timeout, self._expired, phase)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self, phase: str) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        stats = self.limits.stats
        cycle = self.cycle
        if phase == "headers":
            stats.header_timeouts += 1
            answer = cycle is None or cycle.response_complete
        else:
            stats.body_timeouts += 1
            answer = cycle is not None and not cycle.response_started
        if answer:
            timeout = (
                self.limits.header_timeout_s if phase == "headers" else self.limits.body_timeout_s
            )
            detail = f"request {phase} not received within {timeout:g} s"
            self.transport.write(_raw_response(408, "Request Timeout", detail))
        log.debug("closing %s: request %s timed out", self.client, phase)
        self.transport.close()

    # -- the cap -------------------------------------------------------------------------
    def _idle(self) -> bool:
        return self._phase in ("idle", "headers") and not self.transport.is_closing()

    def _make_room(self) -> None:
        oldest: GuardedHttpProtocol | None = None
        for conn in self.connections:
            if not isinstance(conn, GuardedHttpProtocol) or conn is self or not conn._idle():
                continue
            if oldest is None or conn._idle_since < oldest._idle_since:
                oldest = conn
        if oldest is not None:
            self.limits.stats.evicted_idle += 1
            oldest._disarm()
            oldest.transport.close()
            return
        self.limits.stats.refused += 1
        self._disarm()
        detail = f"{self.limits.max_connections} connections are busy"
        self.transport.write(
            _raw_response(503, "Service Unavailable", detail, b"retry-after: 1\r\n")
        )
        self.transport.close()


def guarded_protocol(limits: ConnectionLimits) -> type[GuardedHttpProtocol]:
    """A `GuardedHttpProtocol` class bound to ``limits`` (uvicorn's ``http=`` argument)."""
    return type("BoundGuardedHttpProtocol", (GuardedHttpProtocol,), {"limits": limits})


def fit_fd_limit(max_connections: int) -> int:
    """Raise this process's open-file limit as far as allowed; return the connection cap that fits.

    The soft ``RLIMIT_NOFILE`` is often 1,024 while the hard one is far higher; past the soft
    limit ``accept()`` fails and the server stops answering anyone, ``/healthz`` included.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max_connections + RESERVED_FDS
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new_soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, hard))
            soft = new_soft
        except (ValueError, OSError):  # pragma: no cover - refused by the platform
            pass
    if soft == resource.RLIM_INFINITY:
        return max_connections
    fitted = max(8, min(max_connections, soft - RESERVED_FDS))
    if fitted < max_connections:
        log.warning(
            "open-file limit %d allows %d connections, not the %d asked (max_connections)",
            soft,
            fitted,
            max_connections,
        )
    return fitted
