"""The span table's physical layout (ADRs 0010, 0011): per-column compression and the
promoted metadata pairs change no result, on new databases and on migrated ones."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from store_factories import make_full_span, make_span

from llmpulse.domain.ids import ProjectName
from llmpulse.domain.metrics import parse_metric
from llmpulse.domain.spans import Span
from llmpulse.store.api import AttrEquals, EventStore, SpanFilter, SpanQuery
from llmpulse.store.events.columns import SPAN_COLUMN_NAMES
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.events.migrate import current_version, load_migrations
from llmpulse.store.metric_api import MetricQuery


def test_span_layout_migration_keeps_rows_and_fills_metadata_pairs(tmp_path: Path) -> None:
    """A database at schema 2 (before the layout) keeps every row and gains the pairs."""
    path = tmp_path / "events.duckdb"
    con = duckdb.connect(str(path))
    current_version(con)
    for m in load_migrations("duckdb")[:2]:
        con.execute(m.sql)
        con.execute("INSERT INTO schema_version (version, name) VALUES (?, ?)", [m.version, m.name])
    store = DuckDBEventStore(None)
    store.append_spans(
        [
            make_full_span(1, metadata={"region": "eu-west", "n": 3, 'bad"key': "x"}),
            make_full_span(2, metadata={}),
            make_span(3, metadata=None),
        ]
    )
    rows = store._query(f"SELECT {', '.join(SPAN_COLUMN_NAMES)} FROM spans ORDER BY span_id")
    store.close()
    marks = ", ".join("?" * len(SPAN_COLUMN_NAMES))
    con.executemany(f"INSERT INTO spans VALUES ({marks})", [list(r) for r in rows])
    con.close()
    migrated = DuckDBEventStore(path)
    try:
        after = migrated._query(
            f"SELECT {', '.join(SPAN_COLUMN_NAMES)}, metadata_kv FROM spans ORDER BY span_id"
        )
    finally:
        migrated.close()
    assert [r[:-1] for r in after] == rows
    pairs = [None if r[-1] is None else sorted(r[-1]) for r in after]
    # Ordered by span id: span 3 (no metadata), 1, 2 (empty metadata, stored as NULL).
    # A key no query can name ('bad"key') is left out.
    assert pairs == [None, ["n\x1f3", "region\x1feu-west"], None]


_VALUES: list[object] = ["eu-west", "eu", "eu-west ", "3", 3, 3.5, True, None, {"a": 1}, [1, 2]]
_VALUES += ["tab\tand\x1fsep", 'quote"d', "ünï"]


def _planted_spans() -> list[Span]:
    spans = []
    for i in range(120):
        meta: dict[str, object] = {"region": _VALUES[i % len(_VALUES)]}
        if i % 3 == 0:
            meta["reg"] = "eu-west"  # a key that is a prefix of another
        if i % 4 == 0:
            meta["a.b"] = _VALUES[(i // 4) % len(_VALUES)]
        if i % 5 == 0:
            meta = {}
        spans.append(make_span(i, metadata=meta or None))
    return spans


@pytest.mark.parametrize("key", ["region", "reg", "a.b", "missing"])
@pytest.mark.parametrize("value", ["eu-west", "eu", "3", "3.5", "true", "tab\tand\x1fsep", "ünï"])
def test_metadata_filter_matches_exactly_what_the_json_test_matches(
    event_store: EventStore, key: str, value: str
) -> None:
    assert isinstance(event_store, DuckDBEventStore)
    event_store.append_spans(_planted_spans())
    # The oracle: the JSON equality the promoted pairs replace, evaluated on every row.
    want = {
        r[0]
        for r in event_store._query(
            "SELECT span_id FROM spans WHERE json_extract_string(metadata, ?) = ?",
            [f'$."{key}"', value],
        )
    }
    q = SpanQuery(ProjectName("default"), attributes=(AttrEquals(f"metadata.{key}", value),))
    got = {s.span_id for s in event_store.list_spans(replace(q, limit=1000)).items}
    assert got == want
    count = event_store.metric(
        MetricQuery(
            ProjectName("default"),
            (parse_metric("count", "metric"),),
            where=SpanFilter(attributes=q.attributes),
        )
    )
    assert sum(int(r.n) for r in count.rows) == len(want)
    if key == "region" and value in ("eu-west", "3"):
        assert want  # the planted matches exist, so the comparison is not vacuous


@pytest.mark.parametrize("width_s", [60, 90, 3600, 86_400])
def test_buckets_are_epoch_aligned_floors_before_and_after_1970(
    event_store: EventStore, width_s: int
) -> None:
    """Buckets are grouped as integers (ADR 0010 notes): the start each span lands in is
    still the epoch-aligned floor, also for instants before 1970 and on bucket edges."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    instants = [
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(1969, 12, 31, 22, 30, tzinfo=UTC),
        epoch - timedelta(microseconds=1),
        epoch,
        datetime(2026, 12, 4, 13, 0, tzinfo=UTC),
        datetime(2026, 12, 4, 13, 59, 59, 999_999, tzinfo=UTC),
        datetime(9999, 12, 30, tzinfo=UTC),
    ]
    spans = [
        make_span(i, start_time=t, end_time=t + timedelta(milliseconds=5))
        for i, t in enumerate(instants)
    ]
    event_store.append_spans(spans)
    frame = event_store.metric(
        MetricQuery(
            ProjectName("default"),
            (parse_metric("count", "metric"),),
            bucket=timedelta(seconds=width_s),
        )
    )
    width = timedelta(seconds=width_s)
    want: dict[datetime, int] = {}
    for t in instants:
        start = epoch + ((t - epoch) // width) * width
        want[start] = want.get(start, 0) + 1
    assert {r.bucket: int(r.n) for r in frame.rows} == want
