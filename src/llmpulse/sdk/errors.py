"""The error the SDK raises when the server answers with a problem+json body."""

from __future__ import annotations

import httpx

from llmpulse.domain.errors import FieldError, LlmpulseError


class LlmpulseApiError(LlmpulseError):
    """The llmpulse server refused a request (any non-2xx answer after retries).

    Attributes:
        status: the HTTP status code.
        detail: the problem's ``detail`` (or the raw body when it was not problem+json).
        errors: the problem's ``errors`` list, one `FieldError` per bad field.
    """

    def __init__(self, status: int, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail, errors)
        self.status = status

    def __str__(self) -> str:
        first = f" ({self.errors[0].path}: {self.errors[0].message})" if self.errors else ""
        return f"HTTP {self.status}: {self.detail}{first}"


def error_from(response: httpx.Response) -> LlmpulseApiError:
    """The error of a non-2xx answer, with the problem's field paths when it has them."""
    try:
        body = response.json()
    except ValueError:
        return LlmpulseApiError(response.status_code, response.text[:500] or response.reason_phrase)
    if not isinstance(body, dict):
        return LlmpulseApiError(response.status_code, str(body)[:500])
    errors = [
        FieldError(str(e.get("path", "")), str(e.get("message", "")))
        for e in body.get("errors") or []
        if isinstance(e, dict)
    ]
    detail = body.get("detail") or body.get("title") or response.reason_phrase
    return LlmpulseApiError(response.status_code, str(detail), errors)


class ServerUnreachable(httpx.ConnectError):
    """No llmpulse server answers at the client's endpoint (refused, or no such host).

    Its message says how to start one, in one line.
    """


def unreachable(endpoint: str, exc: httpx.ConnectError) -> ServerUnreachable:
    """The error for a failed connection to ``endpoint``, with the command that starts a
    server there."""
    url = httpx.URL(endpoint)
    port = f" --port {url.port}" if url.port and url.port != 7600 else ""
    local = url.host in ("127.0.0.1", "localhost", "::1", "[::1]")
    how = (
        f"start one with `llmpulse serve{port}` (or `llmpulse serve --demo{port}` for demo data)"
        if local
        else "check that the server is running and the URL (--url, LLMPULSE_URL) is right"
    )
    reason = str(exc).splitlines()[0] if str(exc) else "connection failed"
    return ServerUnreachable(
        f"no llmpulse server answers at {endpoint} ({reason}); {how}", request=exc.request
    )
