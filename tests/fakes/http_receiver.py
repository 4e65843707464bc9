"""A real HTTP server on loopback that records requests and answers through a handler.

Each fake (Slack, PagerDuty, webhook) is an `HttpReceiver` with a `respond` function that
validates the body the way the real service does and returns its real answer. `script` queues
canned failures (e.g. a 503 with ``Retry-After``) answered before the normal handler, to test
retries.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass
class Received:
    """One request as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    """One answer: status, headers, body."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


Respond = Callable[[Received], Reply]


class HttpReceiver:
    """A threaded HTTP server on 127.0.0.1 with a free port; use as a context manager."""

    def __init__(self, respond: Respond) -> None:
        """Serve ``respond`` for every POST."""
        self.requests: list[Received] = []
        self.replies: list[Reply] = []
        self.script: list[Reply] = []
        self._respond = respond
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                req = Received(
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length),
                )
                reply = receiver._handle(req)
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _handle(self, req: Received) -> Reply:
        with self._lock:
            self.requests.append(req)
            reply = self.script.pop(0) if self.script else None
        if reply is None:
            reply = self._respond(req)
        with self._lock:
            self.replies.append(reply)
        return reply

    @property
    def url(self) -> str:
        """Return the base URL, e.g. ``http://127.0.0.1:PORT``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> HttpReceiver:
        """Start serving."""
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
