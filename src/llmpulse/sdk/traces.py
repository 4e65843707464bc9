"""The traces table as `Client` methods (`TracesMixin`): sorted pages, exports, DataFrames.

A view is a project, span filters (``kind``, ``status``, ``model``, ``name``, ``attr``, ``q``,
``trace_id``, ``start``, ``end``, ``root_only``, ``min_latency_ms``/``max_latency_ms``,
``min_tokens``/``max_tokens``, ``min_cost``/``max_cost``), a ``sort`` (``time``, ``latency``,
``tokens`` or ``cost`` per span; ``trace_cost``, ``trace_tokens`` or ``trace_latency`` for one
root row per trace ordered by the whole trace's total) and an ``order`` (``desc`` or ``asc``):
what the UI's traces table shows. ``fields="summary"`` asks for that table's columns only: the
input as a one-line preview of at most 160 characters (ending in "…" when cut), the output,
messages, documents, events and attributes left out, and pages sorted by a value read 4-8x
faster. Exports always hold whole values; they are streamed from the server to a file
without holding the whole body.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

import httpx

from llmpulse.sdk.errors import error_from
from llmpulse.sdk.query_params import project_path
from llmpulse.sdk.requester import Requester

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]

JsonDict = dict[str, Any]
ExportFormat = Literal["csv", "jsonl", "parquet"]
_CHUNK = 1 << 16


def _params(filters: dict[str, Any]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in filters.items():
        if value is None:
            continue
        values = value if isinstance(value, list | tuple) else [value]
        out += [(key, str(v).lower() if isinstance(v, bool) else v) for v in values]
    return out


class TracesMixin(Requester):
    """`traces_page`, `search_spans`, `export_traces` and `traces_frame`."""

    def traces_page(
        self,
        project: str,
        *,
        sort: str = "time",
        order: str = "desc",
        limit: int = 100,
        cursor: str | None = None,
        total: bool = False,
        total_limit: int | None = None,
        fields: str = "full",
        **filters: Any,
    ) -> JsonDict:
        """One page of the traces table: ``data`` (root rows carry ``trace`` totals),
        ``next_cursor`` and, with ``total=True``, ``total`` (every matching span; with
        ``total_limit``, no more than that, ``total_capped`` saying it was reached).
        ``fields="summary"``: the table's columns only (see the module)."""
        params = _params(
            {
                **filters,
                "sort": sort,
                "order": order,
                "limit": limit,
                "cursor": cursor,
                "fields": fields,
            }
        )
        if total:
            params.append(("total", "true"))
        if total_limit is not None:
            params.append(("total_limit", str(total_limit)))
        body: JsonDict = self.request("GET", project_path(project, "spans"), params=params)
        return body

    def search_spans(
        self, project: str, text: str, *, limit: int = 100, total: bool = True, **filters: Any
    ) -> JsonDict:
        """Spans whose inputs, outputs, messages, retrieved documents or errors contain
        ``text`` (any case), newest first: one page as `traces_page` returns it, with the
        matching count. Other filters (``root_only``, ``start``, ``kind``, …) narrow it.
        With ``fields="summary"`` the rows are the table's columns and each carries
        ``match``: a lower-cased excerpt of its searched text around the first match."""
        return self.traces_page(project, q=text, limit=limit, total=total, **filters)

    def export_traces(
        self,
        project: str,
        dest: str | Path | IO[bytes],
        *,
        format: ExportFormat = "parquet",
        sort: str = "time",
        order: str = "desc",
        max_rows: int | None = None,
        **filters: Any,
    ) -> int:
        """Stream a view's export (CSV, JSON lines or Parquet) into ``dest``; returns bytes.

        Raises:
            LlmpulseApiError: the server refused the view (bad filter: the field is named).
        """
        params = _params(
            {**filters, "format": format, "sort": sort, "order": order, "max_rows": max_rows}
        )
        url = project_path(project, "spans/export")
        with self._http.stream("GET", url, params=params) as response:
            if not response.is_success:
                response.read()
                raise error_from(response)
            if isinstance(dest, str | Path):
                with Path(dest).open("wb") as out:
                    return _copy(response, out)
            return _copy(response, dest)

    def traces_frame(
        self,
        project: str,
        *,
        sort: str = "time",
        order: str = "desc",
        max_rows: int | None = None,
        **filters: Any,
    ) -> pd.DataFrame:
        """A view's spans as a pandas DataFrame, in the view's order (via a Parquet export;
        needs pandas installed)."""
        import pyarrow.parquet as pq

        buf = io.BytesIO()
        self.export_traces(
            project, buf, format="parquet", sort=sort, order=order, max_rows=max_rows, **filters
        )
        buf.seek(0)
        return pq.read_table(buf).to_pandas()


def _copy(response: httpx.Response, out: IO[bytes]) -> int:
    n = 0
    for chunk in response.iter_bytes(_CHUNK):
        out.write(chunk)
        n += len(chunk)
    return n
