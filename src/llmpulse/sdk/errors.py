"""The error the SDK raises when the server answers with a problem+json body."""

from __future__ import annotations

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
