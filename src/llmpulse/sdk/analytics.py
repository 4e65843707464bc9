"""`AnalyticsMixin`: the Client's metric, segment, fairness, comparison and price calls.

Each analysis has a ``*_raw`` method that returns the server's JSON (no pandas needed) and a
DataFrame method built on it (`llmpulse.sdk.frames`). Every call takes the span filters of
`SpanFilters` as keyword arguments (``start``, ``end``, ``kind``, ``status``, ``model``,
``name``, ``attr``, ``root_only``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Unpack

from llmpulse.sdk.frames import (
    JsonDict,
    comparison_rows,
    fairness_rows,
    metric_rows,
    slice_rows,
    to_frame,
    unpriced_rows,
)
from llmpulse.sdk.query_params import (
    ListArg,
    Params,
    SpanFilters,
    filter_params,
    project_path,
    repeat,
)
from llmpulse.sdk.requester import Requester

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]

__all__ = ["AnalyticsMixin"]


def _optional(**values: Any) -> Params:
    """Query pairs for the arguments that are not None."""
    return [(k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in values.items()
            if v is not None]  # fmt: skip


def _bucket(bucket: str | timedelta | None) -> str | None:
    if isinstance(bucket, timedelta):
        return str(int(bucket.total_seconds()))
    return bucket


def _fairness_params(
    metric: str, key: str, min_support: int | None, threshold: float | None, fmt: str | None = None
) -> Params:
    """Query pairs of the fairness report (``fmt="csv"`` asks for the CSV text)."""
    params: Params = [("metric", metric), ("key", key)]
    return params + _optional(format=fmt, min_support=min_support, threshold=threshold)


def jsonable(value: Any) -> Any:
    """YAML-loaded values as JSON: dates and datetimes become ISO-8601 text."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


