"""Which burn-rate rules fire, over per-bucket good/valid counts (METHODS.md §2.4).

A rule fires at the end of bucket i when the error ratio Σbad/Σvalid (R1) over its long
window and over its short window, both ending with bucket i, exceed factor·ε, and the short
window holds at least `min_short_valid` valid events. A window without valid events has no
ratio and never fires (R3). Windows are counted in whole buckets; near the start of a
series they hold the buckets there are, as a Prometheus range does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from llmpulse.analysis.slo.rules import BurnRule, Severity
from llmpulse.analysis.types import BoolArray, FloatArray
from llmpulse.domain.errors import InvalidInput


@dataclass(frozen=True)
class BucketSeries:
    """Good and valid counts per aligned time bucket (R5).

    Attributes:
        start: Start of the first bucket.
        bucket: Bucket width, e.g. one minute.
        good: Good events per bucket.
        valid: Valid events per bucket (same length; `good <= valid`).
    """

    start: datetime
    bucket: timedelta
    good: FloatArray
    valid: FloatArray

    @classmethod
    def of(
        cls, start: datetime, bucket: timedelta, good: npt.ArrayLike, valid: npt.ArrayLike
    ) -> BucketSeries:
        """Build a series, checking shapes and counts."""
        g = np.asarray(good, dtype=np.float64)
        v = np.asarray(valid, dtype=np.float64)
        if bucket <= timedelta(0):
            raise InvalidInput(f"bucket must be positive, got {bucket}")
        if g.ndim != 1 or g.shape != v.shape:
            raise InvalidInput("good and valid must be 1-d arrays of the same length")
        if np.any(g < 0) or np.any(g > v):
            raise InvalidInput("need 0 <= good <= valid in every bucket")
        return cls(start, bucket, g, v)

    def __len__(self) -> int:
        return int(self.valid.size)

    def buckets_in(self, window: timedelta) -> int:
        """Number of buckets in `window`; it must be a whole multiple of the bucket."""
        n, rest = divmod(window, self.bucket)
        if rest or n < 1:
            raise InvalidInput(f"window {window} is not a whole number of {self.bucket} buckets")
        return int(n)

    def window_sums(self, window: timedelta) -> tuple[FloatArray, FloatArray]:
        """Bad and valid totals of the window ending with each bucket."""
        w = self.buckets_in(window)
        bad = np.concatenate(([0.0], np.cumsum(self.valid - self.good)))
        valid = np.concatenate(([0.0], np.cumsum(self.valid)))
        lo = np.maximum(np.arange(1, len(self) + 1) - w, 0)
        hi = np.arange(1, len(self) + 1)
        return bad[hi] - bad[lo], valid[hi] - valid[lo]

    def between(self, start: datetime, end: datetime) -> slice:
        """The buckets overlapping ``[start, end)``, clipped to the series."""
        lo = max(0, (start - self.start) // self.bucket)
        hi = min(len(self), -(-(end - self.start) // self.bucket))
        return slice(lo, hi)

    def index_at(self, at: datetime) -> int:
        """Index of the last bucket completed by the instant `at`."""
        i = (at - self.start) // self.bucket - 1
        if not 0 <= i < len(self):
            raise InvalidInput(f"instant {at} is outside the series")
        return int(i)


def _ratio(bad: FloatArray, valid: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(valid > 0, bad / np.where(valid > 0, valid, 1.0), np.nan)


def _rule_series(rule: BurnRule, series: BucketSeries) -> tuple[FloatArray, FloatArray, BoolArray]:
    long_bad, long_valid = series.window_sums(rule.long)
    short_bad, short_valid = series.window_sums(rule.short)
    long_ratio, short_ratio = _ratio(long_bad, long_valid), _ratio(short_bad, short_valid)
    threshold = float(rule.threshold)
    with np.errstate(invalid="ignore"):
        firing = (
            (long_ratio > threshold)
            & (short_ratio > threshold)
            & (short_valid >= rule.min_short_valid)
        )
    return long_ratio, short_ratio, firing


def firing_series(rules: list[BurnRule], series: BucketSeries) -> dict[str, BoolArray]:
    """Per rule name, and per severity, whether it fires at the end of each bucket.

    Returns:
        A boolean array per rule name, plus one per severity (`page`, `ticket`) that ORs
        the rules of that severity.
    """
    out: dict[str, BoolArray] = {}
    by_severity: dict[Severity, BoolArray] = {}
    for rule in rules:
        firing = _rule_series(rule, series)[2]
        out[rule.name] = firing
        prev = by_severity.get(rule.severity)
        by_severity[rule.severity] = firing if prev is None else prev | firing
    for severity, firing in by_severity.items():
        out[severity] = firing
    return out


@dataclass(frozen=True)
class RuleVerdict:
    """One rule at one instant: the two window error ratios and whether it fires."""

    rule: BurnRule
    long_ratio: float
    short_ratio: float
    short_valid: float
    firing: bool


def evaluate_at(rules: list[BurnRule], series: BucketSeries, at: datetime) -> list[RuleVerdict]:
    """Evaluate every rule at instant `at` (over the buckets completed by then)."""
    i = series.index_at(at)
    verdicts = []
    for rule in rules:
        long_ratio, short_ratio, firing = _rule_series(rule, series)
        short_valid = series.window_sums(rule.short)[1][i]
        verdicts.append(
            RuleVerdict(
                rule,
                float(long_ratio[i]),
                float(short_ratio[i]),
                float(short_valid),
                bool(firing[i]),
            )
        )
    return verdicts
