"""Flattened, indexed attributes (``llm.input_messages.0.message.role``) to messages and documents.

OpenInference and the legacy OTel GenAI form flatten lists of objects into dotted keys with a
list index after the prefix. The ingest hot path routes only keys that start with one of
`INDEXED_PREFIXES` here; every other attribute never pays for this parsing.

What a typed column captures is removed from the attributes; any field we do not model
(``message.contents``, ``message.name``, ``finish_reason``, …) is handed back as a leftover so
it stays in the span's attributes under its original key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from llmpulse.domain.spans import Message, RetrievedDocument
from llmpulse.ingest import native
from llmpulse.ingest.attributes import as_float, as_str

OI_INPUT = "llm.input_messages."
OI_OUTPUT = "llm.output_messages."
OI_DOCUMENTS = "retrieval.documents."
GENAI_PROMPT = "gen_ai.prompt."
GENAI_COMPLETION = "gen_ai.completion."
INDEXED_PREFIXES = (OI_INPUT, OI_OUTPUT, OI_DOCUMENTS, GENAI_PROMPT, GENAI_COMPLETION)

# Field names of one tool call, per convention, mapped to the keys of `Message.tool_calls`.
_OI_TOOL_CALL = {
    "tool_call.id": "id",
    "tool_call.function.name": "name",
    "tool_call.function.arguments": "arguments",
}
_GENAI_TOOL_CALL = {"id": "id", "name": "name", "arguments": "arguments"}
_OI_CONTENTS = "message.contents."


# The list name (second dotted component) of each indexed prefix.
_LIST_NAMES = {prefix.split(".")[1]: prefix for prefix in INDEXED_PREFIXES}

# One list item: field name (after the index) → value.
_Item = dict[str, Any]
_Items = dict[int, _Item]


@dataclass(slots=True)
class Indexed:
    """Messages and documents found among the indexed attributes, plus the unused keys."""

    input_messages: tuple[Message, ...] = ()
    output_messages: tuple[Message, ...] = ()
    documents: tuple[RetrievedDocument, ...] = ()
    leftovers: dict[str, Any] = field(default_factory=dict)


def parse_indexed(indexed: dict[str, Any]) -> Indexed:
    """Turn the indexed attributes of one span into messages and documents.

    The common OpenInference case (role/content messages; id/content/score/metadata
    documents) is done by the native ``indexed_fast`` where it is built (ADR 0007); it gives
    what `parse_indexed_py` gives, which does everything else.

    Args:
        indexed: attributes whose key starts with one of `INDEXED_PREFIXES`.

    Returns:
        The messages (OpenInference form preferred over the legacy GenAI form), documents and
        the attributes no typed column took.
    """
    ext = native.module
    if ext is not None:
        fast = ext.indexed_fast(indexed, Message, RetrievedDocument, parse_json_object)
        if fast is not None:
            return Indexed(fast[0], fast[1], fast[2])
    return parse_indexed_py(indexed)


def parse_indexed_py(indexed: dict[str, Any]) -> Indexed:
    """`parse_indexed` in Python: every form, leftovers included."""
    out = Indexed()
    left = out.leftovers
    groups = _group(indexed, left)
    oi_in, oi_out = groups.get(OI_INPUT), groups.get(OI_OUTPUT)
    gen_in, gen_out = groups.get(GENAI_PROMPT), groups.get(GENAI_COMPLETION)
    if oi_in:
        out.input_messages = _messages(oi_in, OI_INPUT, "message.", _OI_TOOL_CALL, left)
        _give_back(gen_in, GENAI_PROMPT, left)
    elif gen_in:
        out.input_messages = _messages(gen_in, GENAI_PROMPT, "", _GENAI_TOOL_CALL, left)
    if oi_out:
        out.output_messages = _messages(oi_out, OI_OUTPUT, "message.", _OI_TOOL_CALL, left)
        _give_back(gen_out, GENAI_COMPLETION, left)
    elif gen_out:
        out.output_messages = _messages(gen_out, GENAI_COMPLETION, "", _GENAI_TOOL_CALL, left)
    documents = groups.get(OI_DOCUMENTS)
    if documents:
        out.documents = _documents(documents, left)
    return out


# Instrumentations repeat the same few dozen keys: each is split once (bounded, cleared when full).
_SPLIT_CACHE: dict[str, tuple[str, int, str] | None] = {}
_SPLIT_CACHE_MAX = 8192


def _is_index(text: str) -> bool:
    """A list index: ASCII digits only (``str.isdigit`` also takes "²", which ``int`` refuses)."""
    return text.isascii() and text.isdigit()


def _split(key: str) -> tuple[str, int, str] | None:
    """``"llm.input_messages.0.message.role"`` → (prefix, 0, ``"message.role"``), or None."""
    parts = key.split(".", 3)
    split = None
    if len(parts) == 4 and _is_index(parts[2]):
        split = (_LIST_NAMES[parts[1]], int(parts[2]), parts[3])
    if len(_SPLIT_CACHE) >= _SPLIT_CACHE_MAX:
        _SPLIT_CACHE.clear()
    _SPLIT_CACHE[key] = split
    return split


def _group(indexed: dict[str, Any], leftovers: dict[str, Any]) -> dict[str, _Items]:
    groups: dict[str, _Items] = {}
    cache = _SPLIT_CACHE
    for key, value in indexed.items():
        split = cache[key] if key in cache else _split(key)
        if split is None:
            leftovers[key] = value
            continue
        prefix, index, name = split
        items = groups.get(prefix)
        if items is None:
            items = groups[prefix] = {}
        item = items.get(index)
        if item is None:
            items[index] = {name: value}
        else:
            item[name] = value
    return groups


def _give_back(items: _Items | None, prefix: str, leftovers: dict[str, Any]) -> None:
    for index, item in (items or {}).items():
        _give_back_item(item, f"{prefix}{index}.", leftovers)


def _give_back_item(item: _Item, prefix: str, leftovers: dict[str, Any]) -> None:
    for name, value in item.items():
        leftovers[prefix + name] = value


def _take_str(item: _Item, name: str) -> str | None:
    """Pop field ``name`` when it converts to a string; otherwise leave it in ``item``."""
    value = item.get(name)
    if value is None:
        return None
    text = as_str(value)
    if text is not None:
        del item[name]
    return text


def _messages(
    items: _Items,
    prefix: str,
    ns: str,
    tool_fields: dict[str, str],
    leftovers: dict[str, Any],
) -> tuple[Message, ...]:
    messages = []
    for index in sorted(items):
        item = items[index]
        role = _take_str(item, ns + "role")
        content = _take_str(item, ns + "content")
        if content is None and ns:
            content = _contents_text(item)
        tool_calls = _tool_calls(item, ns + "tool_calls.", tool_fields) if len(item) else ()
        messages.append(Message(role=role or "", content=content or "", tool_calls=tool_calls))
        if item:
            _give_back_item(item, f"{prefix}{index}.", leftovers)
    return tuple(messages)


def _contents_text(item: _Item) -> str | None:
    """Join the text parts of ``message.contents`` (kept in attributes: images live there)."""
    texts: dict[int, str] = {}
    for name, value in item.items():
        if name.startswith(_OI_CONTENTS) and name.endswith(".message_content.text"):
            index = name[len(_OI_CONTENTS) :].partition(".")[0]
            if _is_index(index) and isinstance(value, str):
                texts[int(index)] = value
    return "\n".join(texts[i] for i in sorted(texts)) if texts else None


def _tool_calls(
    item: _Item, prefix: str, tool_fields: dict[str, str]
) -> tuple[dict[str, Any], ...]:
    calls: dict[int, dict[str, Any]] = {}
    for name in [n for n in item if n.startswith(prefix)]:
        index, _, sub = name[len(prefix) :].partition(".")
        target = tool_fields.get(sub)
        if target is None or not _is_index(index):
            continue
        call = calls.setdefault(int(index), {"id": None, "name": None, "arguments": None})
        value = item.pop(name)
        call[target] = value if isinstance(value, str) or value is None else _dumps(value)
    return tuple(calls[i] for i in sorted(calls))


def _documents(items: _Items, leftovers: dict[str, Any]) -> tuple[RetrievedDocument, ...]:
    documents = []
    for index in sorted(items):
        item = items[index]
        doc_id = _take_str(item, "document.id")
        content = _take_str(item, "document.content")
        score = as_float(item.pop("document.score", None))
        metadata = item.pop("document.metadata", None)
        documents.append(
            RetrievedDocument(
                id=doc_id,
                content=content or "",
                score=score,
                metadata=None if metadata is None else parse_json_object(metadata),
            )
        )
        if item:
            _give_back_item(item, f"{OI_DOCUMENTS}{index}.", leftovers)
    return tuple(documents)


def parse_json_object(value: Any) -> dict[str, Any]:
    """Read a JSON-object attribute (``metadata``); anything else is kept as ``{"_raw": ...}``."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str | bytes):
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            return parsed
    return {"_raw": value}


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()
