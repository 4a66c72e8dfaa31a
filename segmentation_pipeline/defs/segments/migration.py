"""The `segment_migration` asset: `marts.segment_migration` (the SQL: lib/segments/migration.py)."""

import time

import dagster as dg

from segmentation_pipeline.defs.metadata import markdown_table, plot_metadata, table_metadata
from segmentation_pipeline.defs.resources import Warehouse
from segmentation_pipeline.lib.plots import migration_heatmap_plot
from segmentation_pipeline.lib.segments.migration import migration_matrix, replace_migration
from segmentation_pipeline.settings import SEGMENT_MIGRATION_TABLE, WAREHOUSE_POOL


# By key, not by import: `assets.py` imports this module (the profiles depend on migration).
@dg.asset(
    deps=[dg.AssetKey("customer_segments")],
    group_name="segments",
    kinds={"duckdb", "sql"},
    owners=["team:marketing-analytics"],
    pool=WAREHOUSE_POOL,
    tags={"layer": "marts"},
)
def segment_migration(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Customer migration between segments: `marts.segment_migration`.

    From-segment x to-segment customer counts between the latest scored data day and the
    previous one ("1 day"), and the latest day at least 7 days earlier ("7 days"), read from
    `marts.segment_history`. Columns: period, from_day, to_day, from_segment_id,
    from_segment_name ("new customer" when not scored on from_day), to_segment_id,
    to_segment_name, customers, share_of_from (share of the from-segment's customers). Empty
    until a second data day is scored. The profiles' `migration_note` reads it.
    """
    started = time.perf_counter()
    with warehouse.connect() as con:
        periods = replace_migration(con)
        metadata = table_metadata(con, SEGMENT_MIGRATION_TABLE)
        migration = con.execute(f"SELECT * FROM {SEGMENT_MIGRATION_TABLE}").df()
    matrices = {period: migration_matrix(migration, period) for period in periods}
    figures: dict[str, dg.RawMetadataValue] = {}
    for period, (from_day, to_day) in periods.items():
        rows = migration[migration["period"] == period]
        both = rows.dropna(subset=["from_segment_id", "to_segment_id"])
        moved = both.loc[both["from_segment_id"] != both["to_segment_id"], "customers"].sum()
        key = period.replace(" ", "_")
        figures[f"{key}_span"] = f"{from_day}..{to_day}"
        figures[f"{key}_moved_share"] = float(moved / max(both["customers"].sum(), 1))
        new = rows.loc[rows["from_segment_id"].isna(), "customers"]
        figures[f"{key}_new_customers"] = int(new.sum())
        figures[f"{key}_matrix"] = markdown_table(
            matrices[period].reset_index(), max_rows=len(matrices[period])
        )
    if periods:
        figures["migration_heatmap"] = plot_metadata(migration_heatmap_plot(matrices))
        context.log.info(f"Migration measured over {', '.join(periods)}")
    else:
        context.log.info("One data day scored so far: no migration to measure yet")
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "periods": list(periods),
            **figures,
            "seconds": round(time.perf_counter() - started, 3),
        }
    )
