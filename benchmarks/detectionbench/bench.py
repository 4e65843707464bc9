"""Run every detector over every synthetic series and summarise (the CLI lives here)."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np

from detectionbench.report import render
from detectionbench.run import Outcome, alerts, match, verdicts
from detectionbench.series import ABRUPT, EVAL_START, KINDS, Synthetic, generate
from llmpulse.analysis.detectors.base import Detector
from llmpulse.analysis.detectors.registry import REGISTRY, build
from llmpulse.monitors.policy import StatePolicy

POLICIES = {"for 0": StatePolicy(), "for 1m": StatePolicy(for_duration=timedelta(minutes=1))}
METRICS = ("latency", "error")


@dataclass
class Tally:
    """Totals for one (metric, detector, policy)."""

    incidents: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    detected: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    ttd: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    true_alarms: int = 0
    false_alarms: int = 0
    clean_false_alarms: int = 0
    weeks: int = 0
    clean_weeks: int = 0

    def as_dict(self) -> dict[str, object]:
        """Summary figures (JSON-ready)."""
        inc = sum(self.incidents.values())
        det = sum(self.detected.values())
        abrupt_inc = sum(self.incidents[k] for k in ABRUPT)
        abrupt_ttd = [d for k in ABRUPT for d in self.ttd[k]]
        alarms = self.true_alarms + self.false_alarms
        return {
            "recall": det / inc if inc else None,
            "recall_by_kind": {k: self.detected[k] / v for k, v in self.incidents.items() if v},
            "precision": self.true_alarms / alarms if alarms else None,
            "within_2": sum(d <= 2 for d in abrupt_ttd) / abrupt_inc if abrupt_inc else None,
            "within_2_by_kind": {
                k: sum(d <= 2 for d in self.ttd[k]) / v for k, v in self.incidents.items() if v
            },
            "median_ttd": statistics.median(abrupt_ttd) if abrupt_ttd else None,
            "ramp_median_ttd": statistics.median(self.ttd["ramp"]) if self.ttd["ramp"] else None,
            "fa_per_week": self.false_alarms / self.weeks if self.weeks else None,
            "clean_fa_per_week": self.clean_false_alarms / self.clean_weeks
            if self.clean_weeks
            else None,
            "alerts_per_incident": self.true_alarms / det if det else None,
            "incidents": inc,
            "weeks": self.weeks,
        }


def parse_variant(text: str) -> tuple[str, dict[str, object]]:
    """`adaptive:k=4,log=false` -> ("adaptive", {"k": 4.0, "log": False})."""
    name, _, rest = text.partition(":")
    params: dict[str, object] = {}
    for item in filter(None, rest.split(",")):
        key, _, raw = item.partition("=")
        low = raw.lower()
        if low in ("true", "false"):
            params[key] = low == "true"
        else:
            try:
                params[key] = float(raw)
            except ValueError:
                params[key] = raw  # a string parameter (adaptive:rates=p_chart)
    return name, params


def detector_for(variant: str, s: Synthetic) -> Detector | None:
    """The detector (default settings unless the variant says otherwise), or None if it
    does not apply to the metric."""
    name, params = parse_variant(variant)
    kind = "proportion" if s.bad is not None else "value"
    if kind not in REGISTRY[name].applies_to:
        return None
    if name == "static":  # no default bound exists: take the history's 99.9th percentile
        history = s.values[:EVAL_START]
        params.setdefault("upper", float(np.nanpercentile(history, 99.9)))
    return build(name, params)


def run(
    seeds: list[int], names: list[str], count_window: int, metrics: tuple[str, ...] = METRICS
) -> dict[str, dict[str, dict[str, Tally]]]:
    """Tallies by metric, detector and policy."""
    out: dict[str, dict[str, dict[str, Tally]]] = {}
    for metric in metrics:
        out[metric] = defaultdict(lambda: {p: Tally() for p in POLICIES})
        for kind in KINDS:
            for seed in seeds:
                s = generate(metric, kind, seed)
                for name in names:
                    det = detector_for(name, s)
                    if det is None:
                        continue
                    found = verdicts(parse_variant(name)[0], det, s, count_window)
                    for pname, policy in POLICIES.items():
                        _add(
                            out[metric][name][pname],
                            s,
                            match(alerts(name, found, policy), s.incidents),
                        )
            print(f"  {metric} {kind} done", flush=True)
    return out


def _add(t: Tally, s: Synthetic, o: Outcome) -> None:
    t.weeks += 1
    t.true_alarms += o.true_alarms
    t.false_alarms += o.false_alarms
    if s.kind == "clean":
        t.clean_weeks += 1
        t.clean_false_alarms += o.false_alarms
    for d in o.detected:
        t.incidents[s.kind] += 1
        if d is not None:
            t.detected[s.kind] += 1
            t.ttd[s.kind].append(d)


def main() -> None:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=3, help="series per incident kind and metric")
    ap.add_argument(
        "--detectors",
        nargs="*",
        default=sorted(REGISTRY),
        help="registry names, or variants such as adaptive:k=4,sigmas=3.5",
    )
    ap.add_argument("--label", default="")
    ap.add_argument(
        "--count-window", type=int, default=1, help="minutes pooled per error-rate window"
    )
    ap.add_argument("--metrics", nargs="*", default=list(METRICS), choices=METRICS)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "results")
    args = ap.parse_args()
    started = time.perf_counter()
    tallies = run(
        list(range(1, args.seeds + 1)), args.detectors, args.count_window, tuple(args.metrics)
    )
    summary = {
        metric: {name: {p: t.as_dict() for p, t in by_p.items()} for name, by_p in by_name.items()}
        for metric, by_name in tallies.items()
    }
    meta = {
        "seeds": args.seeds,
        "count_window": args.count_window,
        "seconds": round(time.perf_counter() - started, 1),
    }
    text = render(summary, meta)
    print(text)
    stamp = time.strftime("%Y%m%d-%H%M", time.gmtime())
    stem = args.out / f"{stamp}-detection{'-' + args.label if args.label else ''}"
    stem.with_suffix(".md").write_text(text)
    stem.with_suffix(".json").write_text(json.dumps({"meta": meta, "summary": summary}, indent=1))
    print(f"written {stem}.md and .json")
