"""Self-checks of the interleaved side-by-side runs (`sidebyside.paired`)."""

from __future__ import annotations

import pytest

from sidebyside import paired
from sidebyside.paired import Paired, interleave
from sidebyside.query_client import QueryClient


def test_summary_keeps_each_runs_ratio_beside_the_ratio_of_medians() -> None:
    p = Paired(peer_ms=[100.0, 200.0, 90.0, 300.0], ours_ms=[10.0, 10.0, 12.0, 50.0])
    s = p.summary()
    assert s["peer_median_ms"] == 150.0
    assert s["ours_median_ms"] == 11.0
    assert s["ratio_of_medians"] == pytest.approx(150.0 / 11.0)
    # per run: 10, 20, 7.5, 6
    assert s["run_ratio_median"] == pytest.approx(8.75)
    assert s["run_ratio_min"] == pytest.approx(6.0)
    assert s["runs_at_least_10x"] == 0.5
    assert s["ours_p95_ms"] == 50.0


def test_interleave_alternates_which_system_goes_first() -> None:
    calls: list[tuple[str, str, int]] = []

    def fn(system: str, kind: str):  # type: ignore[no-untyped-def]
        def ask(client: QueryClient, k: int | None) -> int:
            assert k is not None
            calls.append((system, kind, k))
            client.wire_s += 0.001 if system == "ours" else 0.01
            return 1

        return ask

    kinds = ("a", "b")
    got = interleave({k: fn("peer", k) for k in kinds}, {k: fn("ours", k) for k in kinds}, [7, 8])
    assert calls == [
        ("peer", "a", 7), ("ours", "a", 7), ("peer", "b", 7), ("ours", "b", 7),
        ("ours", "a", 8), ("peer", "a", 8), ("ours", "b", 8), ("peer", "b", 8),
    ]  # fmt: skip
    assert got["a"].ours_ms == pytest.approx([1.0, 1.0])
    assert got["a"].peer_ms == pytest.approx([10.0, 10.0])
    assert paired.Paired(got["a"].peer_ms, got["a"].ours_ms).summary()["runs_at_least_10x"] == 1.0


def test_pooled_series_keep_their_runs_in_order() -> None:
    a = Paired(peer_ms=[100.0, 90.0], ours_ms=[10.0, 9.0])
    b = Paired(peer_ms=[80.0], ours_ms=[20.0])
    p = paired.pooled([a, b])
    assert p.peer_ms == [100.0, 90.0, 80.0]
    assert p.ours_ms == [10.0, 9.0, 20.0]
    assert p.summary()["runs_at_least_10x"] == pytest.approx(2 / 3)


def test_timed_runs_ask_every_kind_in_turn_on_one_system() -> None:
    calls: list[tuple[str, int]] = []

    def fn(kind: str, ms: float):  # type: ignore[no-untyped-def]
        def ask(client: QueryClient, k: int | None) -> int:
            assert k is not None
            calls.append((kind, k))
            client.wire_s += ms / 1000
            return 1

        return ask

    got = paired.timed_runs({"a": fn("a", 2.0), "b": fn("b", 5.0)}, [3, 4])
    assert calls == [("a", 3), ("b", 3), ("a", 4), ("b", 4)]
    assert got == {"a": pytest.approx([2.0, 2.0]), "b": pytest.approx([5.0, 5.0])}


def test_stream_tail_table_puts_each_kinds_p95_against_its_median() -> None:
    import stream_tail

    quiet = [float(x) for x in range(1, 21)]  # median 10.5, p95 (nearest rank) 19
    table = stream_tail.tail_table({"quiet": {"a": quiet}, "stream": {"a": [2.0, 2.0, 8.0]}})
    assert table["quiet"]["a"] == {
        "runs": 20, "median_ms": 10.5, "p95_ms": 19.0, "p95_over_median": pytest.approx(19 / 10.5)
    }  # fmt: skip
    assert table["stream"]["a"]["p95_over_median"] == pytest.approx(4.0)
    md = stream_tail.render(
        {
            "meta": {
                "llmpulse_spans": 1000, "stamp": "s", "command": "c", "machine": "m",
                "llmpulse_version": "v", "blocks": 2, "repeat": 3, "pause_s": 0.05,
                "stream": {"spans_per_s": 300.0, "errors": 0},
            },
            "table": table,
        }
    )  # fmt: skip
    assert "| a | 10.50 (19.00) | 1.81 | 2.00 (8.00) | 4.00 |" in md


def test_run_meta_names_the_command_without_the_machines_paths(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sidebyside.run import run_meta

    monkeypatch.setattr("sys.argv", ["x.py", "/some/where/d1m", "--spans", "1000"])
    meta = run_meta("stream_tail.py", 1000)
    assert meta["command"] == "benchmarks/stream_tail.py d1m --spans 1000"
    assert meta["llmpulse_spans"] == 1000
    assert {"stamp", "machine", "llmpulse_version"} <= set(meta)
