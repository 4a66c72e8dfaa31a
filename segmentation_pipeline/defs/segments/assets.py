"""The `customer_segments` and `segment_profiles` assets."""

import time
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import pandas as pd

from segmentation_pipeline.defs.metadata import markdown_table, plot_metadata, table_metadata
from segmentation_pipeline.defs.model.assets import segmentation_model
from segmentation_pipeline.defs.resources import ComputeEngine, ModelStore, Warehouse
from segmentation_pipeline.defs.segments.migration import segment_migration
from segmentation_pipeline.lib.features.sql import profiled_feature_columns
from segmentation_pipeline.lib.model.profiling import (
    distinguishing_features,
    profile_segments,
    standardised_differences,
)
from segmentation_pipeline.lib.model.sampling import sampled_customers_sql
from segmentation_pipeline.lib.model.spec import DEMOGRAPHIC_FEATURES
from segmentation_pipeline.lib.plots import (
    PROJECTION_CUSTOMERS,
    Plot,
    demographic_mix_plot,
    profile_heatmap_plot,
    projection_plot,
    segment_sizes_plot,
)
from segmentation_pipeline.lib.segments.history import current_day, record_scoring_sql, scored_days
from segmentation_pipeline.lib.segments.migration import migration_notes, read_migration
from segmentation_pipeline.settings import (
    CUSTOMER_FEATURES_TABLE,
    CUSTOMER_SEGMENTS_TABLE,
    SEGMENT_HISTORY_TABLE,
    SEGMENT_PROFILES_TABLE,
    WAREHOUSE_POOL,
    get_settings,
)


def draw_projection(warehouse: Warehouse, model: Any, card: dict[str, Any]) -> Plot:
    """The model-space projection (PCA) of a seeded sample of customers, by their segment."""
    sampled = sampled_customers_sql(PROJECTION_CUSTOMERS, card["config"]["random_state"])
    shown = warehouse.read_df(
        f"SELECT sampled.*, segments.segment_id FROM ({sampled}) AS sampled "
        f"JOIN {CUSTOMER_SEGMENTS_TABLE} AS segments USING (user_id) ORDER BY user_id"
    )
    return projection_plot(
        model.pipeline["preprocess"].transform(model.inputs(shown)),
        shown["segment_id"].to_numpy(),
        card["config"]["random_state"],
    )


@dg.asset(
    deps=[segmentation_model],
    group_name="segments",
    kinds={"duckdb", "scikitlearn"},
    owners=["team:marketing-analytics"],
    pool=WAREHOUSE_POOL,
    tags={"layer": "marts"},
)
def customer_segments(
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    model_store: ModelStore,
    compute_engine: ComputeEngine,
) -> dg.MaterializeResult:
    """Every customer's segment: `marts.customer_segments`, one row per customer.

    Scores every customer in `marts.customer_features` (new and changed ones included) with the
    current model, whether it was refitted tonight or kept. Columns: user_id, segment_id (stable
    across model versions; the first model numbers segments by value, 0 = highest),
    segment_name (from the model card), distance_to_centroid (in the model's scaled feature
    space), model_version (the version that scored the customer), scored_at. In the same
    transaction the scoring is recorded as its data day's rows of `marts.segment_history`
    (replacing an earlier scoring of that day; see `lib/segments/history.py`).
    """
    started = time.perf_counter()
    model, card = model_store.load()
    # Nearest centroid in SQL over every customer (`lib/segments/scoring.py`), by user_id.
    scores = compute_engine.score_customers(model, card["version"], context)
    segment_ids = scores["segment_id"].to_numpy()
    distances = scores["distance_to_centroid"].to_numpy()
    segments = pd.DataFrame(
        {
            "user_id": scores["user_id"].astype("int64"),
            "segment_id": segment_ids.astype("int32"),
            "segment_name": [card["segment_names"][str(segment)] for segment in segment_ids],
            "distance_to_centroid": distances.astype(float),
            "model_version": card["version"],
            "scored_at": datetime.now(UTC).replace(tzinfo=None),
        }
    )
    with warehouse.connect() as con:
        warehouse.replace_table_from_frame(
            con,
            CUSTOMER_SEGMENTS_TABLE,
            segments,
            statements_before=record_scoring_sql(
                "incoming_frame", get_settings().history_retention_days
            ),
        )
        metadata = table_metadata(con, CUSTOMER_SEGMENTS_TABLE)
        as_of_day, history_days = current_day(con), len(scored_days(con))
    sizes = segments.groupby(["segment_id", "segment_name"]).size().rename("customers")
    context.log.info(f"{len(segments)} customers scored with model {card['version']}")
    projection = draw_projection(warehouse, model, card)
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "model_version": card["version"],
            "segment_sizes": markdown_table(sizes.reset_index(), max_rows=len(sizes)),
            "as_of_day": str(as_of_day),
            "history_table": SEGMENT_HISTORY_TABLE,
            "history_days": history_days,
            "projection_plot": plot_metadata(projection),
            "seconds": round(time.perf_counter() - started, 3),
        }
    )


