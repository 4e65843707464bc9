"""What the access layer (`llmpulse.server.security.AccessControl`) costs per request.

Run by hand: ``.venv/bin/python benchmarks/access_layer.py``. The layer wraps an app that
answers at once, in process, with a real `Services` container and a real (cached) API key,
so the difference between ``layer`` and ``bare`` is the layer's own time: Host check, route
match, Bearer verification, policy. Medians of 5,000 calls, three alternating rounds.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from llmpulse.clock import SystemClock
from llmpulse.domain.keys import Scope
from llmpulse.governance.keys import KeyService
from llmpulse.server.app import create_app
from llmpulse.server.security import AccessControl
from llmpulse.server.settings import ServerSettings
from llmpulse.store.datadir import DataDir
from llmpulse.store.state.sql import SqlStateStore

PATHS = ("/healthz", "/api/v1/projects", "/api/v1/projects/p/spans", "/v1/traces", "/ui/traces/x")
CALLS = 5_000
ROUNDS = 3


def make_key(data_dir: Path) -> str:
    """An admin key in a fresh data directory."""
    layout = DataDir(data_dir)
    layout.prepare()
    state = SqlStateStore(layout.state_url)
    try:
        return (
            KeyService(state, SystemClock()).create("bench", frozenset({Scope.ADMIN}), None).token
        )
    finally:
        state.close()


async def inner(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    """An app that answers 200 at once."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def main() -> None:
    """Print the layer's median cost per path."""
    data_dir = Path(tempfile.mkdtemp()) / "data"
    token = make_key(data_dir)
    app = create_app(ServerSettings(data_dir=data_dir, grpc_port=0, decode_workers=0))

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_: MutableMapping[str, Any]) -> None:
        return None

    async with app.router.lifespan_context(app):
        layer = AccessControl(inner, frozenset({"127.0.0.1"}), open_allowed=True)
        for path in PATHS:
            headers = [(b"host", b"127.0.0.1:7600"), (b"authorization", f"Bearer {token}".encode())]
            base = {"type": "http", "method": "POST" if path == "/v1/traces" else "GET",
                    "scheme": "http", "path": path, "root_path": "", "query_string": b"",
                    "headers": headers, "app": app}  # fmt: skip
            medians: dict[str, list[float]] = {"layer": [], "bare": []}
            for label, target in [("layer", layer), ("bare", inner)] * ROUNDS:
                times = []
                for _ in range(CALLS):
                    scope = {**base, "state": {}}
                    t = time.perf_counter()
                    await target(scope, receive, send)
                    times.append(time.perf_counter() - t)
                medians[label].append(statistics.median(times[500:]) * 1e6)
            cost = statistics.median(medians["layer"]) - statistics.median(medians["bare"])
            print(f"{path:32s} layer costs {cost:6.1f} µs per request")


if __name__ == "__main__":
    asyncio.run(main())
