"""The structured OTel GenAI message attributes (``gen_ai.input.messages`` and friends).

Semantic conventions for generative AI (https://opentelemetry.io/docs/specs/semconv/gen-ai/):
``gen_ai.input.messages`` / ``gen_ai.output.messages`` hold a JSON array of
``{"role", "parts": [{"type": "text", "content"}, {"type": "tool_call", "id", "name",
"arguments"}, {"type": "tool_call_response", "id", "response"}, …], "finish_reason"}`` and
``gen_ai.system_instructions`` a JSON array of parts. They map to the same `Message` values as
OpenInference's flattened ``llm.*_messages`` (system instructions become a leading ``system``
message), so either convention fills the same columns.

A message is *lossless* when every part is one of the three types above; only then does the
caller drop the raw attribute (``finish_reason`` is not counted: instrumentations also record
it as ``gen_ai.response.finish_reasons``).
"""

from __future__ import annotations

from typing import Any

import orjson

from llmpulse.domain.spans import Message

INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"

_MESSAGE_KEYS = frozenset(("role", "parts", "finish_reason"))


def parse_messages(raw: Any) -> tuple[tuple[Message, ...], bool] | None:
    """Parse a ``gen_ai.*.messages`` value (JSON string, or an already structured list).

    Returns:
        The messages and whether they captured everything, or None when ``raw`` is not a list
        of message objects (the attribute is then kept untouched).
    """
    items = _load_list(raw)
    if items is None or not all(isinstance(m, dict) for m in items):
        return None
    lossless = True
    messages = []
    for item in items:
        content, tool_calls, complete = _parts(item.get("parts"))
        role = item.get("role")
        lossless = lossless and complete and _MESSAGE_KEYS.issuperset(item)
        role_text = role if isinstance(role, str) else ""
        messages.append(Message(role=role_text, content=content, tool_calls=tool_calls))
    return tuple(messages), lossless


def parse_system_instructions(raw: Any) -> tuple[Message, bool] | None:
    """Parse ``gen_ai.system_instructions`` (an array of parts) into one ``system`` message."""
    parts = _load_list(raw)
    if parts is None:
        return None
    content, tool_calls, complete = _parts(parts)
    return Message(role="system", content=content, tool_calls=tool_calls), complete


def _load_list(raw: Any) -> list[Any] | None:
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
    return raw if isinstance(raw, list) else None


def _parts(parts: Any) -> tuple[str, tuple[dict[str, Any], ...], bool]:
    """Return (text content, tool calls, lossless) for a list of message parts."""
    if not isinstance(parts, list):
        return "", (), parts is None
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    lossless = True
    for part in parts:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("content"), str):
            texts.append(part["content"])
        elif kind == "tool_call":
            calls.append(_tool_call(part))
        elif kind == "tool_call_response":
            texts.append(_as_text(part.get("response")))
        else:
            lossless = False
    return "\n".join(texts), tuple(calls), lossless


def _tool_call(part: dict[str, Any]) -> dict[str, Any]:
    arguments = part.get("arguments")
    if arguments is not None and not isinstance(arguments, str):
        arguments = _as_text(arguments)
    return {"id": part.get("id"), "name": part.get("name"), "arguments": arguments}


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()
