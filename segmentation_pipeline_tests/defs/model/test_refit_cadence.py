"""Refits on demand through real runs: versions kept with lineage, reused, listed, restored."""

import shutil
from dataclasses import replace

import dagster as dg
import duckdb
import pandas as pd
import pytest
from sklearn.base import clone

from segmentation_pipeline.cli import main
from segmentation_pipeline.definitions import defs
from segmentation_pipeline.defs.resources import ModelStore
from segmentation_pipeline.lib.features.sql import basket_column, category_share_column
from segmentation_pipeline.lib.model.spec import MODEL_FEATURES, MODEL_SPEC
from segmentation_pipeline.lib.model.stability_key import stability_file
from segmentation_pipeline.lib.model.training import SegmentationModel, model_inputs
from segmentation_pipeline.settings import PRODUCT_CATEGORIES, Settings
from segmentation_pipeline_tests.support.reports import assert_pngs, parse_report
from segmentation_pipeline_tests.support.runs import run_segmentation


def scored_by(settings: Settings) -> set[str]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        rows = con.execute("SELECT DISTINCT model_version FROM marts.customer_segments").fetchall()
    return {version for (version,) in rows}


def metadata(result: dg.ExecuteInProcessResult, node: str) -> dict:
    (materialization,) = result.asset_materializations_for_node(node)
    return {key: value.value for key, value in materialization.metadata.items()}


def test_refit_on_demand_then_reuse_list_and_restore(
    materialised: Settings, instance: dg.DagsterInstance, capsys: pytest.CaptureFixture
) -> None:
    store = ModelStore()
    first = store.load_card()

    refit = run_segmentation(instance, refit="always", random_state=7)
    second = store.load_card()
    model = metadata(refit, "segmentation_model")
    assert model["refit"] is True and model["refit_reason"] == "refit='always'"
    assert second["version"] != first["version"]
    assert scored_by(materialised) == {second["version"]}
    # The lineage accounts for every segment: kept ids come from the previous model.
    lineage = second["lineage"]
    assert lineage["previous_version"] == first["version"]
    current_ids = {int(segment) for segment in second["segment_names"]}
    kept = {int(segment) for segment in lineage["matched"]}
    assert current_ids == kept | set(lineage["new"])
    first_ids = {int(segment) for segment in first["segment_names"]}
    assert kept | set(lineage["retired"]) == first_ids
    assert min(lineage["new"], default=second["next_segment_id"]) >= first["next_segment_id"]
    for segment in kept:
        assert second["segment_names"][str(segment)] == first["segment_names"][str(segment)]
    assert f"Refitted from {first['version']}" in parse_report(materialised)["model"]["text"]
    # The new version's stability is computed in this run and kept beside it.
    (stability,) = [
        e for e in refit.get_asset_check_evaluations() if e.check_name == "segment_stability"
    ]
    assert stability.metadata["computed_this_run"].value is True
    data_key = stability.metadata["data_key"].value
    assert store.load_json(second["version"], stability_file(data_key)) is not None
    # The plots of the report are in the assets' metadata too.
    profiles = metadata(refit, "segment_profiles")
    assert_pngs(
        [
            model["k_selection_plot"],
            metadata(refit, "customer_segments")["projection_plot"],
            profiles["sizes_plot"],
            profiles["profile_heatmap"],
            profiles["demographic_mix"],
            stability.metadata["stability_plot"].value,
        ]
    )

    # The first model's data and settings again: that version is reused, not refitted.
    reused = run_segmentation(instance, ["segmentation_model", "customer_segments"], refit="always")
    assert metadata(reused, "segmentation_model")["refit"] is False
    assert store.current_version() == first["version"]
    assert scored_by(materialised) == {first["version"]}

    main(["model", "list"])
    listing = capsys.readouterr().out.splitlines()
    assert len(listing) == 3
    assert any(line.split()[:2] == ["*", first["version"]] for line in listing)
    main(["model", "restore", second["version"]])
    assert f"Current model: {second['version']} (was {first['version']})" in capsys.readouterr().out
    assert store.current_version() == second["version"]
    with pytest.raises(SystemExit, match="No model version 'nope'"):
        main(["model", "restore", "nope"])


