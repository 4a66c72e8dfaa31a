"""The drift checks on `customer_segments`; the PSI arithmetic is lib/segments/drift.py."""

import dagster as dg
import pandas as pd

from segmentation_pipeline.defs.metadata import markdown_table, plot_metadata
from segmentation_pipeline.defs.resources import Warehouse
from segmentation_pipeline.defs.segments.assets import customer_segments
from segmentation_pipeline.lib.plots import feature_drift_plot, segment_drift_plot
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
from segmentation_pipeline.settings import WAREHOUSE_POOL


def _first_day(current: pd.DataFrame) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=True,
        severity=dg.AssetCheckSeverity.WARN,
        description=FIRST_DAY,
        metadata={"customers": len(current), "current_day": scoring_day(current)},
    )


# Blocking only orders these checks before the downstream assets; a WARN never stops a run.
@dg.asset_check(
    asset=customer_segments,
    blocking=True,
    pool=WAREHOUSE_POOL,
    description=f"WARN when segment shares drift (PSI > {PSI_SIGNIFICANT}) or > "
    f"{CHANGED_SEGMENT_LIMIT:.0%} of customers change segment since the previous data day.",
)
def segment_drift(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Compare the latest scoring's segments with the previous data day's."""
    current, previous = read_scorings(warehouse)
    if previous is None:
        return _first_day(current)
    drift = measure_segment_drift(previous, current)
    return dg.AssetCheckResult(
        passed=not drift.drifted,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"{drift.current_day} vs {drift.previous_day}: "
            f"segment-share PSI {drift.psi:.3f} ({psi_band(drift.psi)}), "
            f"{drift.changed_share:.1%} of {drift.customers_compared} customers changed segment "
            f"(warn above PSI {PSI_SIGNIFICANT} or {CHANGED_SEGMENT_LIMIT:.0%})"
        ),
        metadata={
            "segment_share_psi": drift.psi,
            "psi_band": psi_band(drift.psi),
            "changed_segment_share": drift.changed_share,
            "customers_compared": drift.customers_compared,
            "customers_changed_segment": drift.customers_changed,
            "new_customers": drift.new_customers,
            "gone_customers": drift.gone_customers,
            "current_day": drift.current_day,
            "previous_day": drift.previous_day,
            "previous_model_version": drift.previous_version,
            "current_model_version": drift.current_version,
            "shares": markdown_table(drift.shares, max_rows=len(drift.shares)),
            "shares_plot": plot_metadata(segment_drift_plot(drift.shares)),
        },
    )


@dg.asset_check(
    asset=customer_segments,
    blocking=True,
    pool=WAREHOUSE_POOL,
    description=f"WARN when a key feature's distribution drifts (PSI > {PSI_SIGNIFICANT}) since "
    "the previous data day.",
)
def feature_drift(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Compare the distribution of the key features customers were scored on with the previous
    data day's."""
    current, previous = read_scorings(warehouse)
    if previous is None:
        return _first_day(current)
    table = measure_feature_drift(previous, current)
    drifted = table.loc[table["psi"] > PSI_SIGNIFICANT, "feature"].tolist()
    days = f"{scoring_day(current)} vs {scoring_day(previous)}"
    return dg.AssetCheckResult(
        passed=not drifted,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"{days}: significant drift (PSI > {PSI_SIGNIFICANT}) in {', '.join(drifted)}"
            if drifted
            else f"{days}: no feature drifted significantly (largest PSI {table['psi'].max():.3f})"
        ),
        metadata={
            "current_day": scoring_day(current),
            "previous_day": scoring_day(previous),
            "max_psi": float(table["psi"].max()),
            "features_drifted": drifted,
            "psi": markdown_table(table, max_rows=len(table)),
            "psi_plot": plot_metadata(feature_drift_plot(table, PSI_MODERATE, PSI_SIGNIFICANT)),
        },
    )
