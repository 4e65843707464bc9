"""JSON answers of the analytics endpoints → flat rows → pandas DataFrames.

Pure functions, no HTTP. Each ``*_rows`` function turns one endpoint's JSON body into a list
of flat dicts (one per output row) and a dict of report-level figures; the CLI prints those
rows as a table without needing pandas. `to_frame` builds the DataFrame (pandas is imported
lazily, only there) with the report-level figures in ``df.attrs``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]

JsonDict = dict[str, Any]

SLICE_COLUMNS = (
    "n", "share", "value", "rest_value", "diff", "ci_low", "ci_high", "effect", "p_value",
    "p_adjusted", "significant", "worse", "impact", "explained_share", "test", "tested", "rank",
)  # fmt: skip
FAIRNESS_REPORT_FIELDS = ("parity_difference", "parity_ratio", "threshold", "min_support")
_SLICE_NON_FLOAT = frozenset({"n", "rank", "significant", "worse", "test", "tested"})
UNPRICED_COLUMNS = ("model", "spans")


@dataclass(frozen=True, slots=True)
class Table:
    """Rows with a fixed column order, and the figures that describe the whole table.

    Attributes:
        columns: column names in display order.
        rows: one dict per row (keys are a subset of ``columns``; missing means null).
        attrs: report-level figures (``signal``, ``parity_ratio``, ``metrics``, …).
        datetime_columns: columns holding ISO-8601 instants.
        int_columns: integer columns that may hold nulls.
        float_columns: number columns that may hold only nulls (others are inferred).
    """

    columns: list[str]
    rows: list[JsonDict]
    attrs: JsonDict = field(default_factory=dict)
    datetime_columns: tuple[str, ...] = ()
    int_columns: tuple[str, ...] = ()
    float_columns: tuple[str, ...] = ()


def _dict(body: object) -> Mapping[str, Any]:
    return body if isinstance(body, Mapping) else {}


def _list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def metric_rows(body: object) -> Table:
    """Rows of ``GET …/metrics``: bucket, one column per group key, n, the metrics, support.

    ``support.<metric>`` counts the spans that had the metric's field in that row (for a
    ``per_trace``, ``per_session`` or ``per_user`` metric, the units averaged), and
    ``excluded.<metric>`` (per-unit metrics only) the units left out because their cost is
    unknown (an unpriced LLM call).
    """
    b = _dict(body)
    metrics = [str(m) for m in _list(b.get("metrics"))]
    group_by = [str(g) for g in _list(b.get("group_by"))]
    support = [f"support.{m}" for m in metrics]
    per_unit = [m for m in metrics if m.rsplit(":", 1)[-1] in _PER_UNIT]
    excluded = [f"excluded.{m}" for m in per_unit]
    rows: list[JsonDict] = []
    for raw in _list(b.get("rows")):
        r = _dict(raw)
        row: JsonDict = {"bucket": r.get("bucket")}
        groups = _list(r.get("group"))
        for i, key in enumerate(group_by):
            row[key] = groups[i] if i < len(groups) else None
        row["n"] = r.get("n")
        values, counts = _dict(r.get("values")), _dict(r.get("support"))
        left_out = _dict(r.get("excluded"))
        for m in metrics:
            row[m] = values.get(m)
            row[f"support.{m}"] = counts.get(m)
        for m in per_unit:
            row[f"excluded.{m}"] = left_out.get(m, 0)
        rows.append(row)
    attrs = {"metrics": metrics, "group_by": group_by, "bucket_s": b.get("bucket_s")}
    columns = ["bucket", *group_by, "n", *metrics, *excluded, *support]
    return Table(columns, rows, attrs, ("bucket",), ("n", *excluded, *support), tuple(metrics))


_PER_UNIT = frozenset({"per_trace", "per_session", "per_user"})


def slice_label(keys: Mapping[str, Any]) -> str:
    """``metadata.tier=pro, metadata.region=eu`` for a slice's keys."""
    return ", ".join(f"{k}={v}" for k, v in keys.items())


SLICE_REPORT_FIELDS = ("metric", "kind", "total_n")
SLICE_REPORT_EXTRA = ("unit", "total_units", "direction", "value_unit", "truncated")
COMPARISON_REPORT_FIELDS = ("signal", "key", "baseline", "candidate")
COMPARISON_REPORT_EXTRA = ("unit", "windowed", "window_start", "window_end")


