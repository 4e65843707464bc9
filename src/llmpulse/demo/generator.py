"""A deterministic week of RAG-application traffic with planted incidents.

`generate_demo(end=..., days=7, traces_per_hour=120, seed=7)` returns a `DemoData` whose
``batches`` yield `DemoBatch`es (spans plus the annotations on them) in time order, so a
caller can append progressively. Same arguments, same spans: all randomness comes from one
seeded ``random.Random`` and all time from ``end``.

Traffic: users (tier free/pro/enterprise, region us-east/us-west/eu-west/ap-south) open
sessions of 1-6 traces on a product line (search/support/sales) and an intent; traffic
follows a daily cycle peaking at 15:00 UTC. Each trace is CHAIN ``rag.query`` → RETRIEVER
``retrieve`` [→ RERANKER ``rerank``] [→ TOOL] → LLM ``generate`` (models gpt-4o,
gpt-4o-mini, claude-3-5-sonnet, llama-3.1-70b by tier). About 1 % of traces fail. Prompt
version v2 serves half the traffic in the last 72 hours (v1 before).

Planted incidents (also in `DemoData.incidents`), relative to ``end``:

* ``llm-latency-spike``: LLM latency x5 in region eu-west from ``end-30h`` to ``end-28h``.
* ``error-burst``: 30 % of traces fail (LLM provider errors) from ``end-81h`` to ``end-80h``.
* ``sales-enterprise-cost-jump``: tier=enterprise, product_line=sales use claude-3-opus from
  ``end-48h`` to ``end`` (cost per trace about x5).

Annotations: thumbs up/down ``feedback`` (HUMAN) on ~10 % of root spans, more often down
for failed, slow or llama-served traces; ``hallucination`` verdicts (LLM judge, score 1 =
hallucinated) on ~3 % of LLM spans, more often for llama-3.1-70b.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from llmpulse.demo.corpus import INTENTS, Corpus, build_corpus
from llmpulse.demo.incidents import PlantedIncident, effects, plan_incidents
from llmpulse.demo.traces import TraceInput, TraceOutcome, build_trace
from llmpulse.domain.ids import ProjectName
from llmpulse.domain.spans import Annotation, Span

_TIERS = (("free", 0.6), ("pro", 0.3), ("enterprise", 0.1))
_REGIONS = (("us-east", 0.35), ("us-west", 0.25), ("eu-west", 0.25), ("ap-south", 0.15))
_LINES = (("search", 0.45), ("support", 0.35), ("sales", 0.2))
_MODELS = {
    "free": (("gpt-4o-mini", 0.7), ("llama-3.1-70b", 0.3)),
    "pro": (("gpt-4o", 0.45), ("claude-3-5-sonnet", 0.3), ("gpt-4o-mini", 0.25)),
    "enterprise": (("gpt-4o", 0.5), ("claude-3-5-sonnet", 0.5)),
}
_NUM_USERS = 400


@dataclass(frozen=True, slots=True)
class DemoBatch:
    """Spans of whole traces, and the annotations that refer to them."""

    spans: list[Span]
    annotations: list[Annotation]


@dataclass(frozen=True)
class DemoData:
    """The demo: its window, planted incidents, and a one-shot iterator of batches."""

    project: ProjectName
    start: datetime
    end: datetime
    expected_traces: int
    incidents: tuple[PlantedIncident, ...]
    batches: Iterator[DemoBatch] = field(repr=False)

    def __iter__(self) -> Iterator[DemoBatch]:
        return self.batches


@dataclass(frozen=True, slots=True)
class DemoEstimate:
    """Expected size of a demo (spans and bytes are extrapolated from a sample hour)."""

    traces: int
    spans: int
    annotations: int
    text_bytes: int


@dataclass(slots=True, eq=False)  # identity equality: list.remove stays cheap
class _Session:
    id: str
    user: str
    meta: dict[str, str]
    remaining: int


def _pick(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    x = rng.random()
    for value, weight in table:
        x -= weight
        if x < 0:
            return value
    return table[-1][0]


def hourly_traces(hour_start: datetime, traces_per_hour: int) -> int:
    """Traces in one hour: a daily cycle around ``traces_per_hour``, peaking at 15:00 UTC."""
    hour = hour_start.hour + hour_start.minute / 60
    return max(1, round(traces_per_hour * (1 + 0.45 * math.sin(2 * math.pi * (hour - 9) / 24))))


class _Traffic:
    """Users, sessions and per-trace decisions, all drawn from one rng."""

    def __init__(self, seed: int, end: datetime, project: ProjectName) -> None:
        self.rng = random.Random(seed)
        self.corpus: Corpus = build_corpus(seed)
        self.project, self.end = project, end
        self.incidents = plan_incidents(end)
        self.v2_from = end - timedelta(hours=72)
        self.users = [
            (f"user-{i:04d}", _pick(self.rng, _TIERS), _pick(self.rng, _REGIONS))
            for i in range(_NUM_USERS)
        ]
        self.open: list[_Session] = []

    def session(self) -> _Session:
        rng = self.rng
        if self.open and rng.random() < 0.6:
            s = self.open[rng.randrange(len(self.open))]
        else:
            user, tier, region = self.users[rng.randrange(_NUM_USERS)]
            line = _pick(rng, _LINES)
            meta = {"tier": tier, "region": region, "product_line": line}
            meta["intent"] = rng.choice(INTENTS[line])
            s = _Session(f"sess-{rng.getrandbits(48):012x}", user, meta, rng.randint(1, 6))
            self.open.append(s)
        s.remaining -= 1
        if s.remaining <= 0:
            self.open.remove(s)
        return s

    def trace(self, start: datetime) -> TraceOutcome:
        rng, s = self.rng, self.session()
        fx = effects(self.incidents, start, s.meta)
        model = fx.model or _pick(rng, _MODELS[s.meta["tier"]])
        version = "v2" if start >= self.v2_from and rng.random() < 0.5 else "v1"
        t = TraceInput(self.project, start, s.id, s.user, s.meta, version, model,
                       fx.latency_factor, fx.error_rate)  # fmt: skip
        return build_trace(rng, self.corpus, t)

    def annotations(self, out: TraceOutcome) -> list[Annotation]:
        rng, notes = self.rng, []
        root = out.root
        if rng.random() < 0.10:
            slow = root.latency_ms > 6000
            p_down = 0.85 if out.failed else 0.55 if slow else 0.12
            if out.llm is not None and out.llm.model == "llama-3.1-70b":
                p_down += 0.08
            down = rng.random() < p_down
            notes.append(self._note(root, "feedback", "HUMAN", "thumbs_down" if down else
                                    "thumbs_up", 0.0 if down else 1.0, None))  # fmt: skip
        llm = out.llm
        if llm is not None and not out.failed and rng.random() < 0.03:
            p_bad = 0.25 if llm.model == "llama-3.1-70b" else 0.08
            bad = rng.random() < p_bad
            why = ("The answer states facts that no context passage supports." if bad else
                   "Every claim in the answer is supported by a cited passage.")  # fmt: skip
            label = "hallucinated" if bad else "factual"
            notes.append(self._note(llm, "hallucination", "LLM", label, float(bad), why))
        return notes

    def _note(
        self, span: Span, name: str, kind: str, label: str, score: float, why: str | None
    ) -> Annotation:
        rng = self.rng
        created = min(span.end_time + timedelta(seconds=rng.uniform(5, 900)), self.end)
        meta = {"judge_model": "gpt-4o"} if kind == "LLM" else {}
        return Annotation(f"{rng.getrandbits(128):032x}", self.project, span.span_id, None,
                          name, kind, created, label, score, why, meta)  # fmt: skip


def _batches(
    traffic: _Traffic, start: datetime, hours: int, tph: int, size: int
) -> Iterator[DemoBatch]:
    spans: list[Span] = []
    notes: list[Annotation] = []
    rng = traffic.rng
    for h in range(hours):
        hour_start = start + timedelta(hours=h)
        n = hourly_traces(hour_start, tph)
        for offset_s in sorted(rng.random() * 3600.0 for _ in range(n)):
            out = traffic.trace(hour_start + timedelta(seconds=offset_s))
            spans += out.spans
            notes += traffic.annotations(out)
            if len(spans) >= size:
                yield DemoBatch(spans, notes)
                spans, notes = [], []
    if spans:
        yield DemoBatch(spans, notes)


def generate_demo(
    *,
    end: datetime,
    days: int = 7,
    traces_per_hour: int = 120,
    seed: int = 7,
    project: str = "rag-demo",
    batch_spans: int = 5000,
) -> DemoData:
    """Plan a deterministic demo of ``days`` days of traffic ending at ``end``.

    Args:
        end: aware instant the traffic ends at (the demo never produces later spans).
        days: length of the window.
        traces_per_hour: mean traces per hour (the daily cycle goes ±45 % around it).
        seed: the only source of randomness.
        project: project name of every span.
        batch_spans: a batch is yielded once it holds at least this many spans.

    Returns:
        A `DemoData`; spans are generated lazily as ``batches`` is iterated.
    """
    if end.tzinfo is None:
        raise ValueError("end must be timezone-aware")
    hours = days * 24
    start = end - timedelta(hours=hours)
    traffic = _Traffic(seed, end, ProjectName(project))
    expected = sum(hourly_traces(start + timedelta(hours=h), traces_per_hour) for h in range(hours))
    incidents = tuple(i for i in traffic.incidents if i.end > start)
    batches = _batches(traffic, start, hours, traces_per_hour, batch_spans)
    return DemoData(ProjectName(project), start, end, expected, incidents, batches)


def span_text_bytes(span: Span) -> int:
    """Bytes of text one span carries (values, messages, documents), a proxy for its size."""
    n = len(span.input_value or "") + len(span.output_value or "")
    n += sum(len(m.content) for m in span.input_messages)
    n += sum(len(m.content) for m in span.output_messages)
    return n + sum(len(d.content) for d in span.documents)


def estimate_demo(
    *, end: datetime, days: int = 7, traces_per_hour: int = 120, seed: int = 7
) -> DemoEstimate:
    """Estimate the size of `generate_demo` with the same arguments from its first batch."""
    data = generate_demo(end=end, days=days, traces_per_hour=traces_per_hour, seed=seed,
                         batch_spans=2000)  # fmt: skip
    sample = next(iter(data), DemoBatch([], []))
    roots = sum(1 for s in sample.spans if s.parent_span_id is None) or 1
    per_trace = len(sample.spans) / roots
    text = sum(span_text_bytes(s) for s in sample.spans) / roots
    notes = len(sample.annotations) / roots
    t = data.expected_traces
    return DemoEstimate(t, round(t * per_trace), round(t * notes), round(t * text))
