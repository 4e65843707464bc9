"""The traces table's time range and live refresh, and the favicon.

`ranged_query` narrows the table's `SpanQuery` to the picker's preset ``window`` (when no
absolute ``start``/``end`` is given; presets end at the project's last span, see
`llmpulse.ui.windows`) and to ``since``: the live refresh in ``app.js`` polls the page's own
URL with ``since=<start time of the newest row shown>`` and ``sort=time``, and inserts the
rows it has not shown yet at the top. A span that arrives with a start time older than the
newest row shown is not inserted (it shows on the next page load).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from importlib.resources import files

from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.store.api import SpanQuery, TimeRange
from llmpulse.ui.reader import TraceReader
from llmpulse.ui.timerange import range_values
from llmpulse.ui.windows import (
    BUCKETS,
    CUSTOM,
    Window,
    local_text,
    parse_instant,
    resolve_window,
)

FAVICON = files("llmpulse.ui").joinpath("static", "favicon.svg").read_bytes()
FAVICON_CACHE = {"cache-control": "public, max-age=86400"}


async def ranged_query(
    query: SpanQuery, params: Sequence[tuple[str, str]], reader: TraceReader
) -> SpanQuery:
    """``query`` limited to the preset window and to spans starting at or after ``since``.

    Raises:
        InvalidInput: an unknown window or an unreadable ``since``.
    """
    window, start, end = range_values(params)
    time = query.time
    if window and not (start or end) and window.lower() != "all":
        last = first = None
        for p in await reader.list_projects():
            if p.name == query.project:
                first, last = p.first_seen, p.last_seen
        w = resolve_window(window, "auto", first, last)
        time = TimeRange(w.start, w.end)
    raw_since = next((v for k, v in params if k == "since" and v.strip()), "")
    if raw_since:
        errors: list[FieldError] = []
        since = parse_instant(raw_since, "since", errors)
        if errors:
            raise InvalidInput(errors[0].message, errors)
        if since is not None and (time.start is None or since > time.start):
            time = TimeRange(since, time.end)
    return dataclasses.replace(query, time=time) if time != query.time else query


def shown_range(time: TimeRange) -> Window | None:
    """The table's time bounds as the picker shows them (None unless both are set)."""
    if time.start is None or time.end is None:
        return None
    return Window(CUSTOM, time.start, time.end, "1h", BUCKETS["1h"])


def api_params(params: Sequence[tuple[str, str]], query: SpanQuery | None) -> list[tuple[str, str]]:
    """The page's query values for a REST call (the export links): the REST routes know no
    ``window``, so a preset becomes the ``start``/``end`` it resolved to."""
    kept = [(k, v) for k, v in params if k not in ("window", "since", "live")]
    window, start, end = range_values(params)
    if query is None or not window or start or end:
        return kept
    bounds = [("start", query.time.start), ("end", query.time.end)]
    return kept + [(k, local_text(t)) for k, t in bounds if t is not None]
