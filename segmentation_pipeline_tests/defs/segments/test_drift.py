"""Drift between scorings: PSI arithmetic, and the WARN checks on real runs."""

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from segmentation_pipeline.definitions import defs
from segmentation_pipeline.defs.resources import ModelStore
from segmentation_pipeline.lib.ingest.landing import landed_days
from segmentation_pipeline.lib.segments.drift import binned_psi, psi, psi_band
from segmentation_pipeline.settings import Settings
from segmentation_pipeline_tests.support.reports import assert_pngs, parse_report
from segmentation_pipeline_tests.support.runs import (
    NEW_CUSTOMER_OFFSET,
    SHIFTED_DAY,
    land_shifted_day,
)


def test_psi() -> None:
    assert psi(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == 0
    # (0.6 - 0.5) ln(0.6 / 0.5) + (0.4 - 0.5) ln(0.4 / 0.5)
    assert psi(np.array([0.5, 0.5]), np.array([0.6, 0.4])) == pytest.approx(0.0405, abs=1e-4)
    # An empty bin is floored instead of making PSI infinite.
    assert np.isfinite(psi(np.array([1.0, 0.0]), np.array([0.5, 0.5])))
    values = pd.Series(np.random.default_rng(0).lognormal(8, 1, 5000))
    assert binned_psi(values, values) == 0
    assert binned_psi(values, values * 1.02) < 0.1
    assert binned_psi(values, values * 3) > 0.25
    assert [psi_band(value) for value in (0.05, 0.1, 0.25, 0.3)] == [
        "stable",
        "moderate",
        "moderate",
        "significant",
    ]


def history(settings: Settings, day: str) -> pd.DataFrame:
    """One data day's rows of the segment history."""
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(
            "SELECT * FROM marts.segment_history WHERE as_of_day = ? ORDER BY user_id", [day]
        ).df()


def checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {
        evaluation.check_name: evaluation for evaluation in result.get_asset_check_evaluations()
    }


def test_a_shifted_day_is_scored_with_the_kept_model_and_warns(
    materialised: Settings, instance: dg.DagsterInstance
) -> None:
    model_version = ModelStore().current_version()
    land_shifted_day(materialised)
    ingest = defs.resolve_job_def("ingest_job").execute_in_process(
        instance=instance, partition_key=SHIFTED_DAY
    )
    assert ingest.success
    segmentation = defs.resolve_job_def("segmentation_job")
    shifted = segmentation.execute_in_process(instance=instance)
    assert shifted.success

    # One day newer than the model: "auto" keeps it and scores everyone with it.
    (model,) = shifted.asset_materializations_for_node("segmentation_model")
    assert model.metadata["refit"].value is False
    assert ModelStore().current_version() == model_version
    with duckdb.connect(str(materialised.warehouse_path), read_only=True) as con:
        scored = con.execute("SELECT * FROM marts.customer_segments").df()
        customers = con.execute("SELECT count(*) FROM marts.customer_features").fetchone()[0]
    assert len(scored) == customers
    assert (scored["user_id"] > NEW_CUSTOMER_OFFSET).sum() > 0
    assert (scored["model_version"] == model_version).all()
    (segments,) = shifted.asset_materializations_for_node("customer_segments")
    assert segments.metadata["as_of_day"].value == SHIFTED_DAY
    assert segments.metadata["history_days"].value == 2

    evaluations = checks(shifted)
    feature_drift = evaluations["feature_drift"]
    assert not feature_drift.passed
    assert feature_drift.severity == dg.AssetCheckSeverity.WARN
    assert feature_drift.metadata["max_psi"].value > 0.25
    assert "avg_ticket" in feature_drift.metadata["features_drifted"].value
    segment_drift = evaluations["segment_drift"]
    assert (
        segment_drift.metadata["new_customers"].value
        == (scored["user_id"] > NEW_CUSTOMER_OFFSET).sum()
    )
    assert segment_drift.metadata["customers_compared"].value > 0
    assert_pngs(
        [
            segment_drift.metadata["shares_plot"].value,
            feature_drift.metadata["psi_plot"].value,
        ]
    )

    # The report compares the two scorings too: shares and PSI figures.
    drift = parse_report(materialised)["drift"]
    assert len(drift["images"]) == 2
    assert_pngs(drift["images"])
    assert f"{segment_drift.metadata['changed_segment_share'].value:.1%} of" in drift["text"]

    # Scoring the same day again (a retry, a manual re-run), twice: that day's scoring is
    # replaced, the previous day's is kept, and drift still compares with it.
    previous_day = segment_drift.metadata["previous_day"].value
    assert segment_drift.metadata["current_day"].value == SHIFTED_DAY
    assert previous_day == landed_days(materialised.landing_dir)[-2]
    kept = history(materialised, previous_day)
    for _ in range(2):
        again = segmentation.execute_in_process(
            instance=instance, asset_selection=[dg.AssetKey("customer_segments")]
        )
        assert again.success
        evaluations = checks(again)
        for check, figure in [
            ("segment_drift", "customers_changed_segment"),
            ("segment_drift", "segment_share_psi"),
            ("feature_drift", "max_psi"),
            ("feature_drift", "previous_day"),
        ]:
            expected = (segment_drift if check == "segment_drift" else feature_drift).metadata
            assert evaluations[check].metadata[figure].value == expected[figure].value, figure
        assert not evaluations["feature_drift"].passed
    pd.testing.assert_frame_equal(history(materialised, previous_day), kept)
    rescored = history(materialised, SHIFTED_DAY)
    assert len(rescored) == len(scored) and rescored["user_id"].is_unique
    assert rescored["scored_at"].nunique() == 1
    assert rescored["scored_at"].iloc[0] > kept["scored_at"].iloc[0]
