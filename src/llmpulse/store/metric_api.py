"""The metric vocabulary of the event store: grouped metric queries and their frames, slices
(segments against the rest), per-unit frames and samples (`EventStore.metrics`, `slices`,
`units`, `sample`). The span filters they carry are `api`'s."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
import numpy.typing as npt

from llmpulse.clock import to_unix_us
from llmpulse.domain.cohorts import Condition
from llmpulse.domain.ids import ProjectName
from llmpulse.domain.metrics import MetricField, MetricSpec
from llmpulse.store.api import SpanFilter, TimeRange


@dataclass(frozen=True, slots=True)
class CohortKey:
    """A group key that splits spans into a cohort (``in``) and the rest (``out``)."""

    name: str
    conditions: tuple[Condition, ...]

    @property
    def label(self) -> str:
        """How the key is named in results: ``cohort:<name>``."""
        return f"cohort:{self.name}"


GroupKey = str | CohortKey


def label_of(key: GroupKey) -> str:
    """How a group key is named in results (a cohort as ``cohort:<name>``)."""
    return key.label if isinstance(key, CohortKey) else key


@dataclass(frozen=True, slots=True)
class MetricQuery:
    """Metrics over one project, as a series (``bucket`` set) or one window aggregate.

    ``group_by`` holds up to two keys in `AttrEquals` key form, or a typed column (``model``,
    ``kind``, ``name``, ``status_code``, ``provider``, ``environment``, ``version``,
    ``session_id``, ``user_id``). Only the ``max_groups`` largest groups are returned.
    """

    project: ProjectName
    metrics: tuple[MetricSpec, ...]
    time: TimeRange = TimeRange()
    bucket: timedelta | None = None
    group_by: tuple[GroupKey, ...] = ()
    where: SpanFilter = SpanFilter()
    max_groups: int = 50
    slide: int = 1
    """With ``bucket`` set, each span counts toward this many consecutive buckets: the row of
    bucket ``b`` then covers the sliding window of ``slide`` buckets that ends where ``b`` ends
    (monitor windows evaluated every bucket). Rows of windows that reach outside ``time`` are
    left out."""
    approximate: bool = False
    """Quantiles may come from a pre-aggregated sketch, within 1 % of the exact value
    (ADR 0021); counts are exact either way."""


@dataclass(frozen=True, slots=True)
class MetricRow:
    """One bucket and group: span count, each metric's value and its support (non-null inputs;
    for a per-trace, -session or -user metric, the units averaged), and per metric the units
    left out because their value is unknown (traces with an unpriced LLM call; 0 otherwise)."""

    bucket: datetime | None
    group: tuple[str | None, ...]
    n: int
    values: tuple[float | None, ...]
    support: tuple[int, ...]
    excluded: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class MetricFrame:
    """The result of a `MetricQuery`, ordered by bucket then group."""

    metrics: tuple[str, ...]
    group_by: tuple[str, ...]  # key labels
    rows: list[MetricRow]


@dataclass(frozen=True, slots=True, eq=False)
class MetricColumns:
    """A `MetricFrame` as numpy columns, for readers of many rows (the monitor engine's
    baselines): row ``i`` is bucket ``bucket_us[i]`` (its start in Unix microseconds; None
    without buckets), group ``groups[group_index[i]]``, ``n[i]`` spans, and per metric ``j``
    ``values[i, j]`` (NaN where the frame has None) and ``support[i, j]``."""

    metrics: tuple[str, ...]
    group_by: tuple[str, ...]
    bucket_us: npt.NDArray[np.int64] | None
    groups: tuple[tuple[str | None, ...], ...]
    group_index: npt.NDArray[np.int64]
    n: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    support: npt.NDArray[np.int64]

    @classmethod
    def of(cls, frame: MetricFrame) -> MetricColumns:
        """The frame's rows as columns."""
        rows, nm = frame.rows, len(frame.metrics)
        index: dict[tuple[str | None, ...], int] = {}
        group_index = np.array([index.setdefault(r.group, len(index)) for r in rows], np.int64)
        buckets = [r.bucket for r in rows]
        bucket_us = None
        if rows and all(b is not None for b in buckets):
            bucket_us = np.array([to_unix_us(b) for b in buckets if b is not None], np.int64)
        values = np.array(
            [[math.nan if v is None else v for v in r.values] for r in rows], np.float64
        ).reshape(len(rows), nm)
        support = np.array([r.support for r in rows], np.int64).reshape(len(rows), nm)
        n = np.array([r.n for r in rows], np.int64)
        groups = tuple(index)
        return cls(
            frame.metrics, frame.group_by, bucket_us, groups, group_index, n, values, support
        )


