"""Full-text search at 1M spans, uncached (issue 12, item 3).

Usage: ``.venv/bin/python benchmarks/search.py [--spans 1000000] [--runs 5] [--first N]
[--data FILE] [--save FILE] [--cold N] [--in-place] [--no-plain]`` (``--data``: a copy of a
file loaded before; ``--save``: keep the loaded file there, for ``--data`` and
`search_http.py`; ``--first``: the first rare word, so that repeated calls search new words;
``--cold``: then N more rare words,
each searched on a store opened anew, whose buffer pool holds nothing yet; ``--in-place``:
search the ``--data`` file itself, indexed before, instead of a copy indexed anew, as at 10M
spans where the index takes minutes; ``--no-plain``: skip the paired searches without the
index). A file holds 40 rare words unless loaded with more runs.

Loads RAG-like spans (a CHAIN root with a question and an answer, a RETRIEVER with three
documents, an LLM span with system/user messages and an answer; one in 50 fails with an
exception message) built from a 2,000-word vocabulary, ~1.6 kB of text per span on average,
into a DuckDB store in a temporary directory. Every run searches for a different word, so no
cache can answer:

* a rare word (planted in 40 spans per run, in a random searched field);
* a common word (in about 1 % of the spans);
* each as the traces table asks: the first page (100 newest, summary rows with the excerpt
  of where each span matched, ADR 0051) plus the matching count (which the table stops at
  1,000, ADR 0038), over all the data and over its last 24 hours, the 24-hour runs with
  words of their own;
* and the first page of full rows (what the SDK's ``search_spans`` asks by default), with
  words of their own.

The search index (ADR 0038) is built first (time and CPU printed), and the summaries the store
builds behind each open are waited for (at 10M spans that build takes ~10 s, and searches
timed beside it read up to twice as slow). Each whole-history search
is timed through `QueryService` (no cache) with the index and, paired in the same run, without
it (the plain ``search_text`` scan of ADR 0025), in alternating order so neither always runs
on the buffers the other just warmed. Prints medians, spreads and the load average; the
machine is shared: quote medians and the ratio of paired runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from llmpulse.domain.ids import ProjectName, SpanId, TraceId
from llmpulse.domain.spans import Message, RetrievedDocument, Span, SpanKind, StatusCode
from llmpulse.query.service import QueryService
from llmpulse.store.api import SpanQuery, TimeRange
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.state.sql import SqlStateStore
from llmpulse.ui.sorting import SEARCH_COUNT_CAP

P = ProjectName("search-bench")
T0 = datetime(2026, 11, 1, tzinfo=UTC)
RARE_PER_RUN = 40
_LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyz"))


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
    """What the traces table asks: the first page of summary rows and the count, bounded as
    the UI bounds it."""
    q = SpanQuery(project=P, text=text, time=TimeRange(start=since))
    await svc.list_spans(replace(q, fields="summary"), keep=False)
    return await svc.count_spans(q, SEARCH_COUNT_CAP + 1)


async def _full_page(svc: QueryService, text: str) -> int:
    """The first page of full rows (the SDK's default)."""
    page = await svc.list_spans(SpanQuery(project=P, text=text), keep=False)
    return len(page.items)


def _timed(run: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = run()
    return time.perf_counter() - t0, out


def _load(path: Path, spans: int, words: int) -> None:
    events = DuckDBEventStore(path, search_index=False)
    start = time.perf_counter()
    for batch in batches(spans, words):
        events.append_spans(batch)
    events.checkpoint()
    events.close()
    print(f"loaded {spans:,} spans in {time.perf_counter() - start:.1f} s", flush=True)


def main() -> None:
    """Load (or copy a loaded file), build the index, then time each search ``--runs`` times,
    each run with a new word, with the index and without it (paired, alternating order)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data", type=Path, help="a file this script loaded before (copied)")
    parser.add_argument("--first", type=int, default=0, help="first word number (vary per call)")
    parser.add_argument("--save", type=Path, help="keep a copy of the loaded file here")
    parser.add_argument(
        "--cold",
        type=int,
        default=0,
        help="then time this many more rare words, each on a store opened anew (no buffer)",
    )
    parser.add_argument(
        "--in-place",
        action="store_true",
        help="search --data itself (indexed before: only what is missing is indexed)",
    )
    parser.add_argument(
        "--no-plain", action="store_true", help="skip the paired searches without the index"
    )
    args = parser.parse_args()
    words = max(40, args.first + 3 * args.runs + args.cold)
    with tempfile.TemporaryDirectory(dir=args.data.parent if args.data else None) as tmp:
        path = Path(tmp) / "events.duckdb"
        if args.data and args.in_place:
            path = args.data
        elif args.data:
            shutil.copyfile(args.data, path)
        else:
            _load(path, args.spans, words)
            if args.save:
                shutil.copyfile(path, args.save)
        cpu0 = time.process_time()
        wall, events = _timed(lambda: DuckDBEventStore(path, journal=False))
        assert isinstance(events, DuckDBEventStore)
        events.search_index.stop()
        built, _ = _timed(events.search_index.drain)
        events.summary_upkeep.wait_built()  # timed beside no build behind the open
        ((terms,),) = events._query("SELECT count(*) FROM search_terms")
        ((n,),) = events._query("SELECT count(*) FROM spans")
        print(
            f"{n:,} spans; index built in {wall + built:.1f} s wall, "
            f"{time.process_time() - cpu0:.1f} s CPU ({terms:,} term rows); "
            f"load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        ((last,),) = events._query("SELECT max(start_time) FROM spans")
        last = last.replace(tzinfo=UTC)
        rng = np.random.default_rng(11 + args.first)
        vocab = _vocabulary(np.random.default_rng(7))
        # Words of rank 300-800: each is in about 1 % of the spans.
        commons = [vocab[int(i)] for i in rng.choice(np.arange(300, 800), 3 * args.runs, False)]
        svc = QueryService(events, SqlStateStore("sqlite://"))  # no data_version: no cache
        for label, word_of in (
            ("rare word", lambda r: _rare(args.first + r)),
            ("common word", lambda r: commons[r]),
        ):
            times: dict[bool, list[float]] = {True: [], False: []}
            hits = []
            for run in range(args.runs):
                word = word_of(run).upper()  # any case matches
                order = (True, False) if run % 2 == 0 else (False, True)
                for on in (True,) if args.no_plain else order:
                    events.search_index.enabled = on
                    took, found = _timed(lambda w=word: asyncio.run(_table(svc, w)))
                    times[on].append(took)
                    if on:
                        hits.append(found)
            events.search_index.enabled = True
            day: list[float] = []
            for run in range(args.runs):
                since = last - timedelta(hours=24)
                word = word_of(args.runs + run)
                took, _ = _timed(lambda w=word, s=since: asyncio.run(_table(svc, w, s)))
                day.append(took)
            full: list[float] = []
            for run in range(args.runs):
                word = word_of(2 * args.runs + run)
                took, _ = _timed(lambda w=word: asyncio.run(_full_page(svc, w)))
                full.append(took)
            on, off = times[True], times[False] or [float("nan")]
            ratio = statistics.median(b / a for a, b in zip(on, off, strict=False))
            print(
                f"{label:<12} page+count (whole history) with the index: median "
                f"{statistics.median(on) * 1000:7.1f} ms [{min(on) * 1000:.0f}-"
                f"{max(on) * 1000:.0f}], without: {statistics.median(off) * 1000:7.1f} ms "
                f"[{min(off) * 1000:.0f}-{max(off) * 1000:.0f}], paired ratio {ratio:.1f}x; "
                f"counts {hits}\n{'':<12} page+count over the last 24 h (index): median "
                f"{statistics.median(day) * 1000:7.1f} ms [{min(day) * 1000:.0f}-"
                f"{max(day) * 1000:.0f}]\n{'':<12} first page of full rows (index): median "
                f"{statistics.median(full) * 1000:7.1f} ms [{min(full) * 1000:.0f}-"
                f"{max(full) * 1000:.0f}]; load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        events.close()
        if args.cold:
            _cold(path, [_rare(args.first + 3 * args.runs + k) for k in range(args.cold)])


def _cold(path: Path, words: list[str]) -> None:
    """The table's search for each word (page + count), each on a store opened anew: its
    buffer pool holds nothing yet (the file is in the OS's page cache)."""
    took: list[float] = []
    hits = []
    for word in words:
        events = DuckDBEventStore(path, journal=False)
        events.search_index.stop()
        events.summary_upkeep.wait_built()
        svc = QueryService(events, SqlStateStore("sqlite://"))
        seconds, found = _timed(lambda w=word, s=svc: asyncio.run(_table(s, w)))
        took.append(seconds)
        hits.append(found)
        events.close()
    print(
        f"rare word    page+count (whole history), each on a store opened anew: median "
        f"{statistics.median(took) * 1000:7.1f} ms [{min(took) * 1000:.0f}-"
        f"{max(took) * 1000:.0f}]; counts {hits}; load {os.getloadavg()[0]:.1f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
