"""Chart points that open the traces behind them (issue 12 item 2).

A click on a dashboard point opens the traces table filtered to that bucket's time range
(clipped to the chart's window), the chart's scope (trace roots, or every span for charts
that sum over all spans) and, on a split chart, the series' segment (``key=value``). A
latency, token or cost chart opens the table sorted by that column, slowest or largest first,
so the spans that made the point stand out come first. No I/O.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from llmpulse.ui.charts import PointLink
from llmpulse.ui.page_support import traces_url
from llmpulse.ui.series import NONE_GROUP
from llmpulse.ui.windows import CUSTOM, Window

SORT_OF_FIELD = {"latency_ms": "latency", "total_tokens": "tokens", "cost_usd": "cost"}


def bucket_window(window: Window, t: datetime) -> Window:
    """The bucket starting at ``t`` as a window, clipped to ``window``."""
    start, end = t, t + window.bucket
    if window.start is not None and window.start > start:
        start = window.start
    if window.end is not None and window.end < end:
        end = window.end
    return Window(CUSTOM, start, end, window.bucket_key, window.bucket)


def point_link(
    project: str, window: Window, roots: bool, metric: str, split_key: str = ""
) -> PointLink:
    """How a chart of ``metric`` over ``window`` links its points (see the module doc)."""
    sort = SORT_OF_FIELD.get(metric.split(":", 1)[0])

    def link(series: str, t: datetime) -> str:
        if split_key and series == NONE_GROUP:
            return ""  # no filter selects "the key is missing"
        keys = ((split_key, series),) if split_key else ()
        url = traces_url(project, keys, bucket_window(window, t), all_spans=not roots)
        if sort:
            url += ("&" if "?" in url else "?") + urlencode([("sort", sort), ("order", "desc")])
        return url

    return link
