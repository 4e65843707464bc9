"""Two llmpulse servers (two trees on copies of one data directory) asked the same cold
queries in turn: a before/after of a change, paired run by run.

    # one tree per server, each on its own copy of DATA_DIR:
    PYTHONPATH=<before>/src .venv/bin/llmpulse serve --data-dir COPY --port 7601 --grpc-port 0
    .venv/bin/llmpulse serve --data-dir DATA_DIR --port 7600 --grpc-port 0
    .venv/bin/python benchmarks/ab_urls.py DATA_DIR --spans 1000000 \\
        --urls http://127.0.0.1:7600 http://127.0.0.1:7601 [--kinds latency_p50_p99 ...] \\
        [--repeat 120] [--offset 0] [--pause-s 0.05]

Run ``k`` asks each kind of one server, then of the other, with run ``k``'s parameters
(`sidebyside.variants`: no cache can answer), the first server alternating
(`sidebyside.paired.interleave`, as `paired_phoenix.py` does); ``--pause-s`` idles the
machine before every query. Prints each server's median and p95 per kind and the ratios
first / second (`Paired.summary`): above 1, the second server is faster.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sidebyside.llmpulse_side import LlmpulseSystem
from sidebyside.paired import interleave
from sidebyside.workload import WorkloadSpec

KINDS = ("list_latest_100", "latency_p50_p99", "metadata_filter_100", "hourly_counts")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("--spans", type=int, required=True, help="spans DATA_DIR was loaded with")
    ap.add_argument("--urls", nargs=2, required=True)
    ap.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    ap.add_argument("--repeat", type=int, default=120)
    ap.add_argument("--offset", type=int, default=0, help="run number of the first run")
    ap.add_argument("--pause-s", type=float, default=0.05)
    args = ap.parse_args()
    base_ns = int((args.data_dir / "base_ns").read_text())
    spec = WorkloadSpec.for_spans(args.spans, traces_per_request=100, base_ns=base_ns)
    first, second = (LlmpulseSystem(spec) for _ in args.urls)
    first.base, second.base = args.urls
    runs = range(args.offset, args.offset + args.repeat)
    results = interleave(
        {k: first.queries()[k] for k in args.kinds},
        {k: second.queries()[k] for k in args.kinds},
        runs,
        args.pause_s,
    )
    for kind, paired in results.items():
        s = paired.summary()
        print(
            f"{kind:22} {args.urls[0]}: {s['peer_median_ms']:.2f} ms (p95 {s['peer_p95_ms']:.2f})"
            f"  {args.urls[1]}: {s['ours_median_ms']:.2f} ms (p95 {s['ours_p95_ms']:.2f})"
            f"  first / second: medians {s['ratio_of_medians']:.2f},"
            f" runs {s['run_ratio_median']:.2f}"
        )


if __name__ == "__main__":
    main()