def test_a_damaged_model_pointer_fails_the_run_once_and_keeps_the_marts(
    materialised: Settings, instance: dg.DagsterInstance
) -> None:
    """`current.json` naming a version that is gone: refitting in its place would silently
    change every segment, and retrying cannot repair it. The run fails at once, naming the
    file and the repair; the published marts stay as they were."""
    before = scored_by(materialised)
    (materialised.models_dir / "current.json").write_text('{"version": "20251128-gone"}')
    result = defs.resolve_job_def("segmentation_job").execute_in_process(
        instance=instance, raise_on_error=False
    )
    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    assert failure.step_key == "segmentation_model"
    assert "current.json names version 20251128-gone, which is not kept" in (
        failure.step_failure_data.user_failure_data.description
    )
    assert not [event for event in result.all_events if event.is_step_up_for_retry]
    assert scored_by(materialised) == before


def fitted_on_raw_shares(model: SegmentationModel, features: pd.DataFrame) -> SegmentationModel:
    """The model as the release before the basket prior fitted it: its basket block reads the
    raw spend shares (`spend_share_cat_*`), which the marts still hold."""
    raw = {basket_column(n): category_share_column(n) for n in PRODUCT_CATEGORIES}
    pipeline = clone(model.pipeline)
    blocks = [
        (name, transformer, [raw.get(column, column) for column in columns])
        for name, transformer, columns in model.pipeline["preprocess"].transformers
    ]
    pipeline.set_params(preprocess__transformers=blocks)
    pipeline.fit(model_inputs(features, [raw.get(column, column) for column in MODEL_FEATURES]))
    return replace(model, pipeline=pipeline)


def test_a_model_kept_from_a_release_with_other_columns_scores_then_hands_its_ids_over(
    materialised: Settings, instance: dg.DagsterInstance
) -> None:
    """Upgraded onto a model whose candidate columns were others: pinned, it still scores,
    explains and checks itself; refitted, the new model carries its segment ids over."""
    store = ModelStore()
    model, card = store.load()
    with duckdb.connect(str(materialised.warehouse_path), read_only=True) as con:
        features = con.execute("SELECT * FROM marts.customer_features ORDER BY user_id").df()
    old = fitted_on_raw_shares(model, features)
    # An upgraded store holds only the old release's model.
    shutil.rmtree(store.version_dir(card["version"]))
    old_version = f"{card['version']}-raw-shares"
    old_columns = list(old.pipeline.feature_names_in_)
    assert old_columns != list(MODEL_FEATURES)
    store.save(
        old_version,
        old,
        # The earlier release's card: other candidate columns, none of the later spec.
        {
            **{key: value for key, value in card.items() if key not in MODEL_SPEC},
            "version": old_version,
            "candidate_features": old_columns,
        },
    )

    pinned = run_segmentation(instance, refit="never")
    assert metadata(pinned, "segmentation_model")["refit"] is False
    assert scored_by(materialised) == {old_version}
    (stability,) = [
        e for e in pinned.get_asset_check_evaluations() if e.check_name == "segment_stability"
    ]
    assert stability.metadata["computed_this_run"].value is True
    assert_pngs([metadata(pinned, "customer_segments")["projection_plot"]])

    refit = run_segmentation(instance)
    model_metadata = metadata(refit, "segmentation_model")
    assert model_metadata["refit"] is True
    assert model_metadata["refit_reason"] == (
        "the model spec changed: basket_prior_transactions, candidate_features, "
        "family_weighting, family_weights"
    )
    new = store.load_card()
    assert new["candidate_features"] == list(MODEL_FEATURES)
    assert new["lineage"]["previous_version"] == old_version
    assert set(new["lineage"]["matched"]) == set(card["segment_names"])
