"""Jobs: what runs together. Schedules and sensors only say when."""

import dagster as dg

from segmentation_pipeline.ingest.assets import raw_transactions
from segmentation_pipeline.partitions import daily_partitions

ingest_job = dg.define_asset_job(
    name="ingest_job",
    description="Load landing files for a day or a range of days into raw.transactions.",
    selection=dg.AssetSelection.assets(raw_transactions),
    partitions_def=daily_partitions,
)

segmentation_job = dg.define_asset_job(
    name="segmentation_job",
    description="Rebuild features, model, segments and profiles from every loaded day.",
    selection=dg.AssetSelection.assets(raw_transactions).downstream(include_self=False),
)
