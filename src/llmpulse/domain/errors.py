"""The llmpulse error tree; the server maps each class to one HTTP status.

::

    LlmpulseError
    ├── InvalidInput        400  (carries field paths)
    │   ├── UnsupportedMediaType  415
    │   └── PayloadTooLarge       413
    ├── Unauthorized        401  (no key, or a wrong one)
    ├── Forbidden           403  (the key lacks the scope or the project)
    ├── NotFound            404
    ├── Conflict            409
    ├── Overloaded          503  (carries retry-after seconds)
    │   └── RateLimited     429
    ├── Unavailable         503  (carries retry-after seconds too)
    │   └── StoreDamaged    503  (a data file cannot be read; the server refuses to start)
    └── PortInUse           (start-up: a port to listen on is taken)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field of the input, by path (``resource_spans[0].spans[3].name``)."""

    path: str
    message: str


class LlmpulseError(Exception):
    """Base of every error llmpulse raises on purpose."""

    status: int = 500
    title: str = "Internal error"

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []

    def __reduce__(self) -> tuple[object, ...]:
        # Keep the field errors when an error crosses a process boundary (decode workers).
        return (_rebuild, (type(self), self.detail, self.errors, dict(self.__dict__)))


def _rebuild(
    cls: type[LlmpulseError], detail: str, errors: list[FieldError], state: dict[str, object]
) -> LlmpulseError:
    err = cls.__new__(cls)
    Exception.__init__(err, detail)
    err.__dict__.update(state)
    return err


class InvalidInput(LlmpulseError):
    """The request or a field in it is not acceptable."""

    status = 400
    title = "Invalid input"


class UnsupportedMediaType(InvalidInput):
    """The request's content type is not one the endpoint reads."""

    status = 415
    title = "Unsupported media type"


class PayloadTooLarge(InvalidInput):
    """The request body is over the configured limit."""

    status = 413
    title = "Payload too large"


class Unauthorized(LlmpulseError):
    """No API key or session, or one that is unknown or revoked."""

    status = 401
    title = "Unauthorized"


class Forbidden(LlmpulseError):
    """The caller is known but its key lacks the scope or the project the request needs."""

    status = 403
    title = "Forbidden"


class NotFound(LlmpulseError):
    """The named thing does not exist."""

    status = 404
    title = "Not found"


class Conflict(LlmpulseError):
    """The request conflicts with the current state."""

    status = 409
    title = "Conflict"


class Overloaded(LlmpulseError):
    """The server cannot take more work right now; retry after ``retry_after_s`` seconds."""

    status = 503
    title = "Overloaded"

    def __init__(self, detail: str, retry_after_s: int = 1) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class RateLimited(Overloaded):
    """One caller exceeded its rate."""

    status = 429
    title = "Too many requests"


class Unavailable(LlmpulseError):
    """A dependency (store, writer, decode workers, disk space) is not available right now."""

    status = 503
    title = "Unavailable"

    def __init__(
        self, detail: str, errors: list[FieldError] | None = None, retry_after_s: int = 5
    ) -> None:
        super().__init__(detail, errors)
        self.retry_after_s = retry_after_s


class StoreDamaged(Unavailable):
    """A file of the data directory is damaged or unreadable; the message says what to do."""

    title = "Store damaged"


class PortInUse(LlmpulseError):
    """A port the server should listen on is taken by another process."""

    title = "Port in use"
