"""Stability belongs to the data it was measured on: a kept model is re-measured on new data,
and the figures of a (version, data) pair are reused when the same data is checked again."""

import dagster as dg
import duckdb

from segmentation_pipeline.definitions import defs
from segmentation_pipeline.defs.resources import ModelStore
from segmentation_pipeline.lib.model.stability_key import stability_file
from segmentation_pipeline.settings import Settings
from segmentation_pipeline_tests.support.runs import SHIFTED_DAY, land_shifted_day


def stability_check(instance: dg.DagsterInstance) -> dg.AssetCheckEvaluation:
    """Rebuild the features from what is loaded, keep the model, check its stability."""
    result = defs.resolve_job_def("segmentation_job").execute_in_process(
        instance=instance,
        asset_selection=[dg.AssetKey("customer_features"), dg.AssetKey("segmentation_model")],
    )
    assert result.success
    (model,) = result.asset_materializations_for_node("segmentation_model")
    assert model.metadata["refit"].value is False
    (evaluation,) = [
        e for e in result.get_asset_check_evaluations() if e.check_name == "segment_stability"
    ]
    return evaluation


def test_a_kept_model_is_measured_again_on_new_data(
    materialised: Settings, instance: dg.DagsterInstance
) -> None:
    store = ModelStore()
    version = store.current_version()

    # Same model, same data (a re-run): the figures measured at fit time are reused.
    again = stability_check(instance)
    fit_key = again.metadata["data_key"].value
    assert again.metadata["computed_this_run"].value is False
    assert fit_key.startswith("20251101-20251128-")

    # Same model, one more day of data: measured again, on today's customers, kept beside the
    # fit-time figures.
    land_shifted_day(materialised)
    ingest = defs.resolve_job_def("ingest_job").execute_in_process(
        instance=instance, partition_key=SHIFTED_DAY
    )
    assert ingest.success
    new_data = stability_check(instance)
    new_key = new_data.metadata["data_key"].value
    assert new_data.metadata["computed_this_run"].value is True
    assert new_key.startswith("20251101-20251129-") and new_key != fit_key
    assert new_data.metadata["model_version"].value == version == store.current_version()
    with duckdb.connect(str(materialised.warehouse_path), read_only=True) as con:
        (customers,) = con.execute("SELECT count(*) FROM marts.customer_features").fetchone()
    assert new_data.metadata["customers"].value == customers > again.metadata["customers"].value
    for key in (fit_key, new_key):
        assert store.load_json(version, stability_file(key)) is not None

    # Checked again on that same data: reused.
    assert stability_check(instance).metadata["computed_this_run"].value is False
