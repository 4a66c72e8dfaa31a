"""The daily partitioning of transactions: one partition per landing file's day."""

import dagster as dg

from segmentation_pipeline.settings import get_settings

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=get_settings().partition_start.isoformat()
)
