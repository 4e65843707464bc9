"""`after_restart.py`: when each kind settles after a start, and its report."""

from __future__ import annotations

from pathlib import Path

import after_restart


def _rounds(series: list[float]) -> list[dict[str, object]]:
    return [{"t_s": 3.0 + i, "ms": {"a": ms}} for i, ms in enumerate(series)]


def test_a_kind_settles_at_the_first_round_from_which_every_answer_stays_near_its_median() -> None:
    rounds = _rounds([400.0, 300.0, 2.0, 9.0, 2.1, 1.9, 2.0, 2.2, 2.0])  # late median 2.0
    assert after_restart.settled(rounds, "a") == 7.0  # 9.0 ms at 6 s is over twice 2.0
    assert after_restart.settled(_rounds([2.0, 2.0, 2.0]), "a") == 3.0
    assert after_restart.settled(_rounds([2.0, 2.0]), "a") is None  # too few rounds


def test_the_report_names_the_first_answer_and_when_each_kind_settled() -> None:
    rounds = _rounds([400.0, 2.0, 2.0, 2.0])
    md = after_restart.render(
        {
            "meta": {
                "llmpulse_spans": 10_000_000, "stamp": "s", "command": "c", "machine": "m",
                "llmpulse_version": "v", "healthy_s": 3.2, "every_s": 0.5,
            },
            "rounds": rounds,
        }
    )  # fmt: skip
    assert "| a | 400.0 | 4.0 | 2.0 |" in md
    assert "`/healthz` answered 3.2 s after the start" in md
    assert "| 3.0 | 400.0 |" in md


def test_build_totals_removes_the_kept_totals_and_nothing_else(tmp_path: Path) -> None:
    for name in ("events.duckdb", "events.duckdb.sums", "events.duckdb.sums.wal", "state.sqlite"):
        (tmp_path / name).write_bytes(b"x")
    assert after_restart.drop_kept_totals(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.duckdb", "state.sqlite"]
    assert not after_restart.drop_kept_totals(tmp_path)
