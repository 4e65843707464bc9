"""Name the span an OTLP/JSON parse error falls in, for the 400 of a body that cannot parse.

orjson refuses a whole document (nested past 1,024 levels, bytes that are not UTF-8) and says
only where. `locate` walks the JSON tokens up to that byte and returns the OTLP path of the
item around it (``resource_spans[0].scope_spans[1].spans[7]``), so the 400 names the first bad
span by index. It runs only after a parse failure, never on the ingest path.
"""

from __future__ import annotations

import itertools
import re

_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[{}\[\],:]', re.DOTALL)
_NAMES = {
    "resourceSpans": "resource_spans", "resource_spans": "resource_spans",
    "scopeSpans": "scope_spans", "scope_spans": "scope_spans", "spans": "spans",
}  # fmt: skip


def locate(data: bytes, offset: int) -> str | None:
    """The OTLP path of the resource, scope or span holding byte ``offset``, if any."""
    stack: list[list[str | int | None]] = []  # ["{", key] or ["[", index]
    expect_key = False
    for m in _TOKEN.finditer(data, 0, offset):
        tok = m.group()
        if tok == b"{":
            stack.append(["{", None])
            expect_key = True
        elif tok == b"[":
            stack.append(["[", 0])
        elif tok in (b"}", b"]"):
            if stack:
                stack.pop()
        elif tok == b",":
            if stack and stack[-1][0] == "[":
                stack[-1][1] = int(stack[-1][1] or 0) + 1
            expect_key = bool(stack) and stack[-1][0] == "{"
        elif tok == b":":
            expect_key = False
        elif expect_key and stack:
            stack[-1][1] = tok[1:-1].decode("utf-8", "replace")
            expect_key = False
    return _path(stack)


def _path(stack: list[list[str | int | None]]) -> str | None:
    parts: list[str] = []
    for outer, inner in itertools.pairwise(stack):
        name = _NAMES.get(str(outer[1])) if outer[0] == "{" else None
        if name is not None and inner[0] == "[":
            parts.append(f"{name}[{inner[1]}]")
            if name == "spans":
                break
    return ".".join(parts) or None


def error_offset(data: bytes, char_pos: int) -> int:
    """The byte offset of a parse error: the first byte that is not UTF-8, else orjson's
    position (counted in characters)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return len(text[:char_pos].encode("utf-8"))
