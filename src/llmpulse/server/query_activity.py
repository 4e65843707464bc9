"""`MarkQueries`: ASGI middleware that marks each HTTP request as query activity (ADR 0041).

Background work in the server process (the search indexer) yields while requests run, so a
request's steps do not queue for the interpreter lock behind it. A cached answer never
reaches the store, so the store's own marking of reads does not see it: the request is
marked here, from its first byte to its last. OTLP ingest (``POST /v1/traces``) is not a
query (the indexer already waits while appends keep coming), nor is the health probe.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from llmpulse.store.activity import QUERIES, QueryActivity

NOT_QUERIES = frozenset({"/v1/traces", "/healthz"})


class MarkQueries:
    """Marks every HTTP request but ingest and health probes in a `QueryActivity`."""

    def __init__(self, app: ASGIApp, activity: QueryActivity = QUERIES) -> None:
        """Wrap ``app``; requests are marked in ``activity``."""
        self.app = app
        self.activity = activity

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request, marked as a query while it runs."""
        if scope["type"] != "http" or scope["path"] in NOT_QUERIES:
            await self.app(scope, receive, send)
            return
        self.activity.begin()
        try:
            await self.app(scope, receive, send)
        finally:
            self.activity.end()
