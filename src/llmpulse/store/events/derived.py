"""The derived span columns built in Python where a batch becomes Arrow columns (ADR 0059).

The store derives ``metadata_kv`` and ``search_text`` (`layout`) in SQL when rows arrive
without them. At each commit that costs DuckDB ~5 ms per derived column for 300 spans,
mostly planning the expressions, in the writer, which is ingest's one serial step. Built here,
in the decode workers, each costs ~1 µs a span. Each function returns exactly what its SQL
gives (a test compares both over odd spans and every code point); where that is not assured
cheaply it returns None, and the batch leaves the column to SQL:

- `metadata_pairs`: a value that is not a string reads as its JSON, and DuckDB writes doubles
  and some control characters in its own form (``1e20`` as ``100000000000000000000.0``,
  ``\\u001F`` in capitals); a batch whose metadata holds one, or a key that is not a string,
  is left to SQL.
- `search_texts`: DuckDB's ``lower`` maps each code point by its simple case mapping; Python's
  ``str.lower`` differs only for ``İ`` (two code points) and a final ``Σ`` (``ς``), which
  `lower` maps first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from llmpulse.store.events.columns import KEY_PATTERN
from llmpulse.store.events.layout import METADATA_KV_SEP

_KEY = re.compile(KEY_PATTERN)
_SIMPLE = {0x130: "i", 0x3A3: "\u03c3"}
"""The code points whose simple lower case `str.lower` does not give (see module doc)."""


def lower(text: str) -> str:
    """DuckDB's ``lower(text)``: every code point by its simple lower-case mapping."""
    if text.isascii():
        return text.lower()
    if "\u0130" in text or "\u03a3" in text:
        text = text.translate(_SIMPLE)
    return text.lower()


_SHORT_ESCAPES = frozenset("\b\f\n\r\t")
_CONTROL = re.compile("[\x00-\x1f]")


class _Unsure(Exception):
    """A value whose SQL text this module does not reproduce exactly."""


def _check_plain(value: Any) -> None:
    """Whether orjson writes ``value`` as DuckDB does: strings, integers, booleans, nulls,
    and lists and objects (string keys) of them, with no control character that DuckDB
    escapes in capitals (``\u001f``).

    Raises:
        _Unsure: it is not.
    """
    if isinstance(value, str):
        if _CONTROL.search(value) and not set(_CONTROL.findall(value)) <= _SHORT_ESCAPES:
            raise _Unsure
    elif isinstance(value, list | tuple):
        for item in value:
            _check_plain(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise _Unsure
            _check_plain(key)
            _check_plain(item)
    elif not isinstance(value, int | None):  # a double, or what only `_json_default` writes
        raise _Unsure


def _value_text(value: Any) -> str | None:
    """``json_extract_string`` of a metadata value: a string as itself, null as NULL, any
    other as its JSON (orjson's, which `_check_plain` has found equal to DuckDB's).

    Raises:
        _Unsure: DuckDB might write the value otherwise.
    """
    if value is None or isinstance(value, str):
        return value
    _check_plain(value)
    return orjson.dumps(value).decode()


def metadata_pairs(
    metadata: Sequence[Mapping[Any, Any] | None],
) -> list[list[str | None] | None] | None:
    """``metadata_kv`` of each span (`layout.METADATA_KV_SQL`), or None when SQL must derive
    the batch's (see the module doc)."""
    out: list[list[str | None] | None] = []
    sep = METADATA_KV_SEP
    try:
        for entries in metadata:
            if not entries:
                out.append(None)  # stored as NULL
                continue
            pairs: list[str | None] = []
            for key, value in entries.items():
                if not isinstance(key, str):
                    return None
                if _KEY.fullmatch(key):
                    text = _value_text(value)
                    pairs.append(None if text is None else f"{key}{sep}{text}")
            out.append(pairs)
    except _Unsure:
        return None
    return out


def _contents(items: Sequence[Any] | None) -> str | None:
    """``array_to_string(json_extract_string(items, '$[*].content'), chr(10))``.

    Raises:
        _Unsure: a content is neither a string nor missing (its JSON text is DuckDB's own).
    """
    if not items:
        return None  # stored as NULL
    found = []
    for item in items:
        content = (
            item.get("content") if isinstance(item, Mapping) else getattr(item, "content", None)
        )
        if content is None:
            continue
        if not isinstance(content, str):
            raise _Unsure
        found.append(content)
    return "\n".join(found) if found else None


def search_texts(columns: Mapping[str, Sequence[Any]]) -> list[str] | None:
    """``search_text`` of each span (`layout.SEARCH_TEXT_SQL`) from the span columns' values
    (messages and documents as their domain objects), or None when SQL must derive them."""
    try:
        texts = []
        for row in zip(
            columns["input_value"],
            columns["output_value"],
            columns["input_messages"],
            columns["output_messages"],
            columns["documents"],
            columns["exception_type"],
            columns["exception_message"],
            columns["status_message"],
            strict=True,
        ):
            value, output, inputs, outputs, documents, kind, message, status = row
            parts = (
                value, output, _contents(inputs), _contents(outputs), _contents(documents),
                kind, message, status,
            )  # fmt: skip
            texts.append(lower("\n".join(p for p in parts if p is not None)))
    except _Unsure:
        return None
    return texts
