"""Full-text search at 1M spans, uncached (issue 12, item 3).

Usage: ``.venv/bin/python benchmarks/search.py [--spans 1000000] [--runs 5]``.

Loads RAG-like spans (a CHAIN root with a question and an answer, a RETRIEVER with three
documents, an LLM span with system/user messages and an answer; one in 50 fails with an
exception message) built from a 2,000-word vocabulary, ~1.6 kB of text per span on average,
into a DuckDB store in a temporary directory. Every run searches for a different word, so no
cache can answer:

* a rare word (planted in 40 spans per run, in a random searched field);
* a common word (in about 1 % of the spans);
* each as the traces table asks: the first page (100 newest) plus the matching count, over
  all the data and over its last 24 hours (the spans are stored in time order, so DuckDB's
  zonemaps skip the rest), the 24-hour runs with words of their own.

Each search is timed through `QueryService` (no cache) and, paired in the same run, as the
same count over the raw columns with ``ILIKE`` and JSON text (what search costs without the
derived ``search_text`` column, ADR 0025), the two counts in alternating order so neither
always runs on the buffers the other just warmed. Prints medians and spreads; the machine is
shared: quote medians and the ratio of paired runs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from llmpulse.domain.ids import ProjectName, SpanId, TraceId
from llmpulse.domain.spans import Message, RetrievedDocument, Span, SpanKind, StatusCode
from llmpulse.query.service import QueryService
from llmpulse.store.api import SpanQuery, TimeRange
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.state.sql import SqlStateStore

P = ProjectName("search-bench")
T0 = datetime(2026, 11, 1, tzinfo=UTC)
RARE_PER_RUN = 40
_LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyz"))
_COLUMN_COUNT = "SELECT count(*) FROM spans WHERE project = ? AND contains(search_text, lower(?))"
_RAW_ILIKE = (
    "SELECT count(*) FROM spans WHERE project = ? AND (input_value ILIKE ? OR output_value "
    "ILIKE ? OR CAST(input_messages AS VARCHAR) ILIKE ? OR CAST(output_messages AS VARCHAR) "
    "ILIKE ? OR CAST(documents AS VARCHAR) ILIKE ? OR exception_message ILIKE ?)"
)


def _vocabulary(rng: np.random.Generator, n: int = 2000) -> list[str]:
    lengths = rng.integers(3, 11, size=n)
    return ["".join(rng.choice(_LETTERS, size=int(k))) for k in lengths]


def _text(rng: np.random.Generator, words: list[str], n: int) -> str:
    # Zipf-like word frequencies, as in natural text.
    idx = np.minimum(rng.zipf(1.3, size=n) - 1, len(words) - 1)
    return " ".join(words[int(i)] for i in idx)


def _rare(run: int) -> str:
    return f"zqx{run:03d}marker"


def batches(total: int, runs: int, seed: int = 7, size: int = 9_000) -> Iterator[list[Span]]:
    """Spans of whole three-span traces, ``size`` at a time, with each run's rare word
    planted in `RARE_PER_RUN` spans."""
    rng = np.random.default_rng(seed)
    words = _vocabulary(rng)
    plant = {int(i): r for r in range(runs) for i in rng.choice(total, RARE_PER_RUN, False)}
    made, trace = 0, 0
    while made < total:
        out: list[Span] = []
        while len(out) < size and made < total:
            at = T0 + timedelta(seconds=trace * 2)
            for j, kind in enumerate((SpanKind.CHAIN, SpanKind.RETRIEVER, SpanKind.LLM)):
                if made >= total:
                    break
                extra = f" {_rare(plant[made])} " if made in plant else ""
                out.append(_span(rng, words, trace, j, kind, at, extra))
                made += 1
            trace += 1
        yield out


def _span(
    rng: np.random.Generator,
    words: list[str],
    trace: int,
    j: int,
    kind: SpanKind,
    at: datetime,
    extra: str,
) -> Span:
    common = {
        "project": P,
        "trace_id": TraceId(f"{trace:032x}"),
        "span_id": SpanId(f"{trace * 4 + j + 1:016x}"),
        "parent_span_id": None if j == 0 else SpanId(f"{trace * 4 + 1:016x}"),
        "name": kind.value.lower(),
        "kind": kind,
        "start_time": at,
        "end_time": at + timedelta(milliseconds=float(rng.lognormal(6, 0.5))),
    }
    if kind is SpanKind.CHAIN:
        return Span(
            **common,  # type: ignore[arg-type]
            input_value=_text(rng, words, 30) + extra,
            output_value=_text(rng, words, 60),
        )
    if kind is SpanKind.RETRIEVER:
        docs = tuple(
            RetrievedDocument(id=f"d{k}", content=_text(rng, words, 80) + (extra if k == 1 else ""))
            for k in range(3)
        )
        return Span(**common, input_value=_text(rng, words, 30), documents=docs)  # type: ignore[arg-type]
    failed = rng.random() < 0.02
    return Span(
        **common,  # type: ignore[arg-type]
        input_messages=(
            Message("system", _text(rng, words, 40)),
            Message("user", _text(rng, words, 30)),
        ),
        output_messages=(Message("assistant", _text(rng, words, 60) + extra),),
        status_code=StatusCode.ERROR if failed else StatusCode.OK,
        exception_message=_text(rng, words, 12) if failed else None,
    )


async def _table(svc: QueryService, text: str, since: datetime | None = None) -> int:
    q = SpanQuery(project=P, text=text, time=TimeRange(start=since))
    await svc.list_spans(q, keep=False)
    return await svc.count_spans(q)


def main() -> None:
    """Load, then time each search ``--runs`` times, each run with a new word."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.duckdb"
        events = DuckDBEventStore(path)
        start = time.perf_counter()
        for batch in batches(args.spans, 2 * args.runs):
            events.append_spans(batch)
        events.checkpoint()
        print(
            f"loaded {args.spans:,} spans in {time.perf_counter() - start:.1f} s, "
            f"{path.stat().st_size / 1e6:.0f} MB on disk"
        )
        ((last,),) = events._query("SELECT max(start_time) FROM spans")
        last = last.replace(tzinfo=UTC)
        rng = np.random.default_rng(11)
        vocab = _vocabulary(np.random.default_rng(7))
        # Words of rank 300-800: each is in about 1 % of the spans.
        commons = [vocab[int(i)] for i in rng.choice(np.arange(300, 800), 2 * args.runs, False)]
        svc = QueryService(events, SqlStateStore("sqlite://"))  # no data_version: no cache
        for label, word_of in (("rare word", _rare), ("common word", lambda r: commons[r])):
            new, col, old, hits = [], [], [], []
            for run in range(args.runs):
                word = word_of(run).upper()  # any case matches
                t0 = time.perf_counter()
                hits.append(asyncio.run(_table(svc, word)))
                new.append(time.perf_counter() - t0)
                pattern = f"%{word}%"
                pair = [(col, _COLUMN_COUNT, [P, word]), (old, _RAW_ILIKE, [P, *[pattern] * 6])]
                for times, sql, params in pair if run % 2 == 0 else pair[::-1]:
                    t0 = time.perf_counter()
                    events._query(sql, params)
                    times.append(time.perf_counter() - t0)
            day: list[float] = []
            for run in range(args.runs):
                t0 = time.perf_counter()
                asyncio.run(_table(svc, word_of(args.runs + run), last - timedelta(hours=24)))
                day.append(time.perf_counter() - t0)
            ratio = statistics.median(o / c for o, c in zip(old, col, strict=True))
            print(
                f"{label:<12} page+count median {statistics.median(new) * 1000:7.1f} ms "
                f"[{min(new) * 1000:.0f}-{max(new) * 1000:.0f}]  matches {hits}\n"
                f"{'':<12} count: search_text {statistics.median(col) * 1000:7.1f} ms, ILIKE on "
                f"the raw columns {statistics.median(old) * 1000:7.1f} ms, paired ratio "
                f"{ratio:.1f}x\n{'':<12} page+count over the last 24 h: median "
                f"{statistics.median(day) * 1000:7.1f} ms [{min(day) * 1000:.0f}-"
                f"{max(day) * 1000:.0f}]"
            )
        events.close()


if __name__ == "__main__":
    main()
