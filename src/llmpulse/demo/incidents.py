"""The incidents planted in the demo traffic, as data, and their effect on one trace.

Times are relative to the demo's ``end`` (see `plan_incidents`); detectors, segment
analysis and SLO burn-rate alerts should find each of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

BASE_ERROR_RATE = 0.01
EXPENSIVE_MODEL = "claude-3-opus"


@dataclass(frozen=True, slots=True)
class PlantedIncident:
    """One planted anomaly: what changed, where (segment) and when (half-open window)."""

    name: str
    kind: str  # "latency", "errors" or "cost"
    start: datetime
    end: datetime
    where: dict[str, str] = field(default_factory=dict)  # metadata key -> value
    factor: float = 1.0
    description: str = ""

    def covers(self, t: datetime, metadata: dict[str, str]) -> bool:
        """True when a trace starting at ``t`` with ``metadata`` is affected."""
        if not self.start <= t < self.end:
            return False
        return all(metadata.get(k) == v for k, v in self.where.items())


@dataclass(frozen=True, slots=True)
class Effects:
    """How the planted incidents change one trace."""

    latency_factor: float = 1.0
    error_rate: float = BASE_ERROR_RATE
    model: str | None = None  # forced model, if any


def plan_incidents(end: datetime) -> tuple[PlantedIncident, ...]:
    """The three planted incidents of a demo that ends at ``end``.

    * ``llm-latency-spike``: LLM span latency x5 in region eu-west, ``end-30h`` to ``end-28h``.
    * ``error-burst``: 30 % of traces fail (LLM provider errors), ``end-81h`` to ``end-80h``.
    * ``sales-enterprise-cost-jump``: tier=enterprise, product_line=sales switch to the
      expensive claude-3-opus for the last 48 hours (``end-48h`` to ``end``).
    """
    h = timedelta(hours=1)
    return (
        PlantedIncident(
            "llm-latency-spike",
            "latency",
            end - 30 * h,
            end - 28 * h,
            {"region": "eu-west"},
            5.0,
            "LLM latency x5 for 2 hours in region eu-west",
        ),
        PlantedIncident(
            "error-burst",
            "errors",
            end - 81 * h,
            end - 80 * h,
            {},
            0.30,
            "30% of traces fail with LLM provider errors for 1 hour",
        ),
        PlantedIncident(
            "sales-enterprise-cost-jump",
            "cost",
            end - 48 * h,
            end,
            {"tier": "enterprise", "product_line": "sales"},
            1.0,
            f"enterprise sales traffic switches to {EXPENSIVE_MODEL} for the last 2 days",
        ),
    )


def effects(incidents: tuple[PlantedIncident, ...], t: datetime, meta: dict[str, str]) -> Effects:
    """Combine the incidents active for one trace into its `Effects`."""
    latency, error_rate, model = 1.0, BASE_ERROR_RATE, None
    for inc in incidents:
        if not inc.covers(t, meta):
            continue
        if inc.kind == "latency":
            latency *= inc.factor
        elif inc.kind == "errors":
            error_rate = max(error_rate, inc.factor)
        elif inc.kind == "cost":
            model = EXPENSIVE_MODEL
    if latency == 1.0 and error_rate == BASE_ERROR_RATE and model is None:
        return _NONE
    return Effects(latency, error_rate, model)


_NONE = Effects()
