"""`BodyLimits`: request body size limits and the in-flight byte budget, as ASGI middleware.

Every request body is read here, before any route sees it:

- a declared ``Content-Length`` over the limit is answered 413 without reading the body;
- a body without one (chunked) is counted as it arrives and answered 413 once over the limit;
- the bytes are taken from the shared `ByteBudget` (the declared length before reading, else
  chunk by chunk as read); when they do not fit the request gets 503 + ``Retry-After``
  before more of its body is read, and they are given back once the answer is sent.

OTLP/HTTP (``POST /v1/traces``) has its own, larger limit and answers in the OTLP error
encoding of its request (protobuf ``Status`` or JSON); every other route answers
problem+json. The body of a refused request is discarded as it arrives (uvicorn drains it
so the client can read the answer), never kept.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from llmpulse.domain.errors import FieldError
from llmpulse.ingest.admission import ByteBudget
from llmpulse.ingest.responses import error_response
from llmpulse.server.problems import problem

OTLP_PATHS = frozenset({"/v1/traces"})


class _Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


class BodyLimits:
    """ASGI middleware that reads request bodies within their size limit and the byte budget."""

    def __init__(
        self, app: ASGIApp, *, rest_limit: int, otlp_limit: int, budget: ByteBudget
    ) -> None:
        self.app = app
        self.rest_limit = rest_limit
        self.otlp_limit = otlp_limit
        self.budget = budget

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the body (if any) within the limits, then hand the request to the app."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is None and "transfer-encoding" not in headers:
            await self.app(scope, receive, send)
            return
        try:
            body, reserved = await self._read(scope, headers, declared, receive)
        except _Refused as refused:  # its bytes were given back before raising
            await refused.response(scope, receive, send)
            return
        if body is None:  # the client went away while sending
            self.budget.release(reserved)
            return
        try:
            await self.app(scope, _replay(body, receive), send)
        finally:
            self.budget.release(reserved)

    async def _read(
        self, scope: Scope, headers: Headers, declared: str | None, receive: Receive
    ) -> tuple[bytes | None, int]:
        otlp = scope["path"] in OTLP_PATHS
        limit, setting = (
            (self.otlp_limit, "LLMPULSE_MAX_BODY_BYTES")
            if otlp
            else (self.rest_limit, "LLMPULSE_MAX_REST_BODY_BYTES")
        )
        content_type = headers.get("content-type")
        too_large = _refusal(otlp, content_type, 413, _too_large_detail(limit, setting))
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _Refused(too_large)
        reserved = 0
        if declared is not None and declared.isdigit():
            reserved = self._reserve(int(declared), otlp, content_type)
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None, reserved
            chunk: bytes = message.get("body", b"")
            more = bool(message.get("more_body", False))
            size += len(chunk)
            if size > limit:
                self.budget.release(reserved)
                raise _Refused(too_large)
            if size > reserved:
                reserved += self._reserve_more(size - reserved, reserved, otlp, content_type)
            chunks.append(chunk)
        return b"".join(chunks), reserved

    def _reserve(self, n: int, otlp: bool, content_type: str | None) -> int:
        if not self.budget.try_reserve(n):
            raise _Refused(self._overloaded(otlp, content_type))
        return n

    def _reserve_more(self, n: int, held: int, otlp: bool, content_type: str | None) -> int:
        if not self.budget.try_reserve(n):
            self.budget.release(held)
            raise _Refused(self._overloaded(otlp, content_type))
        return n

    def _overloaded(self, otlp: bool, content_type: str | None) -> Response:
        detail = (
            f"{self.budget.in_flight} request body bytes in flight, over the "
            f"{self.budget.limit}-byte bound (LLMPULSE_MAX_INFLIGHT_BYTES); retry later"
        )
        response = _refusal(otlp, content_type, 503, detail)
        response.headers["Retry-After"] = str(self.budget.retry_after_s())
        return response


def _too_large_detail(limit: int, setting: str) -> str:
    return f"request body is over the {limit}-byte limit ({setting})"


def _refusal(otlp: bool, content_type: str | None, status: int, detail: str) -> Response:
    title = "Payload too large" if status == 413 else "Overloaded"
    errors = [FieldError("body", detail)] if status == 413 else []
    if otlp:
        payload, media = error_response(status, title, detail, errors, content_type)
        return Response(payload, status, media_type=media)
    response: JSONResponse = problem(status, title, detail, errors)
    return response


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


_LIMIT_RESPONSES = {
    "413": {"description": "Request body over its size limit (the detail names the setting)"},
    "503": {"description": "Request bodies in flight over the bound; retry after Retry-After"},
}


def document_limits(app: FastAPI) -> None:
    """Add the 413 and 503 `BodyLimits` can answer to every operation that takes a body."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                if isinstance(operation, dict) and "requestBody" in operation:
                    responses = operation.setdefault("responses", {})
                    for code, answer in _LIMIT_RESPONSES.items():
                        responses.setdefault(code, dict(answer))
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
