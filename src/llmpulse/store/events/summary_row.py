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

Ingest builds the array in Python (`texts`, called where the decode pool turns a request into
Arrow columns: ADR 0059), so that a commit does not plan `summary_row_sql` (~3 ms each);
`summary_row_sql` fills it for rows that arrive without it (a migration, the ingest journal's
replay, a table of the span columns alone). Both give the same values, type for type.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from llmpulse.store.events.columns import SPAN_COLUMN_NAMES, SPAN_COLUMNS, ColumnType

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


_FLOATS = frozenset(c.name for c in SPAN_COLUMNS if c.type is ColumnType.FLOAT)
_INTS = frozenset(c.name for c in SPAN_COLUMNS if c.type is ColumnType.INT)
_DUMPS_OPTS = orjson.OPT_SERIALIZE_NUMPY


def preview(
    input_value: str | None, input_messages: Sequence[Any] | None, chars: int
) -> str | None:
    """`layout.INPUT_PREVIEW_SQL` in Python: the first ``chars`` characters of the input value,
    or of the last input message's content when the value is missing or empty."""
    text: Any = input_value
    if not text:
        if not input_messages:
            return None
        last = input_messages[-1]
        text = last.get("content") if isinstance(last, Mapping) else getattr(last, "content", None)
        if text is None:
            return None
        if not isinstance(text, str):  # JSON content that is not a string reads as its JSON
            text = orjson.dumps(text).decode()
    return str(text)[:chars]


def texts(columns: Mapping[str, Sequence[Any]]) -> list[str]:
    """The arrays of a batch, from its column values as stored: ``columns`` maps each of
    `SUMMARY_FIELDS` to its values (instants as epoch microseconds, ``input_value`` already
    the preview, ``metadata`` its JSON text, ``tags`` a list or None)."""
    values = []
    for name in SUMMARY_FIELDS:
        column = columns[name]
        if name in _FLOATS:  # an integer given for a double reads back as a double
            column = [None if v is None else float(v) for v in column]
        elif name in _INTS:  # and a whole double given for an integer as an integer
            column = [None if v is None else int(v) for v in column]
        values.append(column)
    dumps, opts = orjson.dumps, _DUMPS_OPTS
    return [dumps(row, option=opts).decode() for row in zip(*values, strict=True)]


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
