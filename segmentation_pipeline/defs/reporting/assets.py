"""The `segment_report` asset: `reports/segment_report.html`, for people outside the Dagster UI."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from segmentation_pipeline.defs.metadata import markdown_table
from segmentation_pipeline.defs.model.assets import K_TABLE_SHOWN
from segmentation_pipeline.defs.resources import ModelStore, Warehouse
from segmentation_pipeline.defs.segments.assets import draw_projection, segment_profiles
from segmentation_pipeline.lib.features.sql import profiled_feature_columns
from segmentation_pipeline.lib.model.profiling import standardised_differences
from segmentation_pipeline.lib.model.separation import separation_sentence
from segmentation_pipeline.lib.model.spec import DEMOGRAPHIC_FEATURES
from segmentation_pipeline.lib.model.stability import (
    JACCARD_BAND_FLOORS,
    STABLE_MEAN_JACCARD,
    Stability,
    jaccard_band,
)
from segmentation_pipeline.lib.model.stability_key import stability_data_key, stability_file
from segmentation_pipeline.lib.plots import (
    Plot,
    demographic_mix_plot,
    feature_drift_plot,
    k_selection_plot,
    migration_heatmap_plot,
    profile_heatmap_plot,
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
    PSI_MODERATE,
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
from segmentation_pipeline.settings import (
    CUSTOMER_FEATURES_TABLE,
    CUSTOMER_SEGMENTS_TABLE,
    SEGMENT_PROFILES_TABLE,
    WAREHOUSE_POOL,
    get_settings,
)

REPORT_FILE = "segment_report.html"
SIZE_COLUMNS = [
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
PLOT_EVENTS = {
    dg.DagsterEventType.ASSET_MATERIALIZATION,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION,
}


def plots_drawn_this_run(context: dg.AssetExecutionContext) -> dict[str, Plot]:
    """The plots that earlier steps of this run put in their metadata, by metadata key."""
    drawn: dict[str, Plot] = {}
    for record in context.instance.get_records_for_run(context.run_id, of_type=PLOT_EVENTS).records:
        event = record.event_log_entry.dagster_event
        data = event.event_specific_data
        metadata = getattr(data, "materialization", data).metadata
        for key, value in metadata.items():
            if (plot := Plot.from_metadata(value)) is not None:
                drawn[key] = plot
    return drawn


@dataclass
class ReportInputs:
    """What the sections show. A figure that a step of this run already drew (same tables, same
    run) is taken from its metadata; only a report materialised on its own draws them all."""

    warehouse: Warehouse
    model: Any
    card: dict[str, Any]
    profiles: pd.DataFrame
    drawn: dict[str, Plot]

    @cached_property
    def members(self) -> pd.DataFrame:
        """Every customer's features and segment: read only when a figure must be drawn here."""
        return self.warehouse.read_df(
            f"SELECT {profiled_feature_columns('features')}, segments.segment_id "
            f"FROM {CUSTOMER_FEATURES_TABLE} AS features "
            f"JOIN {CUSTOMER_SEGMENTS_TABLE} AS segments USING (user_id) ORDER BY user_id"
        )

    def figure(self, key: str, draw: Callable[[], Plot]) -> str:
        """The HTML of the plot stored under metadata `key` this run, else of `draw()`."""
        plot = self.drawn.get(key) or draw()
        return plot.html()


def _model_body(inputs: ReportInputs) -> str:
    scored_by = inputs.warehouse.read_df(
        f"SELECT model_version, count(*) AS customers FROM {CUSTOMER_SEGMENTS_TABLE} "
        "GROUP BY ALL ORDER BY model_version"
    )
    return model_section(inputs.card, scored_by)


def _k_selection_body(inputs: ReportInputs) -> str:
    card = inputs.card
    k_table = pd.DataFrame(card["k_table"])
    return figure_section(
        [inputs.figure("k_selection_plot", lambda: k_selection_plot(k_table))],
        k_table.reindex(columns=K_TABLE_SHOWN),
        note=separation_sentence(card["separation"]) if "separation" in card else "",
    )


