"""Metrics and segments benchmark: p95 per bucket per segment, segment scans, vs Phoenix.

Usage: ``.venv/bin/python benchmarks/metrics_segments.py`` (see benchmarks/README-metrics.md).
Writes ``benchmarks/results/<stamp>-metrics.{json,md}`` and prints the table.
"""

from sidebyside.metrics_run import main

if __name__ == "__main__":
    main()