class AnalyticsMixin(Requester):
    """Metric series, segments, slice discovery, fairness, version comparison and prices."""

    def _get(self, path: str, params: Params) -> JsonDict:
        body = self.request("GET", path, params=params)
        return body if isinstance(body, dict) else {"data": body}

    def _get_project(
        self, project: str, tail: str, params: Params, filters: Mapping[str, Any]
    ) -> JsonDict:
        """``GET`` a project endpoint with ``params`` followed by the span ``filters``."""
        return self._get(project_path(project, tail), params + filter_params(filters))

    # -- metrics ---------------------------------------------------------------------------

    def get_metrics_raw(
        self,
        project: str,
        metrics: ListArg,
        *,
        bucket: str | timedelta | None = None,
        group_by: ListArg = (),
        max_groups: int | None = None,
        approx: bool | None = None,
        **filters: Unpack[SpanFilters],
    ) -> JsonDict:
        """``GET …/metrics`` as JSON: ``{metrics, group_by, bucket_s, rows: [...]}``.

        Args:
            project: project name.
            metrics: ``field:agg`` texts (``latency_ms:p95``, ``error:rate``, ``count``).
            bucket: bucket width (``"5m"``, ``"1h"``, a timedelta); None for one aggregate.
            group_by: up to two keys (``metadata.tier``, ``model``, ``version``, …).
            max_groups: most groups returned (server default 50).
            approx: latency quantiles may come from the span sketch, within 1 % of the
                exact value (server default: exact).
            **filters: span filters (see `SpanFilters`).
        """
        params = repeat("metric", metrics) + repeat("group_by", group_by)
        params += _optional(bucket=_bucket(bucket), max_groups=max_groups, approx=approx)
        return self._get_project(project, "metrics", params, filters)

    def get_metrics(
        self,
        project: str,
        metrics: ListArg,
        *,
        bucket: str | timedelta | None = None,
        group_by: ListArg = (),
        max_groups: int | None = None,
        approx: bool | None = None,
        **filters: Unpack[SpanFilters],
    ) -> pd.DataFrame:
        """Metric series as a DataFrame, one row per bucket and group (``approx``: see
        `get_metrics_raw`).

        Columns: ``bucket`` (UTC datetime; NaT for a window aggregate), one column per
        ``group_by`` key, ``n`` (spans), one column per metric, ``support.<metric>`` (spans
        that had the metric's field; units averaged for ``per_trace``, ``per_session`` and
        ``per_user``) and, for those per-unit metrics, ``excluded.<metric>`` (traces, sessions
        or users left out because an LLM call in them could not be priced). A bucket without
        spans has no row.
        ``df.attrs`` holds ``metrics``, ``group_by`` and ``bucket_s``.
        """
        body = self.get_metrics_raw(
            project,
            metrics,
            bucket=bucket,
            group_by=group_by,
            max_groups=max_groups,
            approx=approx,
            **filters,
        )
        return to_frame(metric_rows(body))

    def unpriced_models_raw(self, project: str) -> JsonDict:
        """``GET …/unpriced-models`` as JSON: ``{data: [{model, spans}]}``."""
        return self._get_project(project, "unpriced-models", [], {})

    def unpriced_models(self, project: str) -> pd.DataFrame:
        """Models whose spans carry tokens but no price: columns ``model``, ``spans``."""
        return to_frame(unpriced_rows(self.unpriced_models_raw(project)))

    # -- segments --------------------------------------------------------------------------

    def get_segments_raw(
        self,
        project: str,
        metric: str,
        key: str,
        *,
        direction: str | None = None,
        min_support: int | None = None,
        q: float | None = None,
        unit: str | None = None,
        **filters: Unpack[SpanFilters],
    ) -> JsonDict:
        """``GET …/segments`` as JSON: each value of ``key`` against the other values.

        Args:
            project: project name.
            metric: one ``field:agg`` text (rate, mean or p50/p90/p95/p99).
            key: the attribute to slice by (``metadata.region``).
            direction: ``higher_is_worse`` or ``lower_is_worse`` (default: the metric's own).
            min_support: smallest slice that is tested (server default 30).
            q: false discovery rate for Benjamini-Hochberg (server default 0.05).
            unit: unit of analysis, ``trace`` (default), ``session``, ``user`` or ``span``.
            **filters: span filters (see `SpanFilters`).
        """
        params: Params = [("metric", metric), ("key", key)]
        params += _optional(direction=direction, min_support=min_support, q=q, unit=unit)
        return self._get_project(project, "segments", params, filters)

    def get_segments(
        self,
        project: str,
        metric: str,
        key: str,
        *,
        direction: str | None = None,
        min_support: int | None = None,
        q: float | None = None,
        unit: str | None = None,
        **filters: Unpack[SpanFilters],
    ) -> pd.DataFrame:
        """Segments as a DataFrame, one row per slice (worst significant ones ranked 1, 2, …).

        Columns: ``slice``, the key, then ``n``, ``share``, ``value``, ``rest_value``,
        ``diff``, ``ci_low``, ``ci_high``, ``effect``, ``p_value``, ``p_adjusted``,
        ``significant``, ``worse``, ``impact``, ``explained_share``, ``test``, ``tested``,
        ``rank``. ``df.attrs``: ``metric``, ``kind``, ``keys``, ``total_n``, ``unit``,
        ``total_units``, ``direction``, ``value_unit``, ``truncated``.
        """
        body = self.get_segments_raw(
            project, metric, key, direction=direction, min_support=min_support, q=q, unit=unit,
            **filters,
        )  # fmt: skip
        return to_frame(slice_rows(body))

    def discover_slices_raw(
        self,
        project: str,
        metric: str,
        keys: ListArg,
        *,
        k: int = 20,
        direction: str | None = None,
        min_support: int | None = None,
        unit: str | None = None,
        **filters: Unpack[SpanFilters],
    ) -> JsonDict:
        """``GET …/segments/discover`` as JSON: the ``k`` worst one- and two-key slices."""
        params: Params = [("metric", metric), *repeat("key", keys), ("k", str(k))]
        params += _optional(direction=direction, min_support=min_support, unit=unit)
        return self._get_project(project, "segments/discover", params, filters)

    def discover_slices(
        self,
        project: str,
        metric: str,
        keys: ListArg,
        *,
        k: int = 20,
        direction: str | None = None,
        min_support: int | None = None,
        unit: str | None = None,
        **filters: Unpack[SpanFilters],
    ) -> pd.DataFrame:
        """The worst slices as a DataFrame, worst first; columns as in `get_segments`.

        A one-key slice has null in the other keys' columns.
        """
        body = self.discover_slices_raw(
            project, metric, keys, k=k, direction=direction, min_support=min_support, unit=unit,
            **filters,
        )  # fmt: skip
        return to_frame(slice_rows(body))

    # -- fairness and versions -------------------------------------------------------------

    def fairness_raw(
        self,
        project: str,
        metric: str,
        key: str,
        *,
        min_support: int | None = None,
        threshold: float | None = None,
        unit: str | None = None,
        **filters: Unpack[SpanFilters],
    ) -> JsonDict:
        """``GET …/fairness`` as JSON: parity of a rate across the values of ``key``.

        Ratios are on the favourable outcome (1 - rate for errors); each group passes, fails
        or is inconclusive (``four_fifths``) by its ratio's CI; ``unit`` as in `get_segments`.
        """
        params = _fairness_params(metric, key, min_support, threshold) + _optional(unit=unit)
        return self._get_project(project, "fairness", params, filters)

    def fairness(
        self,
        project: str,
        metric: str,
        key: str,
        *,
        min_support: int | None = None,
        threshold: float | None = None,
        unit: str | None = None,
        **filters: Unpack[SpanFilters],
    ) -> pd.DataFrame:
        """The fairness report as a DataFrame, one row per group.

        Columns: ``group``, ``n``, ``selected``, ``selection_rate``, ``ci_low``, ``ci_high``,
        ``suppressed``, ``favourable_rate``, ``impact_ratio``, ``ratio_ci_low``,
        ``ratio_ci_high``, ``four_fifths``, ``passes_four_fifths``, ``most_favoured``.
        ``df.attrs``: ``metric``, ``key``, ``most_favoured``, ``parity_difference``,
        ``parity_ratio``, ``threshold``, ``min_support``.
        """
        body = self.fairness_raw(
            project, metric, key, min_support=min_support, threshold=threshold, unit=unit,
            **filters,
        )  # fmt: skip
        return to_frame(fairness_rows(body))

    def fairness_csv(
        self,
        project: str,
        metric: str,
        key: str,
        *,
        min_support: int | None = None,
        threshold: float | None = None,
        unit: str | None = None,
        **filters: Unpack[SpanFilters],
    ) -> str:
        """The fairness report as the server's CSV text (report figures on every row)."""
        params = _fairness_params(metric, key, min_support, threshold, fmt="csv")
        params += _optional(unit=unit)
        path = project_path(project, "fairness")
        return str(self.request("GET", path, params=params + filter_params(filters)))

    def compare_versions_raw(
        self,
        project: str,
        baseline: str,
        candidate: str,
        *,
        key: str = "version",
        metrics: ListArg | None = None,
        guard_rails: ListArg | None = None,
        min_support: int | None = None,
        unit: str | None = None,
        overlap: bool | None = None,
        **filters: Unpack[SpanFilters],
    ) -> JsonDict:
        """``GET …/compare`` as JSON: candidate against baseline, a verdict per metric.

        Args:
            project: project name.
            baseline: the value of ``key`` in production now (``v1``).
            candidate: the value of ``key`` to judge (``v2``).
            key: the attribute that tells versions apart (default ``version``).
            metrics: metrics to compare (server default: latency p95, error rate, mean cost).
            guard_rails: the metrics that can hold a promotion (default: all of them).
            min_support: smallest number of spans per version (server default 30).
            unit: unit of analysis, ``trace`` (default), ``session``, ``user`` or ``span``.
            overlap: compare only while both were live (server default true).
            **filters: span filters (see `SpanFilters`).
        """
        params: Params = [("key", key), ("baseline", baseline), ("candidate", candidate)]
        params += repeat("metric", metrics) + repeat("guard_rail", guard_rails)
        params += _optional(min_support=min_support, unit=unit, overlap=overlap)
        return self._get_project(project, "compare", params, filters)

    def compare_versions(
        self,
        project: str,
        baseline: str,
        candidate: str,
        *,
        key: str = "version",
        metrics: ListArg | None = None,
        guard_rails: ListArg | None = None,
        min_support: int | None = None,
        unit: str | None = None,
        overlap: bool | None = None,
        **filters: Unpack[SpanFilters],
    ) -> pd.DataFrame:
        """The comparison as a DataFrame, one row per metric.

        Columns: ``name``, ``test``, ``baseline_value``, ``candidate_value``, ``diff``,
        ``ci_low``, ``ci_high``, ``p_value``, ``effect``, ``verdict``,
        ``required_n_per_group``, ``guard_rail``, ``baseline_n``, ``candidate_n``.
        ``df.attrs["signal"]`` is ``promote``, ``hold`` or ``insufficient_data``; ``attrs``
        also carry ``unit``, ``windowed``, ``window_start`` and ``window_end``.
        """
        body = self.compare_versions_raw(
            project, baseline, candidate, key=key, metrics=metrics, guard_rails=guard_rails,
            min_support=min_support, unit=unit, overlap=overlap, **filters,
        )  # fmt: skip
        return to_frame(comparison_rows(body))

    # -- prices ----------------------------------------------------------------------------

    def get_prices(self) -> JsonDict:
        """The price tables in force: ``{shipped, file, overrides}`` (PriceTable JSON each)."""
        return self._get("/api/v1/prices", [])

    def set_price_overrides(self, table: Mapping[str, Any] | Any) -> JsonDict:
        """Replace the server's API price overrides with ``table`` (a PriceTable).

        ``table`` is a mapping (as loaded from YAML; dates are sent as ISO text) or a
        `llmpulse.domain.specs.PriceTable`. Spans ingested from now on are priced with it.
        Returns the tables in force afterwards.
        """
        dump = getattr(table, "model_dump", None)
        body = dump(mode="json") if callable(dump) else jsonable(table)
        result = self.request("PUT", "/api/v1/prices", json=body)
        return result if isinstance(result, dict) else {}

    def clear_price_overrides(self) -> JsonDict:
        """Drop the API price overrides; returns the tables in force afterwards."""
        result = self.request("DELETE", "/api/v1/prices")
        return result if isinstance(result, dict) else {}
