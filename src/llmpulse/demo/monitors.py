"""The demo project's default monitors: one per kind of planted incident (`demo.incidents`).

Sized for the demo's traffic (about 120 traces an hour): five-minute evaluations over
one-hour windows (30 minutes for the error rate of root spans), segment fan-out
where the incidents live (LLM latency by region, enterprise LLM cost by product line), and
the default adaptive detector. The cost monitor keeps its state through hours without
enterprise sales traffic. The latency monitor's `for` (35 minutes) is longer than its window
(30 minutes): a per-region window holds a few dozen LLM spans, so one slow request lifts its
p95 for as long as it stays in the window, and a `for` shorter than the window let such a
request page (with `for: 15m`, 3 short false alarms over 90 hours of demo data; none now, and
the planted latency spike is still found, about 40 minutes after it starts).
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
                "for": "35m",
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
