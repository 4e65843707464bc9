"""Good/valid event counts per time bucket: the logical query behind SLIs (issue 11).

One `CountQuery` carries every SLI of a project and is answered by one grouped scan of the
spans (`EventStore.good_valid`), so an SLO cycle costs one query per project, not one per
SLO. Each `CountSpec` says which spans are valid events and which of those are good, as
conjunctions of `SpanTest`s; a time-slice SLI (`TimeSlice`) instead counts slices whose
quantile meets a bar (METHODS.md §2.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
import numpy.typing as npt

from llmpulse.domain.cohorts import Condition
from llmpulse.domain.ids import ProjectName
from llmpulse.domain.metrics import MetricField

SpanTestOp = Literal["ok", "root", "matches", "present", "le", "ge", "trace_cost_le", "priced"]
"""``ok``: status is not ERROR; ``root``: no parent; ``matches``: the cohort conditions hold;
``present``: the field has a value; ``le``/``ge``: the field's value is ≤ / ≥ ``value``;
``trace_cost_le``: the span's trace costs ≤ ``value`` in total; ``priced``: every LLM call of
the span's trace has a cost (an unpriced call makes the trace's cost unknown)."""


@dataclass(frozen=True, slots=True)
class SpanTest:
    """One per-span test; a missing value never passes."""

    op: SpanTestOp
    field: MetricField | None = None
    value: float = 0.0
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True, slots=True)
class TimeSlice:
    """A time-slice SLI: a slice with valid spans is good when quantile(field) ≤ ``at_most``."""

    field: MetricField
    quantile: float
    at_most: float
    width: timedelta


@dataclass(frozen=True, slots=True)
class CountSpec:
    """Valid events: spans passing every ``valid`` test; good: also every ``good`` test."""

    valid: tuple[SpanTest, ...]
    good: tuple[SpanTest, ...] = ()
    slice: TimeSlice | None = None


@dataclass(frozen=True, slots=True)
class CountQuery:
    """Every spec's counts per ``bucket`` (per slice width for time slices) over ``[start, end)``.

    Buckets count from ``start``; ``end - start`` must be a whole number of buckets and of
    every slice width.
    """

    project: ProjectName
    start: datetime
    end: datetime
    bucket: timedelta
    specs: tuple[CountSpec, ...]
    until: datetime | None = None
    """Count only spans that start before this instant (the evaluation time), if earlier."""


@dataclass(frozen=True, slots=True, eq=False)
class Counts:
    """One spec's dense series: good and valid per bucket from ``start``, ``width`` apart."""

    start: datetime
    width: timedelta
    good: npt.NDArray[np.float64]
    valid: npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class SloRecord:
    """A stored SLO definition: its manifest as JSON text."""

    project: str
    name: str
    spec: str
    created_at: datetime
    updated_at: datetime
