"""A span's summary row kept whole in one column, and read back as the span columns (ADR 0057).

A table of spans (`fields=summary`) reads ~26 narrow columns of each row it shows. Sorted
pages, trace pages and search pages read their rows by row id, scattered over the file:
each row costs a segment of every one of those columns, ~8 of DuckDB's blocks per row
group, and at 10M spans those blocks are rarely in the buffer pool. ``summary_row`` holds
the same values as one JSON array, so such a row costs one segment (and the few columns
its filters name).

The array holds `SUMMARY_FIELDS` in order: instants as epoch microseconds, ``input_value``
as the span's input preview (`layout.INPUT_PREVIEW_SQL`), ``metadata`` as its stored JSON
text; every other value as stored. `expand` turns it back into a row of the span columns,
with the columns a summary leaves out as `SUMMARY_CONSTANTS` has them. A select list that
asks for it names it `MARK`, first, so that the store's query runner expands such rows
wherever the SQL came from; the JSON is parsed in Python after DuckDB's top-N, never for
the rows the top-N drops (an extraction in SQL ran on every scanned row: 7 s for a page of
1M spans sorted by latency).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from llmpulse.store.events.columns import SPAN_COLUMN_NAMES

COLUMN = "summary_row"
MARK = "_summary_row"
"""The name a select list gives `COLUMN` so that the query runner expands its rows."""

SUMMARY_CONSTANTS: dict[str, Any] = {
    "status_message": "",
    **dict.fromkeys(
        (
            "output_value", "exception_message", "input_messages", "output_messages",
            "documents", "events", "attributes", "resource_attributes",
        ),
        None,
    ),
}  # fmt: skip
"""Span columns a summary row leaves out, and the value it reads for each (ADR 0045)."""

SUMMARY_FIELDS: tuple[str, ...] = tuple(n for n in SPAN_COLUMN_NAMES if n not in SUMMARY_CONSTANTS)
"""The span columns the array holds, in table order."""

_INSTANTS = frozenset({"start_time", "end_time"})
_SQL_OF = {
    **{n: f"epoch_us({n})" for n in _INSTANTS},
    "metadata": "metadata::VARCHAR",
}


def summary_row_sql(input_preview_sql: str) -> str:
    """The SQL of the array from a span's columns, its input as ``input_preview_sql``."""
    values = (
        input_preview_sql if n == "input_value" else _SQL_OF.get(n, n) for n in SUMMARY_FIELDS
    )
    return f"json_array({', '.join(values)})"


_TEMPLATE = tuple(SUMMARY_CONSTANTS.get(n) for n in SPAN_COLUMN_NAMES)
_POSITIONS = tuple(SPAN_COLUMN_NAMES.index(n) for n in SUMMARY_FIELDS)
_INSTANT_AT = tuple(SUMMARY_FIELDS.index(n) for n in sorted(_INSTANTS))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC).replace(tzinfo=None)  # naive, as DuckDB reads TIMESTAMP


def expand(rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows whose first value is a summary array, as rows of the span columns followed by
    the rest of each row."""
    out = []
    for row in rows:
        text = row[0]
        try:
            values = orjson.loads(text)
        except orjson.JSONDecodeError:  # a non-finite double (stored before ingest refused it)
            values = json.loads(text)
        for i in _INSTANT_AT:
            values[i] = _EPOCH + timedelta(microseconds=values[i])
        full = list(_TEMPLATE)
        for pos, value in zip(_POSITIONS, values, strict=True):
            full[pos] = value
        out.append((*full, *row[1:]))
    return out
