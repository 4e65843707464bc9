"""One error shape: RFC 9457 problem+json built from the `LlmpulseError` tree."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from llmpulse.domain.errors import FieldError, LlmpulseError, Overloaded, Unavailable

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"


def problem(
    status: int,
    title: str,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Build a problem+json response."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "errors": [{"path": e.path, "message": e.message} for e in errors or []],
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def retry_headers(exc: LlmpulseError) -> dict[str, str] | None:
    """``Retry-After`` for back-pressure errors: every 503 (and 429) carries one."""
    if isinstance(exc, Overloaded | Unavailable):
        return {"Retry-After": str(exc.retry_after_s)}
    if exc.status == 503:
        return {"Retry-After": "5"}
    return None


def _loc_to_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or "body"


async def _on_llmpulse_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, LlmpulseError)  # noqa: S101 - registered for this class only
    return problem(exc.status, exc.title, exc.detail, exc.errors, retry_headers(exc))


async def _on_validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for this class only
    errors = [FieldError(_loc_to_path(tuple(e["loc"])), e["msg"]) for e in exc.errors()]
    first = f"{errors[0].path}: {errors[0].message}" if errors else "invalid request"
    return problem(400, "Invalid input", first, errors)


async def _on_http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for this class only
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code == 503 and not any(k.lower() == "retry-after" for k in headers or {}):
        headers = {**(headers or {}), "Retry-After": "5"}
    return problem(exc.status_code, str(exc.detail), str(exc.detail), headers=headers)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem(500, "Internal error", "the server failed; see its log")


def install_problem_handlers(app: FastAPI) -> None:
    """Route every error through problem+json."""
    app.add_exception_handler(LlmpulseError, _on_llmpulse_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
