"""Seeded random traces for the trace totals and trace sort suites (ADRs 0046, 0062)."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import timedelta

from store_factories import T0, make_span

from llmpulse.domain.ids import ProjectName, SpanId, TraceId
from llmpulse.domain.spans import Span, StatusCode


def random_traces(
    seed: int,
    n: int,
    *,
    cost: Callable[[random.Random], float | None],
    tokens: Callable[[random.Random], int | None],
    statuses: Sequence[StatusCode],
    first: int = 1,
    spread_s: int = 7200,
    other_every: int = 9,
) -> list[list[Span]]:
    """``n`` traces of a root and 0-5 children with random 128-bit trace and 64-bit span ids:
    roots spread over ``spread_s`` seconds after `T0`, children up to 9 s later, each span's
    cost, tokens and status drawn; trace numbers ``first``... of which every ``other_every``th
    is in project ``other``, the rest in ``default``."""
    rng = random.Random(seed)
    out = []
    for t in range(first, first + n):
        root_at = T0 + timedelta(seconds=rng.randrange(spread_s))
        tid = TraceId(f"{rng.getrandbits(128):032x}")
        root = SpanId(f"{rng.getrandbits(64):016x}")
        spans = []
        for k in range(rng.randrange(6) + 1):
            start = root_at + timedelta(milliseconds=0 if k == 0 else rng.randrange(1, 9000))
            spans.append(
                make_span(
                    t * 100 + k,
                    project=ProjectName("other" if t % other_every == 0 else "default"),
                    trace_id=tid,
                    span_id=root if k == 0 else SpanId(f"{rng.getrandbits(64):016x}"),
                    parent_span_id=None if k == 0 else root,
                    start_time=start,
                    end_time=start + timedelta(milliseconds=rng.randrange(1, 5000)),
                    cost_usd=cost(rng),
                    total_tokens=tokens(rng),
                    status_code=rng.choice(list(statuses)),
                )
            )
        out.append(spans)
    return out
