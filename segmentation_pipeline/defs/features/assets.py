"""The `customer_features` asset: SQL over all loaded days, run by the compute engine."""

import time

import dagster as dg

from segmentation_pipeline.defs.ingest.assets import raw_transactions
from segmentation_pipeline.defs.metadata import table_metadata
from segmentation_pipeline.defs.resources import ComputeEngine
from segmentation_pipeline.lib.features.sql import customer_features_sql
from segmentation_pipeline.settings import CUSTOMER_FEATURES_TABLE, WAREHOUSE_POOL


@dg.asset(
    deps=[raw_transactions],
    group_name="features",
    kinds={"duckdb", "sql"},
    owners=["team:data-science"],
    pool=WAREHOUSE_POOL,
    tags={"layer": "marts"},
)
def customer_features(
    context: dg.AssetExecutionContext, compute_engine: ComputeEngine
) -> dg.MaterializeResult:
    """One row per customer over every loaded day: demographics plus purchasing behaviour.

    Transactions, total spend, average ticket, spend per active day, distinct products and
    categories, active days, first/last purchase, and the share of spend in each of the 20
    product categories. Demographics come from the combination seen on most rows (ties: most
    recent); customers whose rows disagree are flagged in `demographics_conflict`. The SQL runs
    on the configured engine (`SEGMENTATION_ENGINE`: DuckDB, or Spark over the Parquet raw layer).
    """
    started = time.perf_counter()
    rows = compute_engine.replace_table(CUSTOMER_FEATURES_TABLE, customer_features_sql(), context)
    with compute_engine.warehouse.connect() as con:
        metadata = table_metadata(con, CUSTOMER_FEATURES_TABLE)
        (conflicts, first_day, last_day) = con.execute(
            f"SELECT count(*) FILTER (WHERE demographics_conflict), min(first_purchase_date), "
            f"max(last_purchase_date) FROM {CUSTOMER_FEATURES_TABLE}"
        ).fetchone()
    context.log.info(f"{rows} customers featurised")
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "customers": rows,
            "customers_with_demographic_conflicts": int(conflicts),
            "data_window": f"{first_day}..{last_day}",
            "seconds": round(time.perf_counter() - started, 3),
        }
    )