Unit = Literal["trace", "session", "user", "span"]
"""The unit of analysis (METHODS.md §4.10): spans of one unit share their fate."""


@dataclass(frozen=True, slots=True)
class SliceQuery:
    """Per-slice sums of one field for every value of each key and of each pair of keys."""

    project: ProjectName
    field: MetricField
    keys: tuple[GroupKey, ...]
    time: TimeRange = TimeRange()
    where: SpanFilter = SpanFilter()
    pairs: bool = True
    max_values_per_key: int = 200
    unit: Unit = "span"
    """With a unit other than span, each row also carries its unit sums (`SliceRow.units`)."""


@dataclass(frozen=True, slots=True)
class SliceRow:
    """Additive statistics of one slice: n (spans with the field), Σv and Σv².

    ``units`` (when the query names a unit of analysis): the number of units C and, over them,
    Σy_c², Σy_c·n_c and Σn_c² with y_c = Σv and n_c = spans of unit c within the slice.
    """

    keys: tuple[tuple[str, str], ...]
    n: int
    sum: float
    sumsq: float
    units: tuple[float, float, float, float] | None = None


@dataclass(frozen=True, slots=True)
class SliceFrame:
    """Every slice's statistics and the totals over all spans matched."""

    total: SliceRow
    rows: list[SliceRow]
    truncated: bool = False
    """True when some key had more than ``max_values_per_key`` values (the smallest dropped)."""


@dataclass(frozen=True, slots=True)
class UnitQuery:
    """One field per (value of a key, unit): the clustered data of METHODS.md §4.10.

    Aggregated (``raw=False``): one row per (value, unit) with n, Σv, Σv², first and last
    start time. Raw: one row per span with its value (for percentiles). Spans lacking the key
    or the field are left out; a span without a session (user) is its trace's own unit.
    """

    project: ProjectName
    field: MetricField
    key: GroupKey
    unit: Unit = "trace"
    time: TimeRange = TimeRange()
    where: SpanFilter = SpanFilter()
    raw: bool = False


@dataclass(frozen=True, slots=True, eq=False)
class UnitFrame:
    """Columns of a `UnitQuery`'s rows; ``group[i]`` indexes ``values``, clusters are 0..C-1."""

    values: tuple[str, ...]
    group: npt.NDArray[np.int64]
    cluster: npt.NDArray[np.int64]
    n: npt.NDArray[np.float64]
    sum: npt.NDArray[np.float64]
    sumsq: npt.NDArray[np.float64]
    first: tuple[datetime | None, ...] = ()
    """Earliest start time per value (aggregated frames only)."""
    last: tuple[datetime | None, ...] = ()
    """Latest start time per value (aggregated frames only)."""


@dataclass(frozen=True, slots=True)
class SampleQuery:
    """A bounded, seeded random sample of one field inside (or outside) a segment."""

    project: ProjectName
    field: MetricField
    segment: tuple[Condition, ...] = ()  # spans matching all of them (or none, if complement)
    complement: bool = False
    time: TimeRange = TimeRange()
    where: SpanFilter = SpanFilter()
    limit: int = 5000
    seed: int = 7
