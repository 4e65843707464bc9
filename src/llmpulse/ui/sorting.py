"""The traces table's sort, order and range inputs: query-string values in, query parts out.

The parameter names are the REST listing's (``sort``, ``order``, ``min_latency_ms``, …), so a
page's query string is also a valid export or API query.
"""

from __future__ import annotations

from urllib.parse import urlencode

from llmpulse.domain.errors import FieldError
from llmpulse.store.api import ValueRange

SORT_CHOICES = ("time", "latency", "tokens", "cost", "trace_cost", "trace_tokens", "trace_latency")
ORDER_CHOICES = ("desc", "asc")
BOUNDS = (("latency", "_ms"), ("tokens", ""), ("cost", ""))
BOUND_PARAMS = tuple(f"{side}_{key}{unit}" for key, unit in BOUNDS for side in ("min", "max"))
EXPORT_FORMATS = ("csv", "jsonl", "parquet")
SEARCH_COUNT_CAP = 1000
"""A search's matching count stops here (shown as "1000+"): a common word's count would
otherwise scan every span (ADR 0038)."""


def parse_sort(sort: str, order: str, errors: list[FieldError]) -> tuple[str, bool]:
    """The sort key and whether it is descending (errors collected; defaults: time, desc)."""
    if sort and sort not in SORT_CHOICES:
        errors.append(FieldError("sort", f"{sort!r} is not one of: {', '.join(SORT_CHOICES)}"))
        sort = ""
    if order and order not in ORDER_CHOICES:
        errors.append(FieldError("order", f"{order!r} is not one of: desc, asc"))
        order = ""
    return sort or "time", order != "asc"


def parse_bounds(raw: dict[str, str], errors: list[FieldError]) -> tuple[ValueRange, ...]:
    """The range filters of the ``min_*``/``max_*`` inputs (errors collected)."""
    out: list[ValueRange] = []
    for key, unit in BOUNDS:
        low = _number(raw, f"min_{key}{unit}", errors)
        high = _number(raw, f"max_{key}{unit}", errors)
        if low is not None and high is not None and low > high:
            errors.append(FieldError(f"min_{key}{unit}", f"must not exceed max_{key}{unit}"))
        elif low is not None or high is not None:
            out.append(ValueRange(key, low=low, high=high))
    return tuple(out)


def _number(raw: dict[str, str], param: str, errors: list[FieldError]) -> float | None:
    text = raw.get(param, "")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also refuses NaN
        errors.append(FieldError(param, f"{text!r} is not a number ≥ 0"))
        return None
    return value


def sort_url(params: list[tuple[str, str]], sort: str, current: tuple[str, bool]) -> str:
    """The page's query string sorted by ``sort``: descending first, the other way when it
    is already the sort; the cursor is dropped (a cursor belongs to one sort)."""
    descending = not current[1] if current[0] == sort else True
    kept = [(k, v) for k, v in params if k not in ("sort", "order", "cursor")]
    return "?" + urlencode([*kept, ("sort", sort), ("order", "desc" if descending else "asc")])


def export_url(project_path: str, params: list[tuple[str, str]], all_spans: bool, fmt: str) -> str:
    """The REST export of the page's view (same filters and order, every page)."""
    kept = [(k, v) for k, v in params if k not in ("cursor", "limit", "all") and v]
    return f"/api/v1/projects/{project_path}/spans/export?" + urlencode(
        [*kept, ("root_only", "false" if all_spans else "true"), ("format", fmt)]
    )
