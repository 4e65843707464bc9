"""The labels of an alert series: what routing, grouping, silences and dedup match on."""

from __future__ import annotations

from llmpulse.monitors.judge import Segment
from llmpulse.monitors.spec import MonitorSpec


def alert_labels(spec: MonitorSpec, segment: Segment) -> dict[str, str]:
    """``alertname`` and ``monitor`` (its name), ``project``, ``severity``, the spec's labels and
    the segment.

    The segment key is a label as written (``metadata.region=eu-west``), so a route or a
    silence can match one slice.
    """
    labels = {
        "alertname": spec.name,
        "monitor": spec.name,
        "project": spec.project,
        "severity": spec.severity,
    }
    labels.update(spec.labels)
    labels.update(dict(segment))
    return labels


def series_key(monitor: str, segment: Segment) -> str:
    """A stable text key of one alert series (monitor and segment), for storage and URLs."""
    return monitor + "".join(f"|{k}={v}" for k, v in segment)
