"""The daily partitioning of transactions: one partition per landing file's day."""

import dagster as dg

from segmentation_pipeline.defs.load_time import LOAD_TIME_SETTINGS

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=LOAD_TIME_SETTINGS.partition_start.isoformat()
)
