"""Pre-serialized workload requests, cloned by byte patching for large sizes.

Building protobuf messages in Python runs at ~15k spans/s, slower than the servers we measure,
so the senders never build: the first ``pool_traces`` traces are built and serialized once
(the templates), and request ``r`` is template ``r % num_templates`` with its trace ids, span
ids, timestamps, session ids and ``[ref ...]`` markers shifted in place. Every field patched
has a fixed width, so the patched bytes equal what ``build_request(spec, r)`` would serialize
(a test checks this). The last, short request (if any) is built directly.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from sidebyside.workload import (
    SPANS_PER_TRACE,
    TRACES_PER_SESSION,
    WorkloadSpec,
    build_request,
)

_HEX_MARKER = re.compile(rb"(\[ref |sess-)([0-9a-f]{8})")
_TAG_TRACE_ID = b"\x0a\x10"
_TAG_SPAN_ID = b"\x12\x08"
_TAG_PARENT_ID = b"\x22\x08"
_TAG_START = b"\x39"
_TAG_END = b"\x41"


@dataclass(frozen=True, slots=True)
class Template:
    """One serialized request and where its shiftable fields are."""

    data: bytes
    trace_ids: tuple[tuple[int, int], ...]  # (offset of the 8 varying bytes, trace index)
    span_ids: tuple[tuple[int, int], ...]  # (offset, span index + 1), parents included
    times: tuple[tuple[int, int], ...]  # (offset, unix ns)
    refs: tuple[tuple[int, int], ...]  # (offset of the hex digits, span index)
    sessions: tuple[tuple[int, int], ...]  # (offset of the hex digits, session index)


def _find(data: bytes, needle: bytes, start: int) -> int:
    pos = data.find(needle, start)
    if pos < 0:
        raise ValueError(f"field {needle!r} not found in template")
    return pos


def make_template(spec: WorkloadSpec, r: int) -> Template:
    """Serialize request ``r`` and index its shiftable fields."""
    msg = build_request(spec, r)
    data = msg.SerializeToString()
    trace_ids, span_ids, times = [], [], []
    cursor = 0
    for span in msg.resource_spans[0].scope_spans[0].spans:
        t = int.from_bytes(span.trace_id[8:], "big")
        cursor = _find(data, _TAG_TRACE_ID + span.trace_id, cursor)
        trace_ids.append((cursor + 2 + 8, t))
        pos = _find(data, _TAG_SPAN_ID + span.span_id, cursor)
        span_ids.append((pos + 2, int.from_bytes(span.span_id, "big")))
        if span.parent_span_id:
            pos = _find(data, _TAG_PARENT_ID + span.parent_span_id, cursor)
            span_ids.append((pos + 2, int.from_bytes(span.parent_span_id, "big")))
        for tag, value in (
            (_TAG_START, span.start_time_unix_nano),
            (_TAG_END, span.end_time_unix_nano),
        ):
            pos = _find(data, tag + struct.pack("<Q", value), cursor)
            times.append((pos + 1, value))
        cursor += 1
    refs: list[tuple[int, int]] = []
    sessions: list[tuple[int, int]] = []
    for m in _HEX_MARKER.finditer(data):
        target = refs if m.group(1) == b"[ref " else sessions
        target.append((m.start(2), int(m.group(2), 16)))
    return Template(
        data, tuple(trace_ids), tuple(span_ids), tuple(times), tuple(refs), tuple(sessions)
    )


def patch(spec: WorkloadSpec, tpl: Template, copy: int) -> bytes:
    """The template shifted by ``copy`` whole pools of traces."""
    if copy == 0:
        return tpl.data
    buf = bytearray(tpl.data)
    d_traces = copy * spec.pool_traces
    d_spans = d_traces * SPANS_PER_TRACE
    d_time = d_traces * spec.interval_ns
    pack = struct.pack_into
    for off, t in tpl.trace_ids:
        pack(">Q", buf, off, t + d_traces)
    for off, s in tpl.span_ids:
        pack(">Q", buf, off, s + d_spans)
    for off, ns in tpl.times:
        pack("<Q", buf, off, ns + d_time)
    for off, s in tpl.refs:
        buf[off : off + 8] = b"%08x" % (s + d_spans)
    d_sessions = d_traces // TRACES_PER_SESSION
    for off, s in tpl.sessions:
        buf[off : off + 8] = b"%08x" % (s + d_sessions)
    return bytes(buf)


class RequestSource:
    """All requests of a workload, in order, as serialized OTLP protobuf."""

    def __init__(self, spec: WorkloadSpec) -> None:
        """Build and index the templates (one pool of traces)."""
        if spec.pool_traces % spec.traces_per_request or spec.pool_traces % TRACES_PER_SESSION:
            raise ValueError("pool_traces must be a multiple of traces_per_request and 4")
        self.spec = spec
        n = spec.pool_traces // spec.traces_per_request
        self.templates = [make_template(spec, r) for r in range(n)]

    def __len__(self) -> int:
        """Number of requests."""
        return self.spec.num_requests

    def get(self, r: int) -> bytes:
        """Request ``r``: a patched template, or built directly when it is short."""
        spec = self.spec
        if (r + 1) * spec.traces_per_request > spec.num_traces:
            return bytes(build_request(spec, r).SerializeToString())
        copy, k = divmod(r, len(self.templates))
        return patch(spec, self.templates[k], copy)

    def __getitem__(self, r: int) -> bytes:
        """Request ``r`` (as `get`: the source indexes as a sequence of bodies)."""
        return self.get(r)

    def __iter__(self) -> Iterator[bytes]:
        """Every request, in order."""
        return (self.get(r) for r in range(len(self)))