def _extra(body: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """The report fields of ``names`` that the answer carries."""
    return {k: body[k] for k in names if k in body}


def slice_rows(body: object) -> Table:
    """Rows of ``GET …/segments`` and ``…/segments/discover``: one per slice.

    Columns: ``slice`` (a readable label), one column per key of the report (null where the
    slice does not fix that key, as for one-key slices in discovery), then the statistics.
    """
    b = _dict(body)
    keys = [str(k) for k in _list(b.get("keys"))]
    rows: list[JsonDict] = []
    for raw in _list(b.get("data")):
        r = _dict(raw)
        slice_keys = _dict(r.get("keys"))
        for k in slice_keys:
            if k not in keys:
                keys.append(str(k))
        row: JsonDict = {"slice": slice_label(slice_keys)}
        row.update({k: slice_keys.get(k) for k in keys})
        row.update({c: r.get(c) for c in SLICE_COLUMNS})
        rows.append(row)
    attrs = {k: b.get(k) for k in SLICE_REPORT_FIELDS} | {"keys": keys}
    attrs |= _extra(b, SLICE_REPORT_EXTRA)
    floats = tuple(c for c in SLICE_COLUMNS if c not in _SLICE_NON_FLOAT)
    return Table(["slice", *keys, *SLICE_COLUMNS], rows, attrs, (), ("n", "rank"), floats)


def fairness_rows(body: object) -> Table:
    """Rows of ``GET …/fairness``: one per group; parity figures go to the attrs."""
    b = _dict(body)
    groups = [_dict(g) for g in _list(b.get("groups"))]
    columns: list[str] = []
    for g in groups:
        columns += [c for c in g if c not in columns and c not in FAIRNESS_REPORT_FIELDS]
    rows = [{c: g.get(c) for c in columns} for g in groups]
    attrs = {k: b.get(k) for k in ("metric", "key", "most_favoured", *FAIRNESS_REPORT_FIELDS)}
    return Table(columns or ["group"], rows, attrs, (), ("n", "selected"))


def comparison_rows(body: object) -> Table:
    """Rows of ``GET …/compare``: one per metric; the overall ``signal`` goes to the attrs."""
    b = _dict(body)
    metrics = [_dict(m) for m in _list(b.get("metrics"))]
    columns: list[str] = []
    for m in metrics:
        columns += [c for c in m if c not in columns and c != "signal"]
    rows = [{c: m.get(c) for c in columns} for m in metrics]
    attrs = {k: b.get(k) for k in COMPARISON_REPORT_FIELDS} | _extra(b, COMPARISON_REPORT_EXTRA)
    ints = ("required_n_per_group", "baseline_n", "candidate_n")
    return Table(columns or ["name"], rows, attrs, (), ints)


def unpriced_rows(body: object) -> Table:
    """Rows of ``GET …/unpriced-models``: model and number of spans."""
    rows = [{c: _dict(r).get(c) for c in UNPRICED_COLUMNS} for r in _list(_dict(body).get("data"))]
    return Table(list(UNPRICED_COLUMNS), rows, {}, (), ("spans",))


def price_rows(body: object) -> Table:
    """Rows of ``GET /api/v1/prices``: one per price entry, with its layer."""
    b = _dict(body)
    columns = ["layer", "model", "match", "provider", "input", "output", "cache_read",
               "cache_write", "tiers", "effective_from"]  # fmt: skip
    rows: list[JsonDict] = []
    for layer in ("shipped", "file", "overrides"):
        for raw in _list(_dict(b.get(layer)).get("prices")):
            p = _dict(raw)
            row: JsonDict = {"layer": layer} | {c: p.get(c) for c in columns[1:]}
            row["tiers"] = len(_list(p.get("tiers")))
            rows.append(row)
    return Table(columns, rows)


def to_frame(table: Table) -> pd.DataFrame:
    """A DataFrame of ``table`` (instants as UTC datetimes; attrs copied to ``df.attrs``).

    Raises:
        ImportError: pandas is not installed (use the ``*_raw`` methods then).
    """
    try:
        import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # lazy: optional
    except ImportError as exc:  # pragma: no cover - pandas is installed in the test env
        raise ImportError(
            "DataFrame results need pandas (pip install 'llmpulse[sdk-pandas]'); "
            "the *_raw methods return the JSON instead"
        ) from exc
    df = pd.DataFrame(table.rows, columns=table.columns)
    for c in table.datetime_columns:
        df[c] = pd.to_datetime(df[c], utc=True, format="ISO8601")
    for c in table.int_columns:
        if c in df.columns:
            df[c] = df[c].astype("Int64")
    for c in _numeric_columns(table):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    df.attrs.update(table.attrs)
    return df


def _numeric_columns(table: Table) -> Sequence[str]:
    """The declared float columns, and others whose non-null values are all numbers."""
    skip = set(table.datetime_columns) | set(table.int_columns)
    out = [c for c in table.float_columns if c not in skip]
    for c in table.columns:
        if c in skip or c in out:
            continue
        values = [r.get(c) for r in table.rows if r.get(c) is not None]
        if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            out.append(c)
    return out
