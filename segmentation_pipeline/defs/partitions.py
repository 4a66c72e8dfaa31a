"""The daily partitioning of transactions: one partition per landing file's day."""

from collections.abc import Iterable, Sequence

import dagster as dg

from segmentation_pipeline.defs.load_time import LOAD_TIME_SETTINGS

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=LOAD_TIME_SETTINGS.partition_start.isoformat()
)


def day_ranges(days: Iterable[str]) -> Sequence[dg.PartitionKeyRange]:
    """The days as ranges of consecutive partitions, in order: each range loads in one run.

    Dagster's own subset does the grouping; it silently leaves out keys that are not partitions,
    so such days are refused here instead of being skipped without a word.
    """
    days = list(days)
    unknown = [day for day in days if not daily_partitions.has_partition_key(day)]
    if unknown:
        raise ValueError(
            f"not daily partitions (from {daily_partitions.start:%Y-%m-%d} to yesterday): "
            f"{', '.join(unknown)}"
        )
    subset = daily_partitions.subset_with_partition_keys(days)
    return subset.get_partition_key_ranges(daily_partitions)
