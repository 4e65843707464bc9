"""Search-match highlighting for the traces table and the span detail.

The text is escaped piece by piece and every case-insensitive occurrence of the search text
is wrapped in ``<mark>``, so a match never splits an HTML entity and user text never becomes
markup. `snippet` cuts a long value around its first match, so the table's preview shows the
match even when it lies past the preview's width.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

from markupsafe import Markup, escape

from llmpulse.domain.spans import Span

_SCAN = 200_000  # characters of one value looked at (listing values are clipped anyway)


def _matches(text: str, needle: str) -> list[tuple[int, int]]:
    """Start and end of every non-overlapping case-insensitive occurrence of ``needle``."""
    if not needle:
        return []
    folded, key = text.lower(), needle.lower()
    if len(folded) != len(text):  # a case fold changed lengths (rare scripts): no offsets
        return []
    found: list[tuple[int, int]] = []
    at = folded.find(key)
    while at >= 0:
        found.append((at, at + len(key)))
        at = folded.find(key, at + len(key))
    return found


def highlight(value: object, needle: str | None) -> Markup:
    """``value`` as escaped HTML with each match of ``needle`` in ``<mark>``."""
    text = "" if value is None else str(value)
    if not needle:
        return escape(text)
    out: list[str] = []
    last = 0
    for start, end in _matches(text, needle):
        out.append(str(escape(text[last:start])))
        out.append(f'<mark class="hit">{escape(text[start:end])}</mark>')
        last = end
    out.append(str(escape(text[last:])))
    return Markup("".join(out))


def snippet(value: object, needle: str | None, width: int = 90) -> Markup:
    """At most ``width`` characters of ``value`` around its first match, highlighted.

    Without a match (or a needle) it is the value's start, cut with an ellipsis.
    """
    text = " ".join(("" if value is None else str(value))[:_SCAN].split())
    hits = _matches(text, needle or "")
    if len(text) <= width:
        return highlight(text, needle)
    if not hits:
        return escape(text[: width - 1] + "…")
    start = max(0, hits[0][0] - width // 3)
    end = min(len(text), start + width)
    start = max(0, end - width)
    cut = text[start:end]
    return Markup(
        ("…" if start else "") + highlight(cut, needle) + ("…" if end < len(text) else "")
    )


def _searched(span: Span) -> Iterator[tuple[str, str | None]]:
    """The searched values of a span with their labels, in the order the table prefers."""
    yield "input", span.input_value
    yield "output", span.output_value
    for m in span.input_messages:
        yield f"{m.role} message", m.content
    for m in span.output_messages:
        yield f"{m.role} answer", m.content
    for i, d in enumerate(span.documents):
        yield f"document {i + 1}", d.content
    yield "exception", " ".join(x for x in (span.exception_type, span.exception_message) if x)
    yield "status", span.status_message


def first_match(span: Span, needle: str | None, width: int = 90) -> tuple[str, Markup] | None:
    """Where ``needle`` first occurs in the span's searched values, and a highlighted snippet.

    None when nothing matches in the values at hand (a listing may hold clipped values).
    """
    if not needle:
        return None
    for label, value in _searched(span):
        if value and _matches(value[:_SCAN], needle):
            return label, snippet(value, needle, width)
    return None


def excerpt_match(
    span: Span, excerpt: str | None, needle: str | None, width: int = 90
) -> tuple[str, Markup] | None:
    """Where a summary row of a search matched (ADR 0051): its input preview when the match
    is there (in its own case), else the store's lower-cased excerpt of its searched text.

    None when neither holds ``needle`` (the span changed since it was found).
    """
    if not needle:
        return None
    preview = span.input_value
    if preview and _matches(preview, needle):
        return "input", snippet(preview, needle, width)
    if excerpt and _matches(excerpt, needle):
        return "text", snippet(excerpt, needle, width)
    return None


def search_suffix(needle: str | None) -> str:
    """The ``&q=…`` that carries a search from the traces table to a trace page."""
    return f"&q={quote(needle, safe='')}" if needle else ""
