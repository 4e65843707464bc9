"""SLO arithmetic: error budgets, burn rates, burn-rate rules and compliance (METHODS.md §2).

Pure functions over counts; no I/O. `budget` holds the error-budget arithmetic (§2.3),
`rules` the multiwindow multi-burn-rate rule table (§2.4, §2.5), `evaluate` which rules fire
over per-bucket good/valid counts, and `compliance` the per-period summary (§2.7).
"""

from __future__ import annotations

from llmpulse.analysis.slo.budget import (
    SLO,
    BudgetStatus,
    CalendarMonth,
    SLOStatus,
    budget_spent,
    budget_status,
    burn_rate,
    error_budget,
    month_bounds,
    period_length,
    time_budget,
    time_to_exhaustion,
)
from llmpulse.analysis.slo.compliance import Period, PeriodCompliance, calendar_months, compliance
from llmpulse.analysis.slo.evaluate import BucketSeries, RuleVerdict, evaluate_at, firing_series
from llmpulse.analysis.slo.rules import (
    GOOGLE_TABLE,
    BurnRule,
    Severity,
    WindowRow,
    burn_rules,
    scale_table,
)

__all__ = [
    "GOOGLE_TABLE",
    "SLO",
    "BucketSeries",
    "BudgetStatus",
    "BurnRule",
    "CalendarMonth",
    "Period",
    "PeriodCompliance",
    "RuleVerdict",
    "SLOStatus",
    "Severity",
    "WindowRow",
    "budget_spent",
    "budget_status",
    "burn_rate",
    "burn_rules",
    "calendar_months",
    "compliance",
    "error_budget",
    "evaluate_at",
    "firing_series",
    "month_bounds",
    "period_length",
    "scale_table",
    "time_budget",
    "time_to_exhaustion",
]
