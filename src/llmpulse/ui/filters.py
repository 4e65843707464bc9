"""The traces page's filter form: query-string values in, a `SpanQuery` (or errors) out.

The form offers the filters of ``GET /api/v1/projects/{project}/spans`` under the same
parameter names (``start``, ``end``, ``kind``, ``status``, ``model``, ``name``, ``attr``, ``q``,
``limit``, ``cursor``), plus ``all=1`` to list every span instead of only trace roots. Times
without an offset are read as UTC (what an HTML ``datetime-local`` input sends).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.ids import ProjectName
from llmpulse.domain.spans import SpanKind, StatusCode
from llmpulse.query.filters import parse_attr, parse_enum
from llmpulse.store.api import SpanQuery, TimeRange
from llmpulse.ui.sorting import BOUND_PARAMS, parse_bounds, parse_sort

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
LIMIT_CHOICES = (25, 50, 100, 200, 500)
KIND_CHOICES = tuple(k.value for k in SpanKind)
STATUS_CHOICES = tuple(s.value for s in StatusCode)


def _clean(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(v.strip() for v in values if v.strip())


@dataclass(frozen=True, slots=True)
class FilterForm:
    """The raw, as-typed values of the filter form (re-rendered as typed on errors)."""

    start: str = ""
    end: str = ""
    kinds: tuple[str, ...] = ()
    status: str = ""
    models: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    attrs: tuple[str, ...] = ()
    text: str = ""
    all_spans: bool = False
    limit: str = ""
    cursor: str = ""
    sort: str = ""
    order: str = ""
    bounds: tuple[tuple[str, str], ...] = ()  # (parameter, raw value) of the range inputs

    @classmethod
    def from_params(cls, params: Iterable[tuple[str, str]]) -> FilterForm:
        """Collect the form's fields from query-string pairs; unknown keys are ignored."""
        multi: dict[str, list[str]] = {}
        for key, value in params:
            multi.setdefault(key, []).append(value)

        def one(key: str) -> str:
            return next(iter(_clean(multi.get(key, []))), "")

        return cls(
            start=one("start"),
            end=one("end"),
            kinds=_clean(multi.get("kind", [])),
            status=one("status"),
            models=_clean(multi.get("model", [])),
            names=_clean(multi.get("name", [])),
            attrs=_clean(multi.get("attr", [])),
            text=one("q"),
            all_spans=one("all").lower() in ("1", "true", "on", "yes"),
            limit=one("limit"),
            cursor=one("cursor"),
            sort=one("sort"),
            order=one("order"),
            bounds=tuple((k, one(k)) for k in BOUND_PARAMS if one(k)),
        )

    def bound(self, param: str) -> str:
        """The raw value of one range input (``min_latency_ms``, …), or ``""``."""
        return dict(self.bounds).get(param, "")

    @property
    def is_filtered(self) -> bool:
        """Whether any narrowing filter is set (the root/all toggle does not count)."""
        return any(
            (self.start, self.end, self.kinds, self.status, self.models, self.names)
        ) or bool(self.attrs or self.text or self.bounds)

    def to_query(self, project: ProjectName) -> SpanQuery:
        """Build the logical query.

        Raises:
            InvalidInput: with one `FieldError` per field that could not be read.
        """
        errors: list[FieldError] = []
        start = _parse_time(self.start, "start", errors)
        end = _parse_time(self.end, "end", errors)
        if start and end and end <= start:
            errors.append(FieldError("end", "must be after start"))
        kinds = tuple(_collect(parse_enum, errors, SpanKind, k, "kind") for k in self.kinds)
        status = (
            _collect(parse_enum, errors, StatusCode, self.status, "status") if self.status else None
        )
        attrs = tuple(
            _collect(parse_attr, errors, raw, f"attr[{i}]") for i, raw in enumerate(self.attrs)
        )
        limit = _parse_limit(self.limit, errors)
        sort, descending = parse_sort(self.sort, self.order, errors)
        ranges = parse_bounds(dict(self.bounds), errors)
        if errors:
            raise InvalidInput("; ".join(f"{e.path}: {e.message}" for e in errors), errors)
        return SpanQuery(
            project=project,
            time=TimeRange(start, end),
            kinds=tuple(k for k in kinds if k is not None),
            status=status,
            models=self.models,
            names=self.names,
            attributes=tuple(a for a in attrs if a is not None),
            text=self.text or None,
            root_only=not self.all_spans,
            limit=limit,
            cursor=self.cursor or None,
            sort=sort,
            descending=descending,
            ranges=ranges,
        )


def _parse_time(raw: str, field: str, errors: list[FieldError]) -> datetime | None:
    if not raw:
        return None
    try:
        t = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        errors.append(FieldError(field, f"{raw!r} is not a date-time like 2024-05-01T12:00"))
        return None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t


T = TypeVar("T")


def _collect(parse: Callable[..., T], errors: list[FieldError], *args: Any) -> T | None:
    """Run a shared parser, collecting its field errors so the form reports them all."""
    try:
        return parse(*args)
    except InvalidInput as exc:
        errors.extend(exc.errors)
        return None


def _parse_limit(raw: str, errors: list[FieldError]) -> int:
    if not raw:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        errors.append(FieldError("limit", f"{raw!r} is not a whole number from 1 to {MAX_LIMIT}"))
        return DEFAULT_LIMIT
    return limit


def replace_param(params: Iterable[tuple[str, str]], key: str, value: str | None) -> str:
    """The query string ``params`` with every ``key`` dropped, then set to ``value`` if given."""
    kept = [(k, v) for k, v in params if k != key and v != ""]
    if value is not None:
        kept.append((key, value))
    return urlencode(kept)
