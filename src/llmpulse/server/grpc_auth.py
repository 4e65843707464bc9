"""The API-key check of OTLP/gRPC calls (the HTTP routes get theirs from `security`)."""

from __future__ import annotations

from llmpulse.domain.keys import Scope
from llmpulse.governance.keys import KeyService
from llmpulse.ingest.grpc_listener import Authorizer


def grpc_authorizer(keys: KeyService, open_allowed: bool) -> Authorizer:
    """Check the ``authorization`` metadata (``Bearer <key>``) of an Export call.

    Open (200) while no key is active and ``open_allowed``, like the HTTP port.
    """

    def authorize(authorization: str | None) -> tuple[int, str, str | None]:
        if open_allowed and not keys.any_active():
            return 200, "", None
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return 401, "a valid API key is required (authorization: Bearer <key>)", None
        principal = keys.verify(token.strip())
        if principal is None:
            return 401, "the API key is unknown or revoked", None
        if not principal.has(Scope.INGEST):
            return 403, "this API key lacks the 'ingest' scope", None
        return 200, "", principal.project

    return authorize
