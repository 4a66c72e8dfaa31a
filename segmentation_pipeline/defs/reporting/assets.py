"""The `segment_report` asset: `reports/segment_report.html`, for people outside the Dagster UI."""

import time

import dagster as dg
import pandas as pd

from segmentation_pipeline.defs.metadata import markdown_table
from segmentation_pipeline.defs.model.assets import K_TABLE_SHOWN
from segmentation_pipeline.defs.resources import ModelStore, Warehouse
from segmentation_pipeline.defs.segments.assets import segment_profiles
from segmentation_pipeline.lib.model.separation import separation_sentence
from segmentation_pipeline.lib.model.spec import DEMOGRAPHIC_FEATURES
from segmentation_pipeline.lib.model.stability_key import stability_data_key, stability_file
from segmentation_pipeline.lib.plots import (
    PROJECTION_CUSTOMERS,
    demographic_mix_plot,
    feature_drift_plot,
    k_selection_plot,
    migration_heatmap_plot,
    profile_heatmap_plot,
    projection_plot,
    segment_drift_plot,
    segment_sizes_plot,
    stability_plot,
)
from segmentation_pipeline.lib.reporting.report import (
    SECTIONS,
    figure_section,
    model_section,
    per_segment_lists,
    render_report,
)
from segmentation_pipeline.lib.segments.drift import (
    CHANGED_SEGMENT_LIMIT,
    FIRST_DAY,
    PSI_SIGNIFICANT,
    measure_feature_drift,
    measure_segment_drift,
    psi_band,
)
from segmentation_pipeline.lib.segments.history import read_scorings, scoring_day
from segmentation_pipeline.lib.segments.migration import (
    PERIOD_PHRASES,
    migration_matrix,
    read_migration,
)
from segmentation_pipeline.lib.segments.profiling import standardised_differences
from segmentation_pipeline.settings import (
    CUSTOMER_FEATURES_TABLE,
    CUSTOMER_SEGMENTS_TABLE,
    SEGMENT_PROFILES_TABLE,
    WAREHOUSE_POOL,
    get_settings,
)

REPORT_FILE = "segment_report.html"


def _stability_body(payload: dict | None) -> str:
    from segmentation_pipeline.lib.model.stability import (
        STABLE_MEAN_JACCARD,
        Stability,
        jaccard_band,
    )

    if payload is None:
        return figure_section([], note="Not computed yet for this model version.")
    stability = Stability.from_json(payload)
    per_segment = stability.per_segment()
    verdict = "passes" if stability.stable else "fails"
    return figure_section(
        [stability_plot(per_segment, stability.ari).html()],
        per_segment,
        note=(
            f"Mean Jaccard {stability.mean_jaccard:.3f} ({jaccard_band(stability.mean_jaccard)}):"
            f" {verdict} (stable from {STABLE_MEAN_JACCARD}); mean adjusted Rand index "
            f"{sum(stability.ari) / len(stability.ari):.3f} over {stability.subsamples} refits "
            f"on {stability.fraction:.0%} of {stability.customers:,} customers."
        ),
    )


def _drift_body(current: pd.DataFrame, previous: pd.DataFrame | None) -> str:
    if previous is None:
        return figure_section([], note=FIRST_DAY)
    segments = measure_segment_drift(previous, current)
    features = measure_feature_drift(previous, current)
    return figure_section(
        [segment_drift_plot(segments.shares).html(), feature_drift_plot(features).html()],
        segments.shares,
        features,
        note=(
            f"Data day {scoring_day(current)} against {scoring_day(previous)}: "
            f"segment-share PSI {segments.psi:.3f} ({psi_band(segments.psi)}); "
            f"{segments.changed_share:.1%} of {segments.customers_compared:,} customers changed "
            f"segment; {segments.new_customers:,} new customers. Largest feature PSI "
            f"{features['psi'].max():.3f}. Warnings above PSI {PSI_SIGNIFICANT} or "
            f"{CHANGED_SEGMENT_LIMIT:.0%} changed."
        ),
    )


def _migration_body(migration: pd.DataFrame, profiles: pd.DataFrame) -> str:
    if migration.empty:
        return figure_section([], note="One data day scored so far: no migration to show yet.")
    periods = list(dict.fromkeys(migration["period"]))
    matrices = {period: migration_matrix(migration, period) for period in periods}
    spans = "; ".join(
        f"{period}: {PERIOD_PHRASES[period]} segments ({rows['from_day'].iloc[0]:%Y-%m-%d}) "
        f"against {rows['to_day'].iloc[0]:%Y-%m-%d}"
        for period, rows in migration.groupby("period", sort=False)
    )
    return figure_section(
        [migration_heatmap_plot(matrices).html()],
        profiles[["segment_id", "segment_name", "migration_note"]],
        *[matrix.reset_index() for matrix in matrices.values()],
        note=f"Customers by segment before (rows) and now (columns). {spans}.",
    )


