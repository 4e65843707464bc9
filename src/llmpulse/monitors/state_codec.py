"""An alert series' state and a transition's evidence as JSON (what the state store keeps)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from llmpulse.monitors.evaluation import Evidence
from llmpulse.monitors.states import AlertState, AlertStatus


def _t(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _p(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def evidence_json(e: Evidence) -> dict[str, Any]:
    """Evidence as a JSON object (value, baseline, bounds, score, window, segment, spans)."""
    return {
        "value": e.value,
        "baseline": e.baseline,
        "lower": e.lower,
        "upper": e.upper,
        "score": e.score,
        "window_start": _t(e.window_start),
        "window_end": _t(e.window_end),
        "segment": dict(e.segment),
        "detector": e.detector,
        "detail": e.detail,
        "example_span_ids": list(e.example_span_ids),
    }


def evidence_from(d: dict[str, Any]) -> Evidence:
    """The inverse of `evidence_json`."""
    start = datetime.fromisoformat(str(d["window_start"]))
    end = datetime.fromisoformat(str(d["window_end"]))
    return Evidence(
        d["value"], d["baseline"], d["lower"], d["upper"], d["score"], start, end,
        tuple(sorted(d.get("segment", {}).items())), d.get("detector", ""), d.get("detail", ""),
        tuple(d.get("example_span_ids", ())),
    )  # fmt: skip


def dump_state(s: AlertState) -> str:
    """The state as JSON text."""
    return json.dumps(
        {
            "status": s.status.value,
            "since": _t(s.since),
            "active_at": _t(s.active_at),
            "fired_at": _t(s.fired_at),
            "last_true_at": _t(s.last_true_at),
            "cleared_at": _t(s.cleared_at),
            "last_eval_at": _t(s.last_eval_at),
            "fire_starts": [_t(t) for t in s.fire_starts],
            "flapping": s.flapping,
            "evidence": None if s.evidence is None else evidence_json(s.evidence),
        }
    )


def load_state(text: str) -> AlertState:
    """The inverse of `dump_state`."""
    d = json.loads(text)
    starts = tuple(t for t in (_p(x) for x in d.get("fire_starts", [])) if t is not None)
    return AlertState(
        status=AlertStatus(d["status"]),
        since=_p(d.get("since")),
        active_at=_p(d.get("active_at")),
        fired_at=_p(d.get("fired_at")),
        last_true_at=_p(d.get("last_true_at")),
        cleared_at=_p(d.get("cleared_at")),
        last_eval_at=_p(d.get("last_eval_at")),
        fire_starts=starts,
        flapping=bool(d.get("flapping", False)),
        evidence=None if d.get("evidence") is None else evidence_from(d["evidence"]),
    )
