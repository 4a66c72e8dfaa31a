"""Landed days grouped into ranges of consecutive daily partitions, one run per range."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from segmentation_pipeline.defs.partitions import daily_partitions, day_ranges


def test_days_group_into_ranges_of_consecutive_partitions() -> None:
    days = ["2025-11-09", "2025-11-01", "2025-11-02", "2025-11-04", "2025-11-05", "2025-11-30"]
    ranges = day_ranges(days)
    assert ranges == [
        dg.PartitionKeyRange("2025-11-01", "2025-11-02"),
        dg.PartitionKeyRange("2025-11-04", "2025-11-05"),
        dg.PartitionKeyRange("2025-11-09", "2025-11-09"),
        dg.PartitionKeyRange("2025-11-30", "2025-11-30"),
    ]
    # Each range holds exactly the given days: a month's end does not split nor join ranges.
    assert sorted(
        day
        for key_range in ranges
        for day in daily_partitions.get_partition_keys_in_range(key_range)
    ) == sorted(days)


def test_across_a_month_boundary_is_one_range() -> None:
    assert day_ranges(["2025-11-30", "2025-12-01"]) == [
        dg.PartitionKeyRange("2025-11-30", "2025-12-01")
    ]


def test_a_day_outside_the_partitions_is_refused_not_skipped() -> None:
    today = datetime.now(UTC).date().isoformat()  # its partition exists from tomorrow on
    before_start = (daily_partitions.start - timedelta(days=1)).strftime("%Y-%m-%d")
    with pytest.raises(ValueError, match=f"not daily partitions .*: {before_start}, {today}"):
        day_ranges(["2025-11-01", before_start, today])
