"""The shapes every detector shares: `Series`, `Baseline`, `Verdict`, `DetectorInfo`, `Detector`.

A detector is fitted on a trailing baseline series that excludes the window being judged
(METHODS.md R4) and then scores one evaluation window. "No data" is never zero (R3): an
empty window, or a baseline with too few points, yields an `insufficient_data` verdict.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol, TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt

from llmpulse.analysis.types import FloatArray, as_float_array
from llmpulse.domain.errors import InvalidInput

SeriesKind: TypeAlias = Literal["value", "proportion"]
"""`value`: one number per bucket (latency percentile, tokens, cost); `proportion`: counts."""

Side: TypeAlias = Literal["up", "down", "both"]
"""Which tail alerts (METHODS.md R7): latency, error rate, cost `up`; traffic `both`."""

Status: TypeAlias = Literal["normal", "breached", "insufficient_data"]
Param: TypeAlias = float | str | bool


@dataclass(frozen=True, slots=True)
class Series:
    """One metric series in aligned time buckets (METHODS.md R5).

    Attributes:
        values: One value per bucket; NaN marks a bucket without data (R3).
        start_s: Bucket start times in Unix seconds, UTC (needed by seasonal baselines).
        bad: For proportions, the events per bucket (errors, thumbs-down, failed evals).
        total: For proportions, the trials per bucket (requests).
        aggregate: The window's value as the query computed it over the whole window. Use it
            for percentiles: they are recomputed over merged data, never averaged (R2).
    """

    values: FloatArray
    start_s: FloatArray | None = None
    bad: FloatArray | None = None
    total: FloatArray | None = None
    aggregate: float | None = None

    @classmethod
    def of(
        cls,
        values: npt.ArrayLike,
        start_s: npt.ArrayLike | None = None,
        *,
        aggregate: float | None = None,
    ) -> Series:
        """A value series (optionally with bucket start times and a window aggregate)."""
        vals = as_float_array(values)
        starts = None if start_s is None else as_float_array(start_s)
        if starts is not None and starts.shape != vals.shape:
            raise InvalidInput("start_s must have one entry per value")
        return cls(vals, starts, aggregate=aggregate)

    @classmethod
    def counts(
        cls, bad: npt.ArrayLike, total: npt.ArrayLike, start_s: npt.ArrayLike | None = None
    ) -> Series:
        """A proportion series from per-bucket event and trial counts (rate = bad / total)."""
        b, n = as_float_array(bad), as_float_array(total)
        if b.shape != n.shape:
            raise InvalidInput("bad and total must have the same length")
        if np.any(b < 0) or np.any(b > n):
            raise InvalidInput("bad must be between 0 and total in every bucket")
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(n > 0, b / n, np.nan)
        starts = None if start_s is None else as_float_array(start_s)
        return cls(rate, starts, bad=b, total=n)

    @property
    def is_proportion(self) -> bool:
        """True when the series carries counts, not just values."""
        return self.bad is not None and self.total is not None

    def finite(self) -> FloatArray:
        """The values of buckets that have data."""
        return self.values[np.isfinite(self.values)]

    def window_value(self) -> float:
        """The value of the whole series as one window; NaN when it has no data (R3).

        The `aggregate` if given; for counts Σbad / Σtotal (R1, a ratio of sums); else the
        single bucket's value, or the mean of the buckets with data (right for sums, counts
        and means; percentile windows must pass `aggregate`).
        """
        if self.aggregate is not None:
            return float(self.aggregate)
        if self.bad is not None and self.total is not None:
            n = float(self.total.sum())
            return float(self.bad.sum()) / n if n > 0 else math.nan
        data = self.finite()
        return float(data.mean()) if data.size else math.nan


@dataclass(frozen=True, slots=True)
class Baseline:
    """What a detector learned from the baseline series.

    Attributes:
        centre: Typical value (mean, median, pooled rate…) on the detector's scale; NaN when
            the baseline is too short.
        scale: Spread on the detector's scale (sigma after its floor, sigma^ = 1.4826·MAD, …).
        n: Baseline buckets (or trials, for proportions) the fit used.
        ready: Whether there was enough baseline to judge anything (METHODS.md §1.8 e).
        params: Further fitted numbers by name (quartiles, fences, …).
        table: Per seasonal key, (centre, scale, points) (METHODS.md §1.7).
        reason: Why the baseline is not ready, for the evidence.
        recent: The baseline's last buckets, for detectors that chart a run of buckets
            ending at the judged window (`binomial_cusum`): a one-bucket window is charted
            together with the buckets just before it, so the chart stays a pure function of
            the buckets it is given.
    """

    centre: float
    scale: float
    n: int
    ready: bool = True
    params: Mapping[str, float] = field(default_factory=dict)
    table: Mapping[int, tuple[float, float, int]] = field(default_factory=dict)
    reason: str = ""
    recent: Series | None = None

    @classmethod
    def not_ready(cls, n: int, reason: str) -> Baseline:
        """A baseline that cannot judge (too few points): every score is insufficient_data."""
        return cls(math.nan, math.nan, n, ready=False, reason=reason)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A detector's judgement of one window, with its evidence.

    Attributes:
        status: `normal`, `breached`, or `insufficient_data` (R3: never judged as zero).
        value: The window's value in the metric's units.
        baseline: The baseline's centre in the metric's units.
        lower: Lowest normal value (None: no lower bound on this side).
        upper: Highest normal value (None: no upper bound on this side).
        score: The detector's statistic (a z-score, a CUSUM sum, a percent change, …);
            `breached` means it crossed the detector's threshold on an alerting side.
        detail: A short human-readable reason.
    """

    status: Status
    value: float | None
    baseline: float | None
    lower: float | None
    upper: float | None
    score: float | None
    detail: str = ""

    @property
    def breached(self) -> bool:
        """Whether the window is anomalous."""
        return self.status == "breached"

    @classmethod
    def no_data(cls, detail: str, value: float | None = None) -> Verdict:
        """An `insufficient_data` verdict (empty window, short baseline, tiny sample)."""
        return cls("insufficient_data", _opt(value), None, None, None, None, detail)


