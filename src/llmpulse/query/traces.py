"""Trace trees built from a trace's flat span list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from llmpulse.domain.spans import Span


@dataclass(slots=True)
class SpanNode:
    """One span and its children, oldest child first."""

    span: Span
    children: list[SpanNode] = field(default_factory=list)


def build_tree(spans: Sequence[Span]) -> list[SpanNode]:
    """Arrange spans into trees; spans whose parent is missing become roots.

    Args:
        spans: every span of one trace, in any order.

    Returns:
        The root nodes, oldest first.
    """
    nodes = {s.span_id: SpanNode(s) for s in spans}
    roots: list[SpanNode] = []
    for node in sorted(nodes.values(), key=lambda n: (n.span.start_time, n.span.span_id)):
        parent_id = node.span.parent_span_id
        parent = nodes.get(parent_id) if parent_id else None
        if parent is None or parent is node:
            roots.append(node)
        else:
            parent.children.append(node)
    return roots