@dg.asset(
    deps=[customer_segments, segment_migration],
    group_name="segments",
    kinds={"duckdb", "python"},
    owners=["team:marketing-analytics"],
    pool=WAREHOUSE_POOL,
    tags={"layer": "marts"},
)
def segment_profiles(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    """One row per segment: `marts.segment_profiles`, what marketing acts on.

    Customers and share, revenue and share, average spend, frequency and ticket, dominant
    demographics with their shares, top product categories, the readable name, the high-value
    flag (average spend at least 1.25x the average customer's), recommended actions
    (personalised campaigns, omnichannel for younger segments, segment pricing and offers,
    loyalty and retention for high spenders) and `distinguishing_features`: the 5 features
    furthest from all customers in standard deviations, with their sign; `migration_note`: the
    largest move out of the segment over the last 7 days (else the last day), from
    `marts.segment_migration`.
    """
    started = time.perf_counter()
    members = warehouse.read_df(
        f"SELECT {profiled_feature_columns('features')}, segments.segment_id, "
        "segments.segment_name, segments.model_version "
        f"FROM {CUSTOMER_FEATURES_TABLE} AS features "
        f"JOIN {CUSTOMER_SEGMENTS_TABLE} AS segments USING (user_id)"
    )
    identity = members.groupby("segment_id")[["segment_name", "model_version"]].first()
    profiles = profile_segments(members).join(identity, on="segment_id")
    profiles["distinguishing_features"] = profiles["segment_id"].map(
        distinguishing_features(members)
    )
    profiles["migration_note"] = profiles["segment_id"].map(
        migration_notes(read_migration(warehouse), profiles["segment_id"].tolist())
    )
    leading = [
        "segment_id",
        "segment_name",
        "customers",
        "customer_share",
        "revenue",
        "revenue_share",
        "avg_spend",
        "avg_transactions",
        "avg_ticket",
        "high_value",
    ]
    profiles = profiles[leading + [c for c in profiles.columns if c not in leading]]
    with warehouse.connect() as con:
        warehouse.replace_table_from_frame(con, SEGMENT_PROFILES_TABLE, profiles)
        metadata = table_metadata(con, SEGMENT_PROFILES_TABLE)
    summary = profiles[
        ["segment_id", "segment_name", "customers", "revenue_share", "avg_spend", "high_value"]
    ]
    explanations = profiles[["segment_id", "segment_name"]].assign(
        distinguishing_features=profiles["distinguishing_features"].str.join("; ")
    )
    context.log.info("\n" + summary.to_string(index=False))
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "segments": len(profiles),
            "high_value_segments": int(profiles["high_value"].sum()),
            "summary": markdown_table(summary, max_rows=len(summary)),
            "distinguishing_features": markdown_table(explanations, max_rows=len(explanations)),
            "migration_notes": markdown_table(
                profiles[["segment_id", "segment_name", "migration_note"]], max_rows=len(profiles)
            ),
            "sizes_plot": plot_metadata(segment_sizes_plot(profiles)),
            "profile_heatmap": plot_metadata(
                profile_heatmap_plot(standardised_differences(members))
            ),
            "demographic_mix": plot_metadata(demographic_mix_plot(members, DEMOGRAPHIC_FEATURES)),
            "seconds": round(time.perf_counter() - started, 3),
        }
    )