@dataclass(frozen=True, slots=True)
class DetectorInfo:
    """A registry entry: how YAML names a detector and what it is for.

    Attributes:
        name: The name YAML and REST use (`zscore`, `p_chart`, …).
        summary: One line for the docs and the UI.
        applies_to: Series kinds it can judge.
        defaults: Default parameters by name (the detector's dataclass fields).
        method_ref: The METHODS.md section it implements.
    """

    name: str
    summary: str
    applies_to: frozenset[SeriesKind]
    defaults: Mapping[str, Param]
    method_ref: str


class Detector(Protocol):
    """A `Detector` learns a baseline from history and judges one window against it."""

    info: ClassVar[DetectorInfo]

    def fit(self, baseline: Series) -> Baseline:
        """Learn the baseline (it must exclude the window to be judged, R4)."""
        ...

    def score(self, baseline: Baseline, window: Series) -> Verdict:
        """Judge one evaluation window against a fitted baseline."""
        ...


class _Described(Protocol):
    """A dataclass detector whose `info` the `described` decorator fills in."""

    info: ClassVar[DetectorInfo]
    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]


_D = TypeVar("_D", bound=_Described)


def described(
    *, name: str, summary: str, applies_to: frozenset[SeriesKind], method_ref: str
) -> Callable[[type[_D]], type[_D]]:
    """Class decorator giving a dataclass detector its `info`, `defaults` read off its fields.

    The fields' defaults are the one place a detector's default parameters are written, so
    the registry, YAML and REST cannot drift from the constructor.
    """

    def attach(cls: type[_D]) -> type[_D]:
        defaults: dict[str, Param] = {}
        for f in dataclasses.fields(cls):
            if not isinstance(f.default, float | int | str | bool):
                raise TypeError(f"{cls.__name__}.{f.name} needs a float, str or bool default")
            defaults[f.name] = f.default
        cls.info = DetectorInfo(name, summary, applies_to, defaults, method_ref)
        return cls

    return attach


def _opt(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def check_side(side: str) -> Side:
    """Validate a `side` parameter."""
    if side not in ("up", "down", "both"):
        raise InvalidInput(f"side must be up, down or both, got {side!r}")
    return side  # type: ignore[return-value]


def crossed(stat: float, threshold: float, side: Side) -> bool:
    """Whether a signed statistic is beyond `threshold` on an alerting side (R7)."""
    if side == "up":
        return stat > threshold
    if side == "down":
        return stat < -threshold
    return abs(stat) > threshold


def band(
    centre: float, half: float, side: Side, *, log: bool = False
) -> tuple[float | None, float | None]:
    """Bounds `centre ± half` for the alerting sides, back in metric units if on log scale."""
    lo, hi = centre - half, centre + half
    if log:
        lo, hi = math.exp(lo), math.exp(hi)
    return (None if side == "up" else _opt(lo), None if side == "down" else _opt(hi))


def to_scale(values: FloatArray, log: bool) -> FloatArray:
    """Values on the detector's scale: natural log for heavy-tailed metrics (§1.1 c, §1.3)."""
    if not log:
        return values
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(np.where(values > 0, values, np.nan))


def from_scale(x: float, log: bool) -> float:
    """Back from the detector's scale to metric units."""
    return math.exp(x) if log else x


def sigma_floor(s: float, centre: float, rel: float, abs_: float, log: bool) -> float:
    """sigma floor of METHODS.md §1.1 (b): max(s, c_rel·|mean|, c_abs).

    On a log scale a relative floor c_rel is the additive floor log(1 + c_rel).
    """
    rel_floor = math.log1p(rel) if log else rel * abs(centre)
    return max(s if math.isfinite(s) else 0.0, rel_floor, abs_)


def verdict(
    *,
    stat: float,
    threshold: float,
    side: Side,
    value: float,
    baseline: float,
    bounds: tuple[float | None, float | None],
    name: str,
) -> Verdict:
    """Build the verdict of a detector whose statistic is compared with a threshold."""
    hit = crossed(stat, threshold, side)
    detail = f"{name} {stat:.4g} {'crossed' if hit else 'within'} {threshold:g} (side {side})"
    return Verdict(
        "breached" if hit else "normal",
        _opt(value),
        _opt(baseline),
        bounds[0],
        bounds[1],
        _opt(stat),
        detail,
    )
