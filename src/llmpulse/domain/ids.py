"""Typed identifiers: one NewType per entity, never a bare str in signatures."""

from typing import NewType

ProjectName = NewType("ProjectName", str)
TraceId = NewType("TraceId", str)  # 32 lowercase hex characters
SpanId = NewType("SpanId", str)  # 16 lowercase hex characters
PredictionId = NewType("PredictionId", str)
AnnotationId = NewType("AnnotationId", str)

MAX_PROJECT_NAME = 256
_UNREACHABLE = frozenset((".", ".."))


def project_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a project, or None when it can.

    A project name is a path segment of every URL about it (``/api/v1/projects/{name}/…``,
    ``/ui/projects/{name}``): ``.`` and ``..`` are resolved away by clients and ``/`` splits
    the segment, so such a project could be written but never read back. Names are 1 to 256
    characters without ``/``, ``\\`` or control characters, and not ``.`` or ``..``.
    """
    if not name:
        return "must not be empty"
    if len(name) > MAX_PROJECT_NAME:
        return f"must be at most {MAX_PROJECT_NAME} characters"
    if name in _UNREACHABLE:
        return f"{name!r} is not a usable project name (it is a relative path segment)"
    bad = next((c for c in name if c in "/\\" or ord(c) < 0x20 or ord(c) == 0x7F), None)
    if bad is not None:
        return f"must not contain {bad!r}"
    return None


def check_project_name(name: str) -> str:
    """``name`` if it can name a project (for pydantic validators).

    Raises:
        ValueError: it cannot (see `project_name_problem`).
    """
    problem = project_name_problem(name)
    if problem is not None:
        raise ValueError(f"project name {problem}")
    return name
