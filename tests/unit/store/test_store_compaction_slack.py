"""When compaction is worth it: the free blocks beyond streaming's working space (ADR 0042).

Figures from `benchmarks/compaction_disk.py` (256 KiB blocks, ~1 kB per span compressed,
16,384-row row groups): streaming leaves about three row groups' worth free at any size; a
layout migration or a large delete leaves free blocks in proportion to the data.
"""

from __future__ import annotations

from llmpulse.store.events.compaction import FreeSpace
from llmpulse.store.events.duckdb_open import ROW_GROUP_SIZE

BLOCK = 256 * 1024


def _space(total: int, free: int) -> FreeSpace:
    return FreeSpace(total_blocks=total, free_blocks=free, bytes_on_disk=total * BLOCK)


def _worth(space: FreeSpace, spans: int, slack_row_groups: int = 3) -> bool:
    return space.worth_compacting(
        spans, free_ratio=0.25, slack_row_groups=slack_row_groups, row_group_size=ROW_GROUP_SIZE
    )


def test_the_slack_is_three_row_groups_of_the_stored_spans() -> None:
    # 354 used blocks hold 90,000 spans: a row group takes 64.4 blocks, three 194 (rounded up).
    assert _space(505, 151).slack_blocks(90_000, 3, ROW_GROUP_SIZE) == 194
    assert _space(505, 151).slack_blocks(0, 3, ROW_GROUP_SIZE) == 0


def test_streaming_free_blocks_are_not_worth_a_compaction() -> None:
    assert not _worth(_space(505, 151), 90_000)  # 30 % free after 90k streamed spans
    assert not _worth(_space(1_336, 165), 300_000)  # 12 % after 300k


def test_free_blocks_in_proportion_to_the_data_are_worth_a_compaction() -> None:
    assert _worth(_space(4_600, 2_300), 1_000_000)  # a layout migration: half the file
    assert _worth(_space(1_500, 700), 300_000)  # three quarters of a project deleted


def test_without_slack_the_rule_is_the_share_of_free_blocks() -> None:
    assert _worth(_space(505, 151), 90_000, slack_row_groups=0)
    assert not _worth(_space(505, 100), 90_000, slack_row_groups=0)
    assert not _worth(_space(0, 0), 0)