@dg.asset(
    deps=[segment_profiles],
    group_name="reporting",
    kinds={"html", "python"},
    owners=["team:marketing-analytics"],
    pool=WAREHOUSE_POOL,
    tags={"layer": "reporting"},
)
def segment_report(
    context: dg.AssetExecutionContext, warehouse: Warehouse, model_store: ModelStore
) -> dg.MaterializeResult:
    """`reports/segment_report.html` under the data dir: one self-contained page per run.

    Sections: model version and lineage, K-selection curves, segment sizes and revenue shares,
    a heatmap of features by segment, a 2-D projection (PCA) of customers coloured by segment,
    the demographic mix, distinguishing features, recommended actions, stability (from the
    model's figures on today's data), drift since the previous data day and customer migration
    between segments over the last day and the last 7 days. Images are embedded as
    base64 PNG, so the file opens in any browser and can be mailed as is.
    """
    # scikit-learn is imported here, not at module load, to keep the code location quick to load.
    from segmentation_pipeline.lib.model.training import model_inputs

    started = time.perf_counter()
    model, card = model_store.load()
    profiles = warehouse.read_df(f"SELECT * FROM {SEGMENT_PROFILES_TABLE} ORDER BY segment_id")
    members = warehouse.read_df(
        f"SELECT features.*, segments.segment_id, segments.model_version "
        f"FROM {CUSTOMER_FEATURES_TABLE} AS features "
        f"JOIN {CUSTOMER_SEGMENTS_TABLE} AS segments USING (user_id) ORDER BY user_id"
    )
    shown = members.sample(
        n=min(len(members), PROJECTION_CUSTOMERS), random_state=card["config"]["random_state"]
    )
    current, previous = read_scorings(warehouse)
    with warehouse.connect() as con:
        data_key = stability_data_key(con)
    k_table = pd.DataFrame(card["k_table"])
    sizes = profiles[
        [
            "segment_id",
            "segment_name",
            "customers",
            "customer_share",
            "revenue_share",
            "avg_spend",
            "avg_transactions",
            "avg_ticket",
            "high_value",
        ]
    ]
    bodies = {
        "model": model_section(
            card, members.groupby("model_version").size().rename("customers").reset_index()
        ),
        "k-selection": figure_section(
            [k_selection_plot(k_table).html()],
            k_table.reindex(columns=K_TABLE_SHOWN),
            note=separation_sentence(card["separation"]) if "separation" in card else "",
        ),
        "sizes": figure_section([segment_sizes_plot(profiles).html()], sizes),
        "profile-heatmap": figure_section(
            [profile_heatmap_plot(standardised_differences(members)).html()],
            note="Each cell: (segment mean - all customers' mean) / all customers' std.",
        ),
        "projection": figure_section(
            [
                projection_plot(
                    model.pipeline["preprocess"].transform(model_inputs(shown)),
                    shown["segment_id"].to_numpy(),
                    card["config"]["random_state"],
                ).html()
            ]
        ),
        "demographics": figure_section(
            [demographic_mix_plot(members, DEMOGRAPHIC_FEATURES).html()]
        ),
        "distinguishing-features": per_segment_lists(profiles, "distinguishing_features"),
        "recommended-actions": per_segment_lists(profiles, "recommended_actions"),
        "stability": _stability_body(
            model_store.load_json(card["version"], stability_file(data_key))
        ),
        "drift": _drift_body(current, previous),
        "migration": _migration_body(read_migration(warehouse), profiles),
    }
    page = render_report(
        bodies, f"Model {card['version']}, {len(members):,} customers in {len(profiles)} segments"
    )
    path = get_settings().reports_dir / REPORT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename: a reader opening the report never sees half a page.
    partial = path.with_suffix(".partial")
    partial.write_text(page, encoding="utf-8")
    partial.replace(path)
    context.log.info(f"Report written to {path}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "bytes": len(page.encode()),
            "images": page.count("data:image/png;base64,"),
            "sections": markdown_table(
                pd.DataFrame({"section": list(SECTIONS), "title": list(SECTIONS.values())}),
                max_rows=len(SECTIONS),
            ),
            "model_version": card["version"],
            "seconds": round(time.perf_counter() - started, 3),
        }
    )
