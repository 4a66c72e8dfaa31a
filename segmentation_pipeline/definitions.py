"""The code location: every asset, check, job and resource, assembled once."""

import dagster as dg

from segmentation_pipeline.defs.automation import (
    ingest_job,
    landing_sensor,
    nightly_refresh,
    refresh_job,
    segmentation_job,
)
from segmentation_pipeline.defs.features.assets import customer_features
from segmentation_pipeline.defs.features.checks import customer_features_contract
from segmentation_pipeline.defs.ingest.assets import raw_transactions
from segmentation_pipeline.defs.ingest.checks import (
    raw_transactions_accounting,
    raw_transactions_contract,
)
from segmentation_pipeline.defs.load_time import LOAD_TIME_SETTINGS
from segmentation_pipeline.defs.model.assets import segmentation_model
from segmentation_pipeline.defs.model.separation import segment_separation
from segmentation_pipeline.defs.model.stability import segment_stability
from segmentation_pipeline.defs.publishing import published_marts
from segmentation_pipeline.defs.reporting.assets import segment_report
from segmentation_pipeline.defs.resources import (
    ComputeEngine,
    LandingZone,
    ModelStore,
    Warehouse,
)
from segmentation_pipeline.defs.segments.assets import customer_segments, segment_profiles
from segmentation_pipeline.defs.segments.checks import customer_segments_contract
from segmentation_pipeline.defs.segments.drift import feature_drift, segment_drift
from segmentation_pipeline.defs.segments.migration import segment_migration
from segmentation_pipeline.settings import Settings

warehouse = Warehouse()


def compute_engine_for(settings: Settings) -> ComputeEngine:
    """The engine `SEGMENTATION_ENGINE` names: embedded DuckDB, or Spark (the `[spark]` extra)."""
    if settings.engine == "spark":
        try:
            from segmentation_pipeline.defs.spark.engine import SparkComputeEngine
        except ImportError as error:
            raise ImportError(
                f"SEGMENTATION_ENGINE=spark needs the extra: pip install -e '.[spark]' ({error})"
            ) from error

        return SparkComputeEngine(
            warehouse=warehouse, master=settings.spark_master, conf=settings.spark_conf
        )
    return warehouse


defs = dg.Definitions(
    assets=[
        raw_transactions,
        customer_features,
        segmentation_model,
        customer_segments,
        segment_migration,
        segment_profiles,
        segment_report,
        published_marts,
    ],
    asset_checks=[
        raw_transactions_contract,
        raw_transactions_accounting,
        customer_features_contract,
        customer_segments_contract,
        segment_stability,
        segment_separation,
        segment_drift,
        feature_drift,
    ],
    jobs=[ingest_job, segmentation_job, refresh_job],
    schedules=[nightly_refresh],
    sensors=[landing_sensor],
    resources={
        "warehouse": warehouse,
        "compute_engine": compute_engine_for(LOAD_TIME_SETTINGS),
        "landing": LandingZone(),
        "model_store": ModelStore(),
    },
    # Steps share one DuckDB file and are cheap: in-process avoids ~3 s of process start per step.
    executor=dg.in_process_executor,
)
