"""Whole materialisations of the real Definitions on the small sample, in a temporary data dir."""

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from segmentation_pipeline.cli import run_pipeline
from segmentation_pipeline.definitions import defs
from segmentation_pipeline.defs.automation import range_tags
from segmentation_pipeline.defs.resources import ModelStore
from segmentation_pipeline.lib.ingest.landing import landed_days
from segmentation_pipeline.settings import Settings


def table(settings: Settings, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql).df()


def data_lines(settings: Settings) -> int:
    return sum(
        len(path.read_text().splitlines()) - 1 for path in settings.landing_dir.glob("*.csv")
    )


def test_everything_materialises_with_consistent_counts(
    landed: Settings, instance: dg.DagsterInstance
) -> None:
    results = run_pipeline(landed, instance)
    assert all(result.success for result in results)
    settings = landed
    raw = table(
        settings, "SELECT count(*) AS n, count(DISTINCT User_ID) AS users FROM raw.transactions"
    )
    assert raw["n"][0] == data_lines(settings)
    customers = int(raw["users"][0])
    features = table(settings, "SELECT * FROM marts.customer_features")
    segments = table(settings, "SELECT * FROM marts.customer_segments")
    profiles = table(settings, "SELECT * FROM marts.segment_profiles ORDER BY segment_id")
    assert len(features) == features["user_id"].nunique() == customers
    assert len(segments) == segments["user_id"].nunique() == customers
    card = ModelStore().load_card()
    assert len(profiles) == card["k"] == segments["segment_id"].nunique()
    assert list(profiles["segment_id"]) == list(range(card["k"]))
    assert profiles["customers"].sum() == customers
    assert profiles["revenue_share"].sum() == pytest.approx(1)
    # Segment 0 is the highest-value segment, and names are readable and unique.
    assert profiles["avg_spend"].idxmax() == 0
    assert profiles["segment_name"].is_unique
    assert profiles["segment_name"].str.contains("buyers, ").all()
    assert profiles["recommended_actions"].map(len).min() >= 2
    assert (segments["model_version"] == card["version"]).all()
    assert (settings.models_dir / card["version"] / "model_card.json").exists()

    evaluations = instance.event_log_storage.get_asset_check_execution_history
    for asset, check in [
        ("raw_transactions", "raw_transactions_contract"),
        ("raw_transactions", "raw_transactions_accounting"),
        ("customer_features", "customer_features_contract"),
        ("customer_segments", "customer_segments_contract"),
    ]:
        history = evaluations(dg.AssetCheckKey(dg.AssetKey(asset), check), limit=1)
        assert history and history[0].evaluation.passed, check


def test_rerunning_a_day_changes_nothing(
    materialised: Settings, instance: dg.DagsterInstance
) -> None:
    fingerprint = "SELECT count(*) AS n, sum(hash(COLUMNS(*))) AS h FROM raw.transactions"
    before = table(materialised, fingerprint)
    day = landed_days(materialised.landing_dir)[3]
    result = defs.resolve_job_def("ingest_job").execute_in_process(
        instance=instance, partition_key=day
    )
    assert result.success
    pd.testing.assert_frame_equal(table(materialised, fingerprint), before)


def test_same_input_gives_the_same_segments(
    materialised: Settings, instance: dg.DagsterInstance
) -> None:
    query = "SELECT user_id, segment_id, segment_name, model_version FROM marts.customer_segments"
    first = table(materialised, query).sort_values("user_id", ignore_index=True)
    result = defs.resolve_job_def("segmentation_job").execute_in_process(instance=instance)
    assert result.success
    second = table(materialised, query).sort_values("user_id", ignore_index=True)
    pd.testing.assert_frame_equal(first, second)


def test_a_fresh_fit_of_the_same_data_is_the_same_model(
    materialised: Settings, materialised_template: Path, instance: dg.DagsterInstance
) -> None:
    """Refitting from scratch (no previous model) reproduces the model exactly: same version,
    centres, segment ids and names, so a nightly refit is deterministic."""
    query = "SELECT user_id, segment_id, segment_name FROM marts.customer_segments ORDER BY 1"
    first_segments = table(materialised, query)
    shutil.rmtree(materialised.models_dir)
    result = defs.resolve_job_def("segmentation_job").execute_in_process(instance=instance)
    assert result.success
    refit, refit_card = ModelStore().load()
    original, original_card = ModelStore(root=str(materialised_template / "models")).load()
    assert refit_card["version"] == original_card["version"]
    assert refit_card["segment_names"] == original_card["segment_names"]
    np.testing.assert_array_equal(
        refit.pipeline["kmeans"].cluster_centers_, original.pipeline["kmeans"].cluster_centers_
    )
    pd.testing.assert_frame_equal(table(materialised, query), first_segments)


def test_k_can_be_pinned_by_config(materialised: Settings, instance: dg.DagsterInstance) -> None:
    before = ModelStore().load_card()
    result = defs.resolve_job_def("segmentation_job").execute_in_process(
        instance=instance,
        run_config={"ops": {"segmentation_model": {"config": {"k": 3}}}},
    )
    assert result.success
    profiles = table(materialised, "SELECT segment_id FROM marts.segment_profiles")
    card = ModelStore().load_card()
    assert card["k"] == 3 == len(profiles)
    # A new K is a refit: its segments carry the ids of the previous segments they match.
    assert card["lineage"]["previous_version"] == before["version"]
    kept = {int(segment) for segment in card["lineage"]["matched"]}
    assert set(profiles["segment_id"]) == kept | set(card["lineage"]["new"])
    assert kept <= {int(segment) for segment in before["segment_names"]}


def test_a_range_of_days_is_one_run(landed: Settings, instance: dg.DagsterInstance) -> None:
    days = landed_days(landed.landing_dir)
    result = defs.resolve_job_def("ingest_job").execute_in_process(
        instance=instance,
        tags=range_tags(days[0], days[4]),
    )
    assert result.success
    loaded = table(landed, "SELECT DISTINCT transaction_date FROM raw.transactions")
    assert len(loaded) == 5
    materialised_days = {event.partition for event in result.get_asset_materialization_events()}
    assert materialised_days == set(days[:5])


def test_a_loaded_day_whose_file_was_removed_is_named_and_dropped_by_an_empty_file(
    materialised: Settings, instance: dg.DagsterInstance, capsys: pytest.CaptureFixture
) -> None:
    """A run loads the days that have a file; a day loaded earlier stays in the warehouse, so
    the run says so, and a header-only file for the day drops its rows."""
    day = landed_days(materialised.landing_dir)[-1]
    landing = materialised.landing_dir / f"{day}.csv"
    header = landing.read_text().splitlines()[0]
    landing.unlink()
    assert all(result.success for result in run_pipeline(materialised, instance))
    assert (
        f"segmentation: warning: 1 loaded day(s) no longer have a landing file and stay in the "
        f"segments: {day}. To drop a day, land it as a file holding only the header row."
    ) in capsys.readouterr().err

    landing.write_text(header + "\n")
    assert all(result.success for result in run_pipeline(materialised, instance))
    assert "no longer have a landing file" not in capsys.readouterr().err
    with duckdb.connect(str(materialised.warehouse_path), read_only=True) as con:
        rows = con.execute(
            "SELECT count(*) FROM raw.transactions WHERE transaction_date = ?", [day]
        ).fetchone()
    assert rows == (0,)
