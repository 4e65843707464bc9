"""Fill a data directory with the side-by-side workload directly (no HTTP), for the cold-query
benchmarks at 1M and 10M spans.

    .venv/bin/python benchmarks/load_bench_dir.py 10000000 /tmp/llmpulse-10m [--workers 2]

The spans are those `ingest_query.py` sends (`sidebyside.workload`, start times spread over
24 hours from ``WorkloadSpec.base_ns``), decoded by the server's own per-request code and
committed in 50,000-span commits (`sidebyside.metrics_data.load_data_dir`). The workload's
first start time is written to ``DATA_DIR/base_ns``, which `profile_store.py` and
`ingest_query.py --preloaded` read. 10M spans take ~6 GB and 10-20 minutes here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sidebyside.metrics_data import load_data_dir
from sidebyside.workload import WorkloadSpec


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("spans", type=int)
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    spec = WorkloadSpec.for_spans(a.spans, traces_per_request=100)
    print(load_data_dir(a.data_dir, spec, workers=a.workers), flush=True)
    (a.data_dir / "base_ns").write_text(str(spec.base_ns))


if __name__ == "__main__":
    main()
