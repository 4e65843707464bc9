"""The segment engine: every slice against its complement, on aggregates (METHODS.md §4.1-4.8).

The store computes, in one GROUPING SETS query, per slice `n` and either `bad` (proportion
metrics: error rate, thumbs-down rate) or `sum` and `sumsq` (mean metrics: cost, tokens,
eval score), plus the overall totals. Counts, sums and sums of squares are additive, so the
complement R = all - S is `totals - slice` and every test runs vectorised over all slices.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from llmpulse.analysis.aggregates import Aggregates, PairTests, run_pair_tests
from llmpulse.analysis.multiple import adjust_pvalues
from llmpulse.analysis.types import Direction, FloatArray, MetricKind, worse_sign
from llmpulse.domain.errors import InvalidInput

SliceKey = tuple[tuple[str, str], ...]
"""One or two (key, value) pairs, e.g. (("model", "gpt-4o"), ("region", "eu"))."""

TestName = Literal[
    "z",
    "fisher",
    "welch",
    "mann_whitney",
    "delta_method",
    "quantile_test",
    "none",
]


@dataclass(frozen=True)
class SliceStats:
    """Per-slice aggregates, columnar: entry i of every array belongs to `keys[i]`.

    Proportion metrics need `bad`; mean metrics need `sum` and `sumsq` (of x - `shift`, see
    `means.summary_from_sums`).
    """

    keys: tuple[SliceKey, ...]
    n: npt.ArrayLike
    bad: npt.ArrayLike | None = None
    sum: npt.ArrayLike | None = None
    sumsq: npt.ArrayLike | None = None
    shift: float = 0.0
    units: npt.ArrayLike | None = None
    """Optional (C, Σy_c², Σy_c·n_c, Σn_c²) per slice: tests become delta-method (§4.10)."""
    aggregates: Aggregates = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        agg = Aggregates.build(self.n, self.bad, self.sum, self.sumsq, self.units)
        if agg.n.size != len(self.keys):
            raise InvalidInput(f"{len(self.keys)} slice keys but {agg.n.size} counts")
        object.__setattr__(self, "aggregates", agg)


@dataclass(frozen=True)
class SliceTotals:
    """The same aggregates over all traffic in scope (the union of every slice's parent)."""

    n: float
    bad: float | None = None
    sum: float | None = None
    sumsq: float | None = None
    units: tuple[float, float, float, float] | None = None


@dataclass(frozen=True, slots=True)
class SliceResult:
    """One slice compared with its complement (METHODS.md §4.1-4.8).

    `diff = value - rest_value`; `impact` is signed so that positive means S is worse:
    excess bad events for proportions, excess total (e.g. dollars) for means (§4.7).
    `explained_share` is max(impact, 0) over the sum of max(impact, 0) of the tested slices
    of the same dimension (same key names, which partition the traffic): S's share of that
    dimension's excess. `rank` (1 = worst) is set only for significant-and-worse slices.
    """

    keys: SliceKey
    n: int
    share: float
    value: float
    rest_value: float
    diff: float
    ci_low: float
    ci_high: float
    effect: float
    p_value: float
    p_adjusted: float
    significant: bool
    worse: bool
    impact: float
    explained_share: float
    test: TestName
    tested: bool
    rank: int | None
    explained_by: SliceKey | None = None
    """Discovery: the more specific reported slice this one is folded under."""


def compare_slices(
    stats: SliceStats,
    totals: SliceTotals,
    *,
    kind: MetricKind,
    direction: Direction,
    min_support: int = 30,
    min_share: float = 0.005,
    q: float = 0.05,
    confidence: float = 0.95,
    rest_within_key: bool = False,
) -> list[SliceResult]:
    """Test every slice against its complement and rank the worse ones by impact (§4.1-4.8).

    With ``rest_within_key`` the complement of a slice is the other slices of the same keys
    (a dimension: the slices of one key, or of one pair of keys), so spans that lack a key are
    never "the rest" of its values; the dimension's total is the sum of its slices.

    1. Support filter *before* testing (§4.1): n_S ≥ min_support, n_R ≥ min_support and
       traffic share ≥ min_share. Filtered slices are returned with `tested=False`.
    2. Test (§4.2 z or Fisher with a Newcombe CI; §4.3 Welch with a t CI), effect size φ
       (§4.8, sample variances; Bernoulli variances for proportions).
    3. Benjamini-Hochberg over the tested slices only (§4.6); significant = p_adj ≤ q.
    4. Impact (§4.7) and rank by impact among significant-and-worse slices.

    Returns:
        Ranked slices first (rank 1 = largest impact), then the other tested slices by
        adjusted p, then the untested ones; ties broken by key.
    """
    _check_args(kind, min_support, min_share, q)
    slices = stats.aggregates
    whole = Aggregates.build(
        [totals.n], _opt(totals.bad), _opt(totals.sum), _opt(totals.sumsq),
        None if totals.units is None else [totals.units],
    )  # fmt: skip
    if rest_within_key:
        whole_rows = dimension_totals(stats.keys, slices)
    else:
        whole_rows = whole.broadcast(slices.n.size)
    rest = whole_rows.minus(slices)
    share = slices.n / totals.n if totals.n > 0 else np.zeros_like(slices.n)
    tested = (slices.n >= min_support) & (rest.n >= min_support) & (share >= min_share)
    idx = np.flatnonzero(tested)
    tests = run_pair_tests(kind, slices.take(idx), rest.take(idx), stats.shift, confidence)
    finite = np.isfinite(tests.p_value)
    return assemble_results(
        stats.keys, slices.n, share, idx[finite], tests.select(finite), direction=direction, q=q
    )


def assemble_results(
    keys: tuple[SliceKey, ...],
    n: FloatArray,
    share: FloatArray,
    idx: npt.NDArray[np.intp],
    tests: PairTests,
    *,
    direction: Direction,
    q: float,
) -> list[SliceResult]:
    """Adjust p-values, compute impact and shares, rank, and build the result rows.

    `idx` are the rows of `keys` that were tested, in the order of `tests`; the others are
    returned untested ("too small to test").
    """
    sign = worse_sign(direction)
    p_adj = adjust_pvalues(tests.p_value, method="bh")
    worse = sign * tests.diff > 0
    significant = p_adj <= q
    impact = sign * tests.diff * n[idx]
    explained = _explained_share([keys[i] for i in idx], impact)
    ranked = sorted(
        (j for j in range(idx.size) if significant[j] and worse[j]),
        key=lambda j: (-impact[j], keys[idx[j]]),
    )
    rank_of = {j: r + 1 for r, j in enumerate(ranked)}
    out: dict[int, SliceResult] = {}
    for j, i in enumerate(idx):
        out[int(i)] = SliceResult(
            keys=keys[i], n=int(n[i]), share=float(share[i]),
            value=float(tests.value1[j]), rest_value=float(tests.value2[j]),
            diff=float(tests.diff[j]), ci_low=float(tests.ci_low[j]),
            ci_high=float(tests.ci_high[j]), effect=float(tests.effect[j]),
            p_value=float(tests.p_value[j]), p_adjusted=float(p_adj[j]),
            significant=bool(significant[j]), worse=bool(worse[j]),
            impact=float(impact[j]), explained_share=float(explained[j]),
            test=tests.names[j], tested=True, rank=rank_of.get(j),
        )  # fmt: skip
    untested = [_untested(keys[i], n[i], share[i]) for i in range(len(keys)) if i not in out]
    tested_rows = sorted(out.values(), key=_order)
    return tested_rows + sorted(untested, key=lambda r: r.keys)


def _order(r: SliceResult) -> tuple[int, float, SliceKey]:
    if r.rank is not None:
        return (0, float(r.rank), r.keys)
    return (1, r.p_adjusted, r.keys)


def _untested(key: SliceKey, n: float, share: float) -> SliceResult:
    nan = float("nan")
    return SliceResult(
        keys=key, n=int(n), share=float(share), value=nan, rest_value=nan, diff=nan,
        ci_low=nan, ci_high=nan, effect=nan, p_value=nan, p_adjusted=nan,
        significant=False, worse=False, impact=nan, explained_share=nan,
        test="none", tested=False, rank=None,
    )  # fmt: skip


def _explained_share(keys: list[SliceKey], impact: FloatArray) -> FloatArray:
    """max(impact, 0) / Σ max(impact, 0) within each dimension (tuple of key names)."""
    positive = np.maximum(impact, 0.0)
    denom: dict[tuple[str, ...], float] = defaultdict(float)
    dims = [tuple(k for k, _ in key) for key in keys]
    for dim, value in zip(dims, positive, strict=True):
        denom[dim] += float(value)
    return np.array(
        [v / denom[d] if denom[d] > 0 else 0.0 for d, v in zip(dims, positive, strict=True)],
        dtype=np.float64,
    )


def dimension_totals(keys: tuple[SliceKey, ...], slices: Aggregates) -> Aggregates:
    """Per row, the sum of the rows that slice the same keys (its dimension)."""
    dims = [tuple(k for k, _ in key) for key in keys]
    code = {d: i for i, d in enumerate(dict.fromkeys(dims))}
    idx = np.array([code[d] for d in dims], dtype=np.intp)

    def total(values: FloatArray) -> FloatArray:
        sums = np.bincount(idx, weights=values, minlength=len(code)).astype(np.float64)
        return sums[idx]

    def maybe(values: FloatArray | None) -> FloatArray | None:
        return None if values is None else total(values)

    units = None
    if slices.units is not None:
        units = np.stack([total(slices.units[:, j]) for j in range(4)], axis=1)
    return Aggregates(
        total(slices.n), maybe(slices.bad), maybe(slices.sum), maybe(slices.sumsq), units
    )


def _opt(value: float | None) -> list[float] | None:
    return None if value is None else [value]


def _check_args(kind: str, min_support: int, min_share: float, q: float) -> None:
    if kind not in ("proportion", "mean"):
        raise InvalidInput(f"kind must be 'proportion' or 'mean', got {kind!r}")
    if min_support < 2:
        raise InvalidInput(f"min_support must be ≥ 2, got {min_support}")
    if not 0.0 <= min_share < 1.0:
        raise InvalidInput(f"min_share must be in [0, 1), got {min_share}")
    if not 0.0 < q < 1.0:
        raise InvalidInput(f"q must be in (0, 1), got {q}")
