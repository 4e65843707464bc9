"""The derived span columns built in Python where a batch becomes Arrow columns (ADR 0059).

The store derives ``metadata_kv`` and ``search_text`` (`layout`) in SQL when rows arrive
without them. At each commit that costs DuckDB ~5 ms per derived column for 300 spans, much
of it planning the expressions again, in the writer, which is ingest's one serial step.
Built here, where the decode pool turns a request into columns, each costs ~1 µs a span.
Each function returns exactly what its SQL gives (a test compares both over odd spans and
every code point); where that is not assured cheaply it returns None, and the batch leaves
the column to SQL:

- `metadata_pairs`: a value that is not a string reads as DuckDB's JSON text of it, which
  `duck_json` writes (doubles in DuckDB's notation); a batch whose metadata holds what it
  does not reproduce (a nested string with a control character DuckDB escapes in capitals,
  a key that is not a string, a value only the store's encoder makes JSON of) is left to
  SQL.
- `search_texts`: DuckDB's ``lower`` maps each code point by its simple case mapping; Python's
  ``str.lower`` differs only for ``İ`` (two code points) and a final ``Σ`` (``ς``), which
  `lower` maps first.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from llmpulse.store.events import duck_json
from llmpulse.store.events.columns import KEY_PATTERN
from llmpulse.store.events.layout import metadata_pair

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


def _value_text(value: Any) -> str | None:
    """``json_extract_string`` of a metadata value: a string as itself, null as NULL, any
    other as DuckDB's JSON text of it (`duck_json`).

    Raises:
        duck_json.Unsure: DuckDB might write the value otherwise.
    """
    if value is None or type(value) is str:
        return value
    if isinstance(value, str):  # a subclass (an enum) the encoder may write otherwise
        raise duck_json.Unsure
    if isinstance(value, float) and not math.isfinite(value):
        return None  # the encoder wrote null
    return duck_json.json_text(value)


def metadata_pairs(
    metadata: Sequence[Mapping[Any, Any] | None],
) -> list[list[str | None] | None] | None:
    """``metadata_kv`` of each span (`layout.METADATA_KV_SQL`), or None when SQL must derive
    the batch's (see the module doc)."""
    out: list[list[str | None] | None] = []
    try:
        for entries in metadata:
            if not entries:
                out.append(None)  # stored as NULL
                continue
            if not isinstance(entries, dict):  # the encoder writes only a dict as an object
                return None
            pairs: list[str | None] = []
            for key, value in entries.items():
                if not isinstance(key, str):
                    return None
                if _KEY.fullmatch(key):
                    text = _value_text(value)
                    pairs.append(None if text is None else metadata_pair(key, text))
            out.append(pairs)
    except duck_json.Unsure:
        return None
    return out


def _contents(items: Sequence[Any] | None) -> str | None:
    """``array_to_string(json_extract_string(items, '$[*].content'), chr(10))``.

    Raises:
        duck_json.Unsure: a content is neither a string nor missing (its JSON text is
            DuckDB's own).
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
            raise duck_json.Unsure
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
    except duck_json.Unsure:
        return None
    return texts
