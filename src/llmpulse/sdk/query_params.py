"""Query-string values of the analytics endpoints, built from Python arguments.

Pure functions, no HTTP. Times are aware datetimes (a naive one is taken as UTC) or ISO-8601
strings; repeatable filters take one value or a sequence; ``attr`` also takes a mapping.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypedDict
from urllib.parse import quote

TimeArg = datetime | str
ListArg = str | Sequence[str]
AttrArg = str | Sequence[str] | Mapping[str, Any]
Params = list[tuple[str, str | int | float | bool | None]]


class SpanFilters(TypedDict, total=False):
    """The span filters every analytics call takes (all optional).

    ``start``/``end`` bound the span start times; ``kind`` (``LLM``, ``RETRIEVER``, …),
    ``model`` and ``name`` repeat; ``status`` is ``OK``/``ERROR``/``UNSET``; ``attr`` is
    ``"metadata.tier:pro"``, a list of those, or ``{"metadata.tier": "pro"}``; ``root_only``
    keeps only root spans.
    """

    start: TimeArg | None
    end: TimeArg | None
    kind: ListArg | None
    status: str | None
    model: ListArg | None
    name: ListArg | None
    attr: AttrArg | None
    root_only: bool


FILTER_NAMES = frozenset(SpanFilters.__annotations__)


def to_time(value: TimeArg) -> str:
    """An instant as ISO-8601 text; naive datetimes are taken as UTC, strings pass as given."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    return str(value)


def as_list(value: ListArg | None) -> list[str]:
    """One value or a sequence of them as a list of strings (``None`` → empty)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def attr_values(value: AttrArg | None) -> list[str]:
    """``key:value`` filter strings from a string, a sequence or a mapping."""
    if isinstance(value, Mapping):
        return [f"{k}:{v}" for k, v in value.items()]
    return as_list(value)


def filter_params(filters: Mapping[str, Any]) -> Params:
    """Query pairs for the span filters.

    Raises:
        TypeError: an unknown filter name (a typo would otherwise be silently ignored).
    """
    unknown = sorted(set(filters) - FILTER_NAMES)
    if unknown:
        allowed = ", ".join(sorted(FILTER_NAMES))
        raise TypeError(f"unknown filter(s) {', '.join(unknown)}; allowed: {allowed}")
    out: Params = []
    for name in ("start", "end"):
        if filters.get(name) is not None:
            out.append((name, to_time(filters[name])))
    for name in ("kind", "model", "name"):
        out += [(name, v) for v in as_list(filters.get(name))]
    if filters.get("status"):
        out.append(("status", str(filters["status"])))
    out += [("attr", v) for v in attr_values(filters.get("attr"))]
    if filters.get("root_only"):
        out.append(("root_only", "true"))
    return out


def repeat(name: str, values: ListArg | None) -> Params:
    """``name=v`` once per value."""
    return [(name, v) for v in as_list(values)]


def project_path(project: str, tail: str) -> str:
    """The API path ``tail`` under a project (the project name quoted)."""
    return f"/api/v1/projects/{quote(project, safe='')}/{tail}"