def _segment_bodies(inputs: ReportInputs) -> dict[str, str]:
    """Sizes, profile heatmap, projection, demographics, explanations and actions."""
    profiles = inputs.profiles
    return {
        "sizes": figure_section(
            [inputs.figure("sizes_plot", lambda: segment_sizes_plot(profiles))],
            profiles[SIZE_COLUMNS],
        ),
        "profile-heatmap": figure_section(
            [
                inputs.figure(
                    "profile_heatmap",
                    lambda: profile_heatmap_plot(standardised_differences(inputs.members)),
                )
            ],
            note="Each cell: (segment mean - all customers' mean) / all customers' std.",
        ),
        "projection": figure_section(
            [
                inputs.figure(
                    "projection_plot",
                    lambda: draw_projection(inputs.warehouse, inputs.model, inputs.card),
                )
            ]
        ),
        "demographics": figure_section(
            [
                inputs.figure(
                    "demographic_mix",
                    lambda: demographic_mix_plot(inputs.members, DEMOGRAPHIC_FEATURES),
                )
            ]
        ),
        "distinguishing-features": per_segment_lists(profiles, "distinguishing_features"),
        "recommended-actions": per_segment_lists(profiles, "recommended_actions"),
    }


def _stability_body(inputs: ReportInputs, payload: dict | None) -> str:
    if payload is None:
        return figure_section([], note="Not computed yet for this model version.")
    stability = Stability.from_json(payload)
    per_segment = stability.per_segment()
    verdict = "passes" if stability.stable else "fails"
    plot = inputs.figure(
        "stability_plot",
        lambda: stability_plot(per_segment, stability.ari, JACCARD_BAND_FLOORS),
    )
    return figure_section(
        [plot],
        per_segment,
        note=(
            f"Mean Jaccard {stability.mean_jaccard:.3f} ({jaccard_band(stability.mean_jaccard)}):"
            f" {verdict} (stable from {STABLE_MEAN_JACCARD}); mean adjusted Rand index "
            f"{sum(stability.ari) / len(stability.ari):.3f} over {stability.subsamples} refits "
            f"on {stability.fraction:.0%} of {stability.customers:,} customers."
        ),
    )


def _drift_body(inputs: ReportInputs) -> str:
    current, previous = read_scorings(inputs.warehouse)
    if previous is None:
        return figure_section([], note=FIRST_DAY)
    segments = measure_segment_drift(previous, current)
    features = measure_feature_drift(previous, current)
    plots = [
        inputs.figure("shares_plot", lambda: segment_drift_plot(segments.shares)),
        inputs.figure(
            "psi_plot", lambda: feature_drift_plot(features, PSI_MODERATE, PSI_SIGNIFICANT)
        ),
    ]
    return figure_section(
        plots,
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


def _migration_body(inputs: ReportInputs) -> str:
    migration = read_migration(inputs.warehouse)
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
        [inputs.figure("migration_heatmap", lambda: migration_heatmap_plot(matrices))],
        inputs.profiles[["segment_id", "segment_name", "migration_note"]],
        *[matrix.reset_index() for matrix in matrices.values()],
        note=f"Customers by segment before (rows) and now (columns). {spans}.",
    )


def write_report(page: str) -> Path:
    """Write then rename: a reader opening the report never sees half a page."""
    path = get_settings().reports_dir / REPORT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(page, encoding="utf-8")
    partial.replace(path)
    return path


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
    base64 PNG, so the file opens in any browser and can be mailed as is. The figures that
    earlier steps of the same run drew (their metadata plots) are reused, not drawn again.
    """
    started = time.perf_counter()
    model, card = model_store.load()
    profiles = warehouse.read_df(f"SELECT * FROM {SEGMENT_PROFILES_TABLE} ORDER BY segment_id")
    drawn = plots_drawn_this_run(context)
    inputs = ReportInputs(warehouse, model, card, profiles, drawn)
    with warehouse.connect() as con:
        data_key = stability_data_key(con)
    bodies = {
        "model": _model_body(inputs),
        "k-selection": _k_selection_body(inputs),
        **_segment_bodies(inputs),
        "stability": _stability_body(
            inputs, model_store.load_json(card["version"], stability_file(data_key))
        ),
        "drift": _drift_body(inputs),
        "migration": _migration_body(inputs),
    }
    customers = int(profiles["customers"].sum())
    page = render_report(
        bodies, f"Model {card['version']}, {customers:,} customers in {len(profiles)} segments"
    )
    path = write_report(page)
    context.log.info(f"Report written to {path}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "bytes": len(page.encode()),
            "images": page.count("data:image/png;base64,"),
            "images_reused": len(drawn),
            "sections": markdown_table(
                pd.DataFrame({"section": list(SECTIONS), "title": list(SECTIONS.values())}),
                max_rows=len(SECTIONS),
            ),
            "model_version": card["version"],
            "seconds": round(time.perf_counter() - started, 3),
        }
    )
