"""Physical layout of the DuckDB span table beyond the logical columns (ADRs 0010, 0011).

``metadata_kv`` is a derived column the store fills on insert, never a writer: each
top-level metadata entry whose key a query may name (`columns.resolve_attribute_key`
accepts it) as ``key || chr(31) || json_extract_string(metadata, key)``. An equality
filter on ``metadata.<key>`` becomes ``list_contains(metadata_kv, key || chr(31) || value)``,
which holds exactly when ``json_extract_string(metadata, '$."key"') = value``: the key can
hold no ``chr(31)`` (the key pattern refuses control characters), so the first separator
splits key and value unambiguously. Migration ``0004_span_layout.sql`` fills it for rows
stored before; a test checks both use `METADATA_KV_SQL` verbatim.

``search_text`` is the second derived column (ADR 0025): the searchable text of a span, in
lower case, joined by newlines: input and output values, the contents of the input and output
messages and of the retrieved documents, the exception's type and message and the status
message. Full-text search (``q``) is then one ``contains`` (memmem) over one column instead of
a case-folding ``ILIKE`` over six and a JSON parse of three; migration ``0005_search_text.sql``
fills it for rows stored before, with `SEARCH_TEXT_SQL` verbatim.

``input_preview`` is the third (ADR 0045): the start of the span's input value, or of its last
input message's content when it has no input value (`INPUT_PREVIEW_SQL`): what a table of
spans shows of the input. A page sorted by latency, tokens or cost reads scattered rows,
and DuckDB decompresses a whole vector of every selected column for each one; the bulky
zstd columns made such a page of 100 spans ~450 ms at 1M spans, the narrow columns with
this preview about ten times less. Migration ``0006_input_preview.sql`` filled it with
`INPUT_PREVIEW_SQL`; migration ``0007_summary_row.sql`` replaced it by the fourth.

``summary_row`` is the fourth (ADR 0057): a span's summary row (the table's columns, the input
as its preview) as one JSON array (`summary_row`), so that a row read by row id costs one
column's segment instead of ~26. Migration ``0007_summary_row.sql`` fills it with
`SUMMARY_ROW_SQL`.
"""

from __future__ import annotations

from collections.abc import Sequence

from llmpulse.store.api import AttrEquals
from llmpulse.store.events import summary_row
from llmpulse.store.events.columns import (
    KEY_PATTERN,
    SPAN_COLUMN_NAMES,
    Column,
    ColumnType,
    resolve_attribute_key,
)

METADATA_KV_COLUMN = "metadata_kv"
METADATA_KV_SEP = "\x1f"
# Columns of the span table after the logical ones, filled by the store itself.
SEARCH_TEXT_COLUMN = "search_text"
SUMMARY_ROW_COLUMN = summary_row.COLUMN
DERIVED_SPAN_COLUMNS: tuple[Column, ...] = (
    Column(METADATA_KV_COLUMN, ColumnType.TEXT_LIST),
    Column(SEARCH_TEXT_COLUMN, ColumnType.TEXT),
    Column(SUMMARY_ROW_COLUMN, ColumnType.TEXT),
)
PREVIEW_CHARS = 160
# The key pattern as an RE2 class list: `-` last in the class instead of escaped.
_SQL_KEY_PATTERN = KEY_PATTERN.replace("\\-", "").replace("@]", "@-]")
METADATA_KV_SQL = (
    "list_transform(list_filter(json_keys(metadata), "
    f"lambda k: regexp_full_match(k, '{_SQL_KEY_PATTERN}')), "
    "lambda k: k || chr(31) || json_extract_string(metadata, '$.\"' || k || '\"'))"
)


_CONTENTS = "array_to_string(json_extract_string({}, '$[*].content'), chr(10))"
SEARCH_TEXT_SQL = (
    "lower(concat_ws(chr(10), input_value, output_value, "
    + ", ".join(_CONTENTS.format(c) for c in ("input_messages", "output_messages", "documents"))
    + ", exception_type, exception_message, status_message))"
)
INPUT_PREVIEW_SQL = (
    "left(coalesce(nullif(input_value, ''), "
    f"json_extract_string(input_messages, '$[#-1].content')), {PREVIEW_CHARS + 1})"
)
"""One character more than `PREVIEW_CHARS`, so that a listing can tell a cut preview from a
whole one (`listing.summary_rows`, which also puts it on one line). Made one line here, with
a regular expression over the stored text, it cost 15 % of ingest (paired, 30k spans)."""
SUMMARY_ROW_SQL = summary_row.summary_row_sql(INPUT_PREVIEW_SQL)
DERIVED_SPAN_SQL = (
    f"{METADATA_KV_SQL} AS {METADATA_KV_COLUMN}, {SEARCH_TEXT_SQL} AS {SEARCH_TEXT_COLUMN}, "
    f"{SUMMARY_ROW_SQL} AS {SUMMARY_ROW_COLUMN}"
)
"""The select list of every derived column, in table order, from the logical columns."""
DERIVED_SQL: dict[str, str] = {
    METADATA_KV_COLUMN: METADATA_KV_SQL,
    SEARCH_TEXT_COLUMN: SEARCH_TEXT_SQL,
    SUMMARY_ROW_COLUMN: SUMMARY_ROW_SQL,
}
DERIVED_NAMES: tuple[str, ...] = tuple(c.name for c in DERIVED_SPAN_COLUMNS)


def brought_columns(names: Sequence[str]) -> tuple[str, ...] | None:
    """The derived columns a batch of span rows brings (ADR 0059): ``names`` are the span
    columns followed by some of the derived ones in table order; None for any other list."""
    logical = len(SPAN_COLUMN_NAMES)
    if tuple(names[:logical]) != SPAN_COLUMN_NAMES:
        return None
    brought = tuple(names[logical:])
    return brought if brought == tuple(n for n in DERIVED_NAMES if n in brought) else None


def derived_select(brought: tuple[str, ...]) -> str | None:
    """The select list of a table row from a batch that brings ``brought`` (None: the batch
    is the table's row as it is)."""
    if brought == DERIVED_NAMES:
        return None
    exclude = f" EXCLUDE ({', '.join(brought)})" if brought else ""
    made = (n if n in brought else f"{DERIVED_SQL[n]} AS {n}" for n in DERIVED_NAMES)
    return f"*{exclude}, {', '.join(made)}"


def metadata_pair(key: str, value: str) -> str:
    """The ``metadata_kv`` element that stands for ``metadata.<key> = value``."""
    return f"{key}{METADATA_KV_SEP}{value}"


def pair_of(cond: AttrEquals, path: str) -> str | None:
    """The ``metadata_kv`` element of an attribute filter on ``metadata.<key>`` (SQL tests
    it by ``list_contains``), or None for a filter on anything else.

    Raises:
        InvalidInput: the key is not acceptable (``path`` names it).
    """
    ref = resolve_attribute_key(cond.key, path)
    if ref.is_tag or ref.column != "metadata" or ref.json_key is None:
        return None
    return metadata_pair(ref.json_key, cond.value)
