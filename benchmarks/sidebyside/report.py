"""Turn the results JSON into a markdown report: one table, ratios and targets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sidebyside.system import QUERY_NAMES

Run = dict[str, Any]
MIB = 2**20


def _fmt(v: float | None, digits: int = 1) -> str:
    if v is None:
        return "n/a"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


# Query series of a run: cold (parameters vary every run), cached (one fixed question
# repeated), cold while a steady ingest stream runs. Results before cold timing have only
# "queries" (the cached series, whose first run was the only cold one).
SERIES = {"cold": "cold", "queries": "cached", "cold_streaming": "cold, ingest streaming"}


def _q(run: Run, name: str, stat: str = "median_ms", series: str = "cold") -> float | None:
    q = (run.get(series) or {}).get(name)
    return q.get(stat) if q else None


def _q_cell(run: Run, name: str, series: str) -> str:
    q = (run.get(series) or {}).get(name) or {}
    if q.get("median_ms") is None:
        return "n/a" if "n/a" in str(q.get("error") or "n/a") else "failed"
    first = q["samples_ms"][0] if q.get("samples_ms") else None
    if series == "queries":
        return f"{_fmt(q['median_ms'])} ({_fmt(q.get('p95_ms') or q['p90_ms'])})"
    return f"{_fmt(q['median_ms'])} ({_fmt(q.get('p95_ms'))}) first {_fmt(first)}"


def _size(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1e6:g}M"
    if n >= 1000:
        return f"{n / 1000:g}k"
    return str(n)


def _per_10k(r: Run, key: str) -> float | None:
    v = r["ingest"].get(key)
    return None if v is None else v / r["num_spans"] * 10_000


def _mib(v: int | None) -> float | None:
    return None if v is None else v / MIB


def _client_share(r: Run) -> float | None:
    cpu, wall = r["ingest"].get("client_cpu_s"), r["ingest"].get("queryable_s")
    return None if cpu is None or not wall else 100 * cpu / wall


ROWS: list[tuple[str, Callable[[Run], float | None], str]] = [
    ("ingest acked, spans/s", lambda r: r["ingest"].get("acked_spans_per_s"), "higher"),
    ("ingest to queryable, spans/s", lambda r: r["ingest"].get("queryable_spans_per_s"), "higher"),
    ("ingest: server CPU-s per 10k spans", lambda r: _per_10k(r, "server_cpu_s"), "lower"),
    ("ingest: harness CPU, % of wall", _client_share, "info"),
    *[
        (f"{n}, {label}, ms median (p95)", (lambda r, n=n, k=key: _q(r, n, series=k)), "lower")
        for key, label in SERIES.items()
        for n in QUERY_NAMES
    ],
    ("RSS idle after start, MiB", lambda r: r["idle_rss_bytes"] / MIB, "lower"),
    ("RSS peak during ingest, MiB", lambda r: r["peak_rss_bytes"] / MIB, "lower"),
    (
        "RSS after ingest and queries, MiB",
        lambda r: _mib(r.get("rss_after_queries_bytes")),
        "lower",
    ),
    ("disk per span, bytes", lambda r: r["disk_bytes_per_span"], "lower"),
    ("start-up (empty data dir), s", lambda r: r["startup_s"], "lower"),
    ("restart with data, s", lambda r: r.get("restart_with_data_s"), "lower"),
]


def _ratio(ours: float | None, theirs: float | None, better: str) -> str:
    if not ours or not theirs or better == "info":
        return "n/a"
    if better == "higher":
        return f"{ours / theirs:,.1f}x higher"
    if ours <= theirs:
        return f"{theirs / ours:,.1f}x lower"
    return f"{ours / theirs:,.1f}x HIGHER"


def pick_pair(runs: list[Run]) -> tuple[Run | None, Run | None]:
    """The Phoenix run and the llmpulse run closest to it in size (equal size preferred)."""
    ph = next((r for r in runs if r["system"] == "phoenix"), None)
    ours = [r for r in runs if r["system"] == "llmpulse"]
    if not ours:
        return ph, None
    if ph is None:
        return None, ours[0]
    return ph, min(ours, key=lambda r: abs(r["num_spans"] - ph["num_spans"]))


def _series_of(label: str) -> str:
    return next(k for k, v in SERIES.items() if f", {v}, ms" in label)


def table(results: dict[str, Any]) -> list[str]:
    """The main table: one column per run, then the ratio column."""
    runs: list[Run] = results["runs"]
    ph, pair = pick_pair(runs)
    heads = [f"{r['system']} @ {_size(r['num_spans'])}" for r in runs]
    ratio_head = (
        f"ratio llmpulse@{_size(pair['num_spans'])} vs Phoenix@{_size(ph['num_spans'])}"
        if ph and pair
        else "ratio"
    )
    lines = [
        "| metric | " + " | ".join(heads) + f" | {ratio_head} |",
        "|---" * (len(heads) + 2) + "|",
    ]
    for label, get, better in ROWS:
        if label.endswith("ms median (p95)"):
            name, series = label.split(",")[0], _series_of(label)
            cells = [_q_cell(r, name, series) for r in runs]
        else:
            cells = [_fmt(get(r)) for r in runs]
        ratio = _ratio(get(pair), get(ph), better) if ph and pair else "n/a"
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {ratio} |")
    inst = results.get("install", {})
    cells = [_fmt(inst.get(r["system"], {}).get("num_bytes", 0) / MIB) for r in runs]
    ours_i, ph_i = inst.get("llmpulse", {}), inst.get("phoenix", {})
    ratio = _ratio(ours_i.get("num_bytes"), ph_i.get("num_bytes"), "lower")
    lines.append("| install size, MiB | " + " | ".join(cells) + f" | {ratio} |")
    return lines


def _check(ok: bool | None) -> str:
    return {True: "met", False: "**missed**", None: "not measured"}[ok]


def _row(target: str, measured: str, ok: bool | None) -> str:
    return f"| {target} | {measured} | {_check(ok)} |"


def _ingest_targets(runs: list[Run], ceiling: dict[str, Any]) -> list[str]:
    out = []
    for key, what in (
        ("store_rows_spans_per_s", "ceiling (plain-Python decode into store rows)"),
        ("rows_spans_per_s", "stricter floor (upb parse + dict rows)"),
    ):
        base = ceiling.get(key)
        for r in (r for r in runs if r["system"] == "llmpulse"):
            rate = r["ingest"].get("queryable_spans_per_s")
            share = rate / base if rate and base else None
            measured = f"{_fmt(share and 100 * share)}% of {_fmt(base)} spans/s"
            target = f"ingest-to-queryable >= 50% of the {what} @ {_size(r['num_spans'])}"
            out.append(_row(target, measured, None if share is None else share >= 0.5))
    return out


def _query_targets(runs: list[Run], ph: Run | None, pair: Run | None) -> list[str]:
    out = []
    for name in QUERY_NAMES:
        ours, theirs = (_q(pair, name) if pair else None), (_q(ph, name) if ph else None)
        x = theirs / ours if ours and theirs else None
        target = f"{name} cold >= 10x faster than Phoenix cold"
        out.append(_row(target, f"{_fmt(x)}x", None if x is None else x >= 10))
    for size, limit in ((1_000_000, 50.0), (10_000_000, 100.0)):
        big = next(
            (r for r in runs if r["system"] == "llmpulse" and r["num_spans"] >= size * 0.999),
            None,
        )
        for series in ("cold", "cold_streaming"):
            what = SERIES[series]
            for name in QUERY_NAMES:
                v = _q(big, name, series=series) if big else None
                p95 = _q(big, name, "p95_ms", series) if big else None
                measured = f"{_fmt(v)} ms (p95 {_fmt(p95)})"
                ok = None if v is None or p95 is None else v <= limit and p95 <= 2 * v
                target = f"{name} {what} <= {limit:g} ms at {_size(size)}, p95 <= 2x median"
                out.append(_row(target, measured, ok))
    return out


def _resource_targets(runs: list[Run], ph: Run | None, pair: Run | None) -> list[str]:
    out = []
    for label, key, limit in (
        ("peak RSS <= 1/2 of Phoenix's", "peak_rss_bytes", 0.5),
        ("idle RSS <= 1/2 of Phoenix's", "idle_rss_bytes", 0.5),
        ("disk per span <= 1/3 of Phoenix's", "disk_bytes_per_span", 1 / 3),
    ):
        frac = pair[key] / ph[key] if ph and pair and ph[key] else None
        out.append(_row(label, f"{_fmt(frac, 2)}x", None if frac is None else frac <= limit))
    for r in (r for r in runs if r["system"] == "llmpulse"):
        size = _size(r["num_spans"])
        s = r["startup_s"]
        out.append(
            _row(f"start-up <= 3 s (empty data dir, run @ {size})", f"{_fmt(s, 2)} s", s <= 3)
        )
        s2 = r.get("restart_with_data_s")
        ok = None if s2 is None else s2 <= 3
        out.append(
            _row(f"restart with {size} spans <= 3 s (not a stated target)", f"{_fmt(s2, 2)} s", ok)
        )
    return out


def targets(results: dict[str, Any]) -> list[str]:
    """One line per target with the measured value and whether it is met."""
    runs: list[Run] = results["runs"]
    ph, pair = pick_pair(runs)
    ceiling = results.get("ceiling", {})
    return [
        "| target | measured | verdict |",
        "|---|---|---|",
        *_ingest_targets(runs, ceiling),
        *_query_targets(runs, ph, pair),
        *_resource_targets(runs, ph, pair),
    ]


def _client_note(meta: dict[str, Any]) -> str:
    if meta.get("query_client") is None:  # results of runs before the client changed
        return (
            "Queries were timed with httpx.AsyncClient, whose ~0.8 ms of client work per request "
            "is in every sample of both systems."
        )
    return (
        "Queries are timed through one client for both systems: the stdlib http.client on "
        "one keep-alive HTTP/1.1 connection (TCP_NODELAY, no compression asked for), from "
        "sending the request to reading the answer's last byte; decoding the JSON to count "
        "the results is outside the timing. It replaced httpx.AsyncClient, whose ~0.8 ms of "
        "client work per request (GET /healthz 1.1-1.4 ms with httpx, 0.3-0.4 ms with this "
        "client) hid sub-millisecond server times and pulled every ratio towards 1."
    )


def render(results: dict[str, Any]) -> str:
    """The whole markdown report."""
    meta = results["meta"]
    c = results.get("ceiling", {})
    lines = [
        f"# llmpulse vs Arize Phoenix — ingest and query ({meta['date']})",
        "",
        f"Machine: {meta['machine']}. Phoenix {meta.get('phoenix_version', 'n/a')}; "
        f"llmpulse {meta.get('llmpulse_version', 'n/a')}.",
        f"Workload: {meta['workload']}",
        "",
        f"Decode ceiling (one core, {c.get('protobuf_backend', '?')}): upb + llmpulse's "
        "plain-Python mapping into the rows the store takes "
        f"**{_fmt(c.get('store_rows_spans_per_s'))} spans/s** (the ceiling: a plain Python "
        "decode of the same requests into rows; the server runs its native code instead). "
        f"Stricter floors: parse + attributes to dicts {_fmt(c.get('rows_spans_per_s'))} "
        "spans/s (no typed columns, no Arrow); + JSON-encoding the attributes "
        f"{_fmt(c.get('rows_json_spans_per_s'))} spans/s; parse only "
        f"{_fmt(c.get('parse_spans_per_s'))} spans/s.",
        "",
        *table(results),
        "",
        "Queries: each series runs "
        f"{meta.get('repeat', 20)} times in a row on one keep-alive connection; median "
        "(p95, nearest rank) in ms. Cold: the parameters change on every run (time range end, "
        "window, metadata value, window shift; `sidebyside/variants.py`), so no cache can "
        "answer; 'first' is the first query after the bulk load. Cached: one fixed question "
        "repeated. Cold, ingest streaming: another cold series while "
        f"{_fmt(meta.get('stream_spans_per_s'))} spans/s arrive (llmpulse only). "
        "Ratios compare the llmpulse run closest in size to the Phoenix run; "
        "'x lower' = llmpulse is better by that factor.",
        "",
        "## Targets",
        "",
        *targets(results),
        "",
    ]
    notes = [_client_note(meta), *(meta.get("notes") or [])]
    if any(r["system"] == "phoenix" for r in results["runs"]):
        notes.append(
            "Phoenix caches latencyMsQuantile and recordCount results in the server until new "
            "spans arrive, so its cached latency_p50_p99 series is a cache hit; its cold series "
            "is not. Phoenix's quantiles are over trace (root) latency."
        )
    if notes:
        lines += ["## Notes", "", *[f"- {n}" for n in notes], ""]
    return "\n".join(lines)
