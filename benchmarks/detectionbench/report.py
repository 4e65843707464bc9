"""The benchmark's markdown report."""

from __future__ import annotations

from typing import Any

from detectionbench.series import ABRUPT, KINDS

TARGET = (
    "recall ≥ 0.9, precision ≥ 0.9, ≥ 90 % of abrupt incidents within 2 intervals, "
    "≤ 1 FA/week clean"
)


def _f(x: Any, digits: int = 2) -> str:
    if x is None:
        return "-"
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def render(summary: dict[str, Any], meta: dict[str, Any]) -> str:
    """One table per metric and policy: a row per detector."""
    lines = [
        "# Detection benchmark",
        "",
        f"Seeds per incident kind: {meta['seeds']}; error-rate window "
        f"{meta['count_window']} min; run time {meta['seconds']} s. Target: {TARGET}.",
        "",
    ]
    kinds = [k for k in KINDS if k != "clean"]
    for metric, by_name in summary.items():
        policies = next(iter(by_name.values())).keys()
        for policy in policies:
            lines += [
                f"## {metric}, {policy}",
                "",
                "| detector | recall | " + " | ".join(kinds) + " | precision | ≤2 intervals | "
                "≤2 by kind (" + " / ".join(ABRUPT) + ") | "
                "median TTD | ramp TTD | FA/week | FA/week clean | alerts/incident |",
                "|---" * (len(kinds) + 10) + "|",
            ]
            for name, by_p in sorted(by_name.items()):
                r = by_p[policy]
                per = [_f(r["recall_by_kind"].get(k)) for k in kinds]
                by_kind = " / ".join(_f(r["within_2_by_kind"].get(k)) for k in ABRUPT)
                lines.append(
                    f"| {name} | {_f(r['recall'])} | "
                    + " | ".join(per)
                    + f" | {_f(r['precision'])} | "
                    f"{_f(r['within_2'])} | {by_kind} | {_f(r['median_ttd'], 1)} | "
                    f"{_f(r['ramp_median_ttd'], 1)} | "
                    f"{_f(r['fa_per_week'], 1)} | {_f(r['clean_fa_per_week'], 1)} | "
                    f"{_f(r['alerts_per_incident'], 1)} |"
                )
            lines.append("")
    return "\n".join(lines)
