"""The demo project's default monitors: one per kind of planted incident (`demo.incidents`).

Sized for the demo's traffic (about 120 traces an hour): five-minute evaluations over
one-hour windows (30 minutes for the error rate of root spans), segment fan-out
where the incidents live (LLM latency by region, enterprise LLM cost by product line), and
the default adaptive detector; `for` durations of three and six evaluations keep the thin
per-segment windows (a few dozen LLM spans) from paging on one slow request, and the
cost monitor keeps its state through hours without enterprise sales traffic.
"""

from __future__ import annotations

from typing import Any

from llmpulse.monitors.spec import MonitorSpec


def _manifest(project: str, name: str, spec: dict[str, Any]) -> MonitorSpec:
    return MonitorSpec.from_manifest(
        {
            "apiVersion": "llmpulse/v1",
            "kind": "Monitor",
            "metadata": {"name": name, "project": project},
            "spec": spec,
        }
    )


def default_monitors(project: str = "rag-demo") -> list[MonitorSpec]:
    """LLM latency p95 per region, root error rate, enterprise LLM cost per product line."""
    return [
        _manifest(
            project,
            "llm-latency-p95",
            {
                "metric": "latency_ms:p95",
                "filters": ["kind=llm"],
                "segment_by": "metadata.region",
                "every": "5m",
                "window": "30m",
                "for": "15m",
                "severity": "warning",
            },
        ),
        _manifest(
            project,
            "error-rate",
            {
                "metric": "error:rate",
                "filters": ["root_only=true"],
                "every": "5m",
                "window": "30m",
                "min_samples": 20,
                "severity": "critical",
            },
        ),
        _manifest(
            project,
            "enterprise-llm-cost",
            {
                "metric": "cost_usd:mean",
                "filters": ["kind=llm", "attr=metadata.tier:enterprise"],
                "segment_by": "metadata.product_line",
                "every": "5m",
                "window": "1h",
                "for": "30m",
                "no_data": "keep_last",
                "severity": "warning",
            },
        ),
    ]
