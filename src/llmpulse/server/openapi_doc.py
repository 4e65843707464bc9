"""The OpenAPI document says what the server sends: 400 (not 422) and 404 problem answers.

FastAPI documents a 422 for every route with parameters, but `problems` answers request
validation errors with 400 problem+json, and routes with a path parameter answer 404 when the
project, trace, span or cohort does not exist. `build_openapi` rewrites FastAPI's document
once: each operation's 422 becomes a 400, each operation with a path parameter gains a 404,
and both (with every other error status a route declares) point at the one ``Problem``
schema of ``application/problem+json``. A test walks every route and checks that each status
it provokes is documented, and schemathesis checks it on generated requests.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from llmpulse.server.problems import PROBLEM

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details, with the fields at fault in `errors`.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "errors"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["path", "message"],
                "properties": {"path": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
_DESCRIPTIONS = {
    "400": "Invalid input; `errors` names each field at fault",
    "404": "The project, trace, span, cohort or SLO named in the path does not exist",
}
_NO_404 = frozenset(
    {
        ("post", "/api/v1/projects/{project}/predictions"),
        ("get", "/api/v1/projects/{project}/cohorts"),
        ("put", "/api/v1/projects/{project}/cohorts/{name}"),
        ("get", "/api/v1/projects/{project}/monitors"),
        ("post", "/api/v1/projects/{project}/monitors"),
        ("put", "/api/v1/projects/{project}/monitors/{name}"),
        ("put", "/api/v1/projects/{project}/route"),
        ("put", "/api/v1/receivers/{name}"),
        ("get", "/api/v1/projects/{project}/silences"),
        ("post", "/api/v1/projects/{project}/silences"),
    }
)
"""Operations whose path names something they create (or list) rather than look up."""


def _problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM: {"schema": _PROBLEM_REF}}}


def _fix_operation(method: str, path: str, op: dict[str, Any]) -> None:
    responses: dict[str, Any] = op.setdefault("responses", {})
    if responses.pop("422", None) is not None or op.get("requestBody"):
        responses["400"] = _problem_response(_DESCRIPTIONS["400"])
    has_path_param = any(p.get("in") == "path" for p in op.get("parameters", []))
    if has_path_param and (method, path) not in _NO_404:
        responses["404"] = _problem_response(_DESCRIPTIONS["404"])
    if path == "/v1/traces":
        return  # OTLP answers errors in the exporter's encoding (ADR 0004), not problem+json
    for code, response in responses.items():
        if code[0] in "45" and "content" not in response:
            response["content"] = {PROBLEM: {"schema": _PROBLEM_REF}}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document, with error responses as the server sends them (cached)."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    for path, operations in schema.get("paths", {}).items():
        for method, op in operations.items():
            _fix_operation(method, path, op)
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    app.openapi_schema = schema
    return schema
