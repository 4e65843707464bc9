"""The access rules in the OpenAPI document: the Bearer scheme and the 401/403 answers."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from llmpulse.server.access import is_public

AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No API key, or an unknown or revoked one (problem+json)"},
    403: {
        "description": "The key lacks the scope or the project, or a cross-origin or "
        "CSRF-less browser request (problem+json)"
    },
}


def document_security(app: FastAPI) -> None:
    """Declare the Bearer scheme in the app's OpenAPI document (every route but the public)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        components = schema.setdefault("components", {})
        components.setdefault("securitySchemes", {})["bearer"] = {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key (`lp_...`) with the scope the route needs; "
            "not needed while the server has no key (loopback only).",
        }
        for path, operations in schema.get("paths", {}).items():
            if is_public(path):
                continue
            for operation in operations.values():
                operation["security"] = [{"bearer": []}, {}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
