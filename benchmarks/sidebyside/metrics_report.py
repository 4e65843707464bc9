"""Markdown report of the metrics benchmark: latencies, Phoenix's equivalents, ratios, targets."""

from __future__ import annotations

from typing import Any

Run = dict[str, Any]
# (question, nominal spans) → target in ms (issue 3)
P95_TARGETS_MS = {1_000_000: 200.0, 10_000_000: 2000.0}
DISCOVER_TARGETS_MS = {1_000_000: 2000.0}
RATIO_TARGET = 10.0
_P95_TEXT = "p95 latency per 5-min bucket per `metadata.region`, 7 days (1 request)"


def _fmt(v: float | None) -> str:
    if v is None:
        return "n/a"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:,.1f}"


def size_label(n: int) -> str:
    """1,000,002 → 1M, 30,000 → 30k."""
    if n >= 1_000_000:
        return f"{round(n / 1e6, 1):g}M"
    if n >= 1000:
        return f"{round(n / 1e3, 1):g}k"
    return str(n)


def _target(targets: dict[int, float], n: int) -> float | None:
    for nominal, ms in targets.items():
        if abs(n - nominal) <= nominal // 100:
            return ms
    return None


def _verdict(value: float | None, target: float | None, higher_is_better: bool = False) -> str:
    if target is None:
        return "—"
    if value is None:
        return "not measured"
    ok = value >= target if higher_is_better else value <= target
    return "met" if ok else "**missed**"


def _timing_row(label: str, n: int, t: dict[str, Any], targets: dict[int, float]) -> str:
    computed, cached = t.get("computed") or {}, t.get("cached") or {}
    target = _target(targets, n)
    cell = f"≤ {_fmt(target)} ms" if target else "—"
    if computed.get("median_ms") is None:
        return f"| {label} | {size_label(n)} | {computed.get('error') or 'n/a'} | | | {cell} | — |"
    runs = len(computed["samples_ms"])
    hits = f"{_fmt(cached.get('median_ms'))} ({len(cached.get('samples_ms', []))})"
    return (
        f"| {label} | {size_label(n)} | {_fmt(computed['first_ms'])} "
        f"| {_fmt(computed['median_ms'])} ({runs}) | {hits} "
        f"| {cell} | {_verdict(computed['median_ms'], target)} |"
    )


