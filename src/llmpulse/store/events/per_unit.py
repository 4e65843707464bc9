"""``per_trace``, ``per_session`` and ``per_user`` aggregates: the mean over units of their sums.

A unit (a trace, a session, a user) is summed first, then the units are averaged, so that:

* spans without the unit (no ``session.id``, no ``user.id``) are left out: their cost is
  nobody's session's cost, and must not be spread over the sessions that have one;
* a unit whose cost is unknown, because one of its spans is an LLM call with token counts
  that could not be priced, is excluded from the mean rather than counted as cheaper than
  it was, and the number of excluded units is reported with the value;
* a unit with no cost at all (no LLM call, say a retrieval-only trace) costs nothing and
  counts as 0.

Only ``cost_usd`` has unknown values here: a span is unpriced exactly when
`DuckDBEventStore.unpriced_models` lists its model. Units are formed inside each bucket and
group, over the spans the query's filters keep.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from llmpulse.domain.metrics import Agg, MetricField, MetricSpec, Source

if TYPE_CHECKING:
    from llmpulse.store.events.metrics import MetricDialect

UNIT_COLUMNS = {Agg.PER_TRACE: "trace_id", Agg.PER_SESSION: "session_id", Agg.PER_USER: "user_id"}

# The span is an LLM call whose cost could not be computed (`unpriced_models` lists its model).
UNPRICED_SQL = (
    "(spans.cost_usd IS NULL AND spans.model IS NOT NULL AND "
    "coalesce(spans.total_tokens, spans.prompt_tokens, spans.completion_tokens) IS NOT NULL)"
)


def is_per_unit(m: MetricSpec) -> bool:
    """Whether ``m`` is aggregated per trace, session or user."""
    return m.agg in UNIT_COLUMNS


def unknown_expr(f: MetricField) -> str:
    """SQL: TRUE where the span's value of ``f`` is unknown (so is its unit's sum)."""
    if f.source is Source.COLUMN and f.column == "cost_usd":
        return UNPRICED_SQL
    return "FALSE"


def unit_ctes(metrics: Sequence[MetricSpec], keys: str, d: MetricDialect) -> list[str]:
    """One CTE ``pu<i>`` per per-unit metric ``i``: keys, value, units used, units excluded.

    ``base`` must carry the unit columns, ``v<i>`` (the value) and ``x<i>`` (unknown flag).
    """
    ctes = []
    for i, m in enumerate(metrics):
        if not is_per_unit(m):
            continue
        unit = UNIT_COLUMNS[m.agg]
        ctes.append(
            f"pu{i} AS (SELECT {keys}, "
            f"{d.total('t')} FILTER (WHERE NOT unknown) "
            "/ NULLIF(count(*) FILTER (WHERE NOT unknown), 0) AS m, "
            "count(*) FILTER (WHERE NOT unknown) AS s, "
            "count(*) FILTER (WHERE unknown) AS x "
            f"FROM (SELECT {keys}, {unit}, {d.total(f'v{i}')} AS t, bool_or(x{i}) AS unknown "
            f"FROM base WHERE {unit} IS NOT NULL GROUP BY {keys}, {unit}) GROUP BY {keys})"
        )
    return ctes


def joined_agg(metrics: Sequence[MetricSpec], key_names: Sequence[str]) -> str:
    """SELECT over ``agg0`` with each per-unit metric's value, support and exclusions joined.

    Columns: keys, ``n``, ``m<i>``…, ``s<i>``…, ``x<i>``… (units excluded; 0 elsewhere).
    """
    keys = ", ".join(f"a.{k}" for k in key_names)
    values, supports, excluded, joins = [], [], [], []
    for i, m in enumerate(metrics):
        if is_per_unit(m):
            on = " AND ".join(f"a.{k} IS NOT DISTINCT FROM pu{i}.{k}" for k in key_names)
            joins.append(f"LEFT JOIN pu{i} ON {on}")
            values.append(f"pu{i}.m AS m{i}")
            supports.append(f"coalesce(pu{i}.s, 0) AS s{i}")
            excluded.append(f"coalesce(pu{i}.x, 0) AS x{i}")
        else:
            values.append(f"a.m{i}")
            supports.append(f"a.s{i}")
            excluded.append(f"0 AS x{i}")
    cols = ", ".join([keys, "a.n", *values, *supports, *excluded])
    return f"SELECT {cols} FROM agg0 a {' '.join(joins)}"
