"""SLO cycle benchmark: 1, 5 and 20 SLOs of one project over 1M spans, cold and warm (issue 11
item 1).

Usage: ``.venv/bin/python benchmarks/slo_cycle.py [--spans 1000000] [--slos 1,5,20]
[--repeat 7]``.

Loads the 7-day RAG workload (`sidebyside.metrics_data`, reused when already loaded) into
``benchmarks/.work/slo`` and defines up to 20 SLOs of every SLI type (availability, latency,
time-slice p95, cost per trace, quality, ratio; scoped by tier, region and product line; 7 d,
28 d and calendar-month windows), taken one SLI type after another so that a smaller set
still mixes them. For each set size it applies that set, reopens the stores (an empty DuckDB
buffer pool) and times ``SloService.evaluate_slos`` (one grouped count query for the set,
then the pure arithmetic): the first cycle after the reopen is the cold one, the next
``--repeat`` the warm ones. Nothing caches a cycle: each run moves the evaluation instant by
61 s. Prints, per set size, the project bucket, the cold time and the warm median and runs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from llmpulse.clock import ManualClock
from llmpulse.slos.service import SloService
from llmpulse.slos.spec import SloSpec, format_duration
from llmpulse.slos.windows import project_bucket
from llmpulse.store.datadir import open_stores
from sidebyside.metrics_data import load_data_dir, seven_day_spec

HERE = Path(__file__).parent
TIERS = ("free", "pro", "enterprise")
REGIONS = ("us-east", "us-west", "eu-west", "ap-south")


def slo_specs(project: str) -> list[SloSpec]:
    """Twenty SLOs over the workload's spans (every SLI type, several scopes and windows)."""
    out: list[dict[str, Any]] = []
    for t in TIERS:
        out.append(
            {
                "name": f"avail-{t}",
                "sli": {"type": "availability"},
                "filter": f"tier = '{t}'",
                "window": "28d",
                "objective": 0.999,
            }
        )
        out.append(
            {
                "name": f"latency-{t}",
                "sli": {"type": "latency", "threshold_ms": 1500},
                "filter": f"tier = '{t}'",
                "window": "7d",
                "objective": 0.99,
            }
        )
    for r in REGIONS:
        out.append(
            {
                "name": f"p95-{r}",
                "sli": {"type": "latency_quantile", "threshold_ms": 2000, "slice": "5m"},
                "filter": f"region = '{r}'",
                "window": "7d",
                "objective": 0.95,
            }
        )
        out.append(
            {
                "name": f"cost-{r}",
                "sli": {"type": "cost", "threshold_usd": 0.01},
                "filter": f"region = '{r}'",
                "window": "calendar_month",
                "objective": 0.9,
            }
        )
    out += [
        {"name": "avail-all", "sli": {"type": "availability"}, "objective": 0.995},
        {"name": "llm-latency", "sli": {"type": "latency", "threshold_ms": 3000},
         "spans": "all", "filter": "kind = 'LLM'", "objective": 0.99},
        {"name": "quality", "sli": {"type": "quality", "annotation": "correctness",
                                    "min_score": 0.8}, "objective": 0.9},
        {"name": "sales-ok", "sli": {"type": "ratio", "good": "status_code != 'ERROR'",
                                     "valid": "product_line = 'sales'"}, "objective": 0.99},
        {"name": "retriever-latency", "sli": {"type": "latency", "threshold_ms": 500},
         "spans": "all", "filter": "kind = 'RETRIEVER'", "objective": 0.95},
        {"name": "eu-pro", "sli": {"type": "availability"},
         "filter": "tier = 'pro' and region = 'eu-west'", "objective": 0.99},
    ]  # fmt: skip
    return [SloSpec.model_validate({**d, "project": project}) for d in out]


def mixed(specs: list[SloSpec]) -> list[SloSpec]:
    """The SLOs one SLI type after another (round robin), so any prefix mixes the types."""
    by_type: dict[str, list[SloSpec]] = {}
    for s in specs:
        by_type.setdefault(s.sli.type, []).append(s)
    out: list[SloSpec] = []
    while any(by_type.values()):
        out += [group.pop(0) for group in by_type.values() if group]
    return out


async def _cycles(svc: SloService, project: str, at: datetime, n: int, runs: int) -> list[float]:
    times = []
    for k in range(runs):
        t0 = time.perf_counter()
        cycle = await svc.evaluate_slos(project, at + timedelta(seconds=61 * k))
        times.append(time.perf_counter() - t0)
        if len(cycle.statuses) != n:
            raise RuntimeError(f"expected {n} statuses, got {len(cycle.statuses)}")
    return times


def measure(data_dir: Path, specs: list[SloSpec], at: datetime, repeat: int) -> list[float]:
    """Apply ``specs`` (only those), reopen the stores, time one cold and ``repeat`` warm
    cycles."""
    project = specs[0].project
    events, state = open_stores(data_dir)
    try:
        svc = SloService(events, state, ManualClock(at))
        asyncio.run(svc.apply(project, specs, prune=True))
    finally:
        state.close()
        events.close()
    events, state = open_stores(data_dir)
    try:
        svc = SloService(events, state, ManualClock(at))
        return asyncio.run(_cycles(svc, project, at, len(specs), 1 + repeat))
    finally:
        state.close()
        events.close()


def main() -> None:
    """Load (or reuse) the data, then per set size: define the SLOs, time the cycles."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--spans", type=int, default=1_000_000)
    p.add_argument("--slos", default="1,5,20", help="comma-separated set sizes (at most 20)")
    p.add_argument("--repeat", type=int, default=7, help="warm cycles per set size")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--work-dir", type=Path, default=HERE / ".work" / "slo")
    args = p.parse_args()
    spec = seven_day_spec(args.spans)
    data_dir = args.work_dir / f"llmpulse-{spec.num_spans}"
    load = load_data_dir(data_dir, spec, args.workers)
    print(f"data: {spec.num_spans:,} spans in {data_dir} (loaded in {load.seconds:.0f} s)")
    end = datetime.fromtimestamp((spec.base_ns + spec.duration_ns) / 1e9, tz=UTC)
    specs = mixed(slo_specs(spec.project))
    print("| SLOs | bucket | cold cycle | warm median | warm runs (s) |")
    print("|---|---|---|---|---|")
    for n in (int(x) for x in args.slos.split(",")):
        chosen = specs[:n]
        cold, *warm = measure(data_dir, chosen, end, args.repeat)
        bucket = format_duration(project_bucket(chosen))
        median = f"{statistics.median(warm):.3f} s" if warm else "-"
        print(f"| {len(chosen)} | {bucket} | {cold:.3f} s | {median} | "
              f"{', '.join(f'{t:.3f}' for t in warm)} |")  # fmt: skip


if __name__ == "__main__":
    main()