def _llmpulse_table(runs: list[Run]) -> list[str]:
    out = [
        "| question | spans | first run, ms | median computed (runs), ms "
        "| median identical repeat (runs), ms | target | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        out.append(_timing_row(_P95_TEXT, r["num_spans"], r["p95_by_region"], P95_TARGETS_MS))
    for r in runs:
        discover = r.get("discover") or {}
        for metric, t in (discover.get("computed") or {}).items():
            label = f"segment scan `{metric}`: 3 keys + all pairs, k=50 (1 request)"
            both = {"computed": t, "cached": (discover.get("cached") or {}).get(metric)}
            out.append(_timing_row(label, r["num_spans"], both, DISCOVER_TARGETS_MS))
    return out


def _phoenix_rows(ph: Run, ours: float | None) -> list[str]:
    rows = [
        ("p95_one_request_each", "Phoenix: `spanLatencyMsQuantile(probability: 0.95, timeRange, "
         "filterCondition)`, 1 request per (bucket, region)", True),
        ("p95_batched", "Phoenix: same fields, 50 aliases per GraphQL document (its "
         "maximum)", True),
        ("trace_p95_series", "Phoenix: `traceLatencyMsPercentileTimeSeries` (per minute, whole "
         "project, trace latency, no filter: not the same question)", False),
    ]  # fmt: skip
    out = []
    for key, text, same in rows:
        t = ph.get(key) or {}
        med = t.get("median_ms")
        ratio = med / ours if same and med and ours else None
        verdict = _verdict(ratio, RATIO_TARGET, higher_is_better=True) if same else "—"
        out.append(
            f"| {text} | {t.get('num_requests', 'n/a'):,} | {t.get('num_results', 'n/a'):,} "
            f"| {_fmt(t.get('first_ms'))} | {_fmt(med)} ({len(t.get('samples_ms', []))}) "
            f"| {_fmt(ratio) + 'x' if ratio else '—'} | {verdict} |"
        )
    return out


def _ours(ph: Run, runs: list[Run]) -> dict[str, Any]:
    """llmpulse's answer to the window Phoenix was asked, at Phoenix's size."""
    mine = next((r for r in runs if r["num_spans"] == ph["num_spans"]), None)
    if mine is None:
        return {}
    days = ph.get("days", 7)
    for key in ("p95_by_region_subset", "p95_by_region"):
        t = mine.get(key)
        if t and t.get("days", 7) == days:
            return dict(t["computed"])
    return {}


def _phoenix_section(ph: Run, runs: list[Run]) -> list[str]:
    n, days = ph["num_spans"], ph.get("days", 7)
    ours = _ours(ph, runs)
    reused = f" (reused from {ph['reused_from']})" if ph.get("reused_from") else ""
    out = [
        f"## Same question against Arize Phoenix {ph.get('version', '')} at {size_label(n)} "
        f"spans{reused}",
        "",
        f"Window: the first {days} day(s) of the workload, {days * 288:,} five-minute buckets "
        f"x 4 regions = {days * 288 * 4:,} values, asked of both systems on the same spans. "
        f"Phoenix ingested the workload over OTLP/HTTP in "
        f"{_fmt(ph['ingest'].get('queryable_s'))} s (errors: "
        f"{ph['ingest'].get('errors') or 'none'}).",
        "",
        "| how | requests per run | values | first run, ms | median (runs), ms "
        "| Phoenix / llmpulse (median) | target >= 10x |",
        "|---|---|---|---|---|---|---|",
        f"| llmpulse: `GET …/metrics?metric=latency_ms:p95&bucket=5m&group_by=metadata.region` "
        f"(computed) | {ours.get('num_requests', 'n/a')} | {ours.get('num_results', 'n/a')} "
        f"| {_fmt(ours.get('first_ms'))} | {_fmt(ours.get('median_ms'))} "
        f"({len(ours.get('samples_ms', []))}) | 1x | — |",
        *_phoenix_rows(ph, ours.get("median_ms")),
    ]
    agr = ph.get("agreement")
    if agr:
        out += [
            "",
            f"Same answers: of {agr['cells_both']:,} (bucket, region) cells both answered, "
            f"{agr['cells_within_1pct']:,} agree within 1% (largest relative difference "
            f"{_fmt(100 * agr['max_rel_diff']) if agr['max_rel_diff'] is not None else 'n/a'}%); "
            f"llmpulse answered {agr['cells_llmpulse']:,} cells, Phoenix "
            f"{agr['cells_phoenix']:,}.",
        ]
    return out


def _load_lines(runs: list[Run]) -> list[str]:
    out = []
    for r in runs:
        load = r["load"]
        how = "reused from an earlier run" if load["reused"] else f"{_fmt(load['seconds'])} s"
        out.append(
            f"- {size_label(r['num_spans'])}: {r['num_spans']:,} spans ({how}), "
            f"{load['disk_bytes'] / 2**30:.2f} GiB on disk, server counted "
            f"{r.get('num_spans_served', 0):,}, start-up {_fmt(r.get('startup_s'))} s"
        )
    return out


def render(results: dict[str, Any]) -> str:
    """The report as markdown."""
    meta, runs, ph = results["meta"], results["llmpulse"], results.get("phoenix")
    out = [
        f"# Metrics and segments benchmark ({meta['date']})",
        "",
        f"Machine: {meta['machine']}. Workload: {meta['workload']}.",
        "",
        "## llmpulse (`llmpulse serve`, REST, one keep-alive connection)",
        "",
        *_llmpulse_table(runs),
        "",
        "'computed': each run's window ends 1 ms earlier than the run before, so the server's "
        "query cache (per query, until the data changes) never answers; 'identical repeat': the "
        "same request again, answered from that cache after its first run. Verdicts use the "
        "computed median.",
        "",
        "Data preparation (not timed as a query; the server's decode path without HTTP, see "
        "README-metrics.md):",
        *_load_lines(runs),
    ]
    if ph:
        out += ["", *_phoenix_section(ph, runs)]
    return "\n".join(out) + "\n"
