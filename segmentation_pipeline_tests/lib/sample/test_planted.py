"""The planted-truth generator, and small planted scenarios through the whole pipeline."""

from dataclasses import replace

import dagster as dg
import duckdb
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from segmentation_pipeline.cli import run_pipeline
from segmentation_pipeline.defs.resources import ModelStore
from segmentation_pipeline.lib.features.sql import customer_features_of
from segmentation_pipeline.lib.ingest.contract import ALLOWED_VALUES, INTEGER_RANGES
from segmentation_pipeline.lib.sample.planted import (
    FAMILIES,
    SCENARIOS,
    dated,
    planted_transactions,
    random_scenario,
    write_planted,
)
from segmentation_pipeline.settings import SOURCE_COLUMNS, Settings


def small(name: str) -> object:
    """The scenario with fewer customers and days: the whole pipeline in seconds."""
    return replace(SCENARIOS[name], customers=(400, 500), days=(3, 5))


def test_draws_respect_the_contract_and_plant_every_archetype() -> None:
    scenario = small("imbalanced_5")
    rows, truth = planted_transactions(scenario, seed=3)
    assert list(rows.columns) == [*SOURCE_COLUMNS, "day"]
    for column, allowed in ALLOWED_VALUES.items():
        assert set(rows[column].astype(str)) <= set(allowed), column
    for column, (low, high) in INTEGER_RANGES.items():
        assert rows[column].astype(int).between(low, high).all(), column
    assert rows["Product_ID"].str.fullmatch(r"P\d{8}").all()
    assert not rows.duplicated().any()
    assert truth["user_id"].is_unique and set(truth["user_id"]) == set(rows["User_ID"])
    assert truth["archetype"].nunique() == 5
    # The smallest archetype holds about its planted share of the customers.
    assert truth["archetype"].value_counts(normalize=True).min() == pytest.approx(0.04, abs=0.02)
    again, _ = planted_transactions(scenario, seed=3)
    pd.testing.assert_frame_equal(rows, again)


def test_random_scenarios_vary_and_plant_what_they_say() -> None:
    scenarios = [random_scenario(seed) for seed in range(100, 112)]
    assert random_scenario(100) == scenarios[0]
    assert len({s.archetypes for s in scenarios}) >= 4
    assert {s.basket_style for s in scenarios} == {"focused", "spread"}
    assert all(s.differ_in and set(s.differ_in) <= set(FAMILIES) for s in scenarios)
    spread = next(s for s in scenarios if s.basket_style == "spread")
    rows, truth = planted_transactions(replace(spread, customers=(300, 300), days=(2, 3)), seed=5)
    features = customer_features_of(dated(rows))
    assert truth["archetype"].nunique() == spread.archetypes
    assert set(features["user_id"]) == set(truth["user_id"])
    shares = features.filter(like="spend_share_cat_")
    assert shares.sum(axis=1).to_numpy() == pytest.approx(1.0)


# Small draws: 400-500 customers over 3-5 days. Over so few days, `separated_4`'s customers
# active on one or two days used to form a tail that K = 5 split off; active days are now
# scaled by the window (`lib/model/training.py`).
@pytest.mark.parametrize("name", ["separated_4", "basket_only_4"])
def test_planted_archetypes_are_found(
    name: str, data_dir: Settings, instance: dg.DagsterInstance
) -> None:
    # Seed 1, as `make bench-quality`.
    truth = pd.read_csv(write_planted(small(name), data_dir.data_dir, seed=1))
    assert all(result.success for result in run_pipeline(data_dir, instance))
    with duckdb.connect(str(data_dir.warehouse_path), read_only=True) as con:
        segments = con.execute("SELECT user_id, segment_id FROM marts.customer_segments").df()
    joined = truth.merge(segments, on="user_id")
    card = ModelStore().load_card()
    assert card["k"] == SCENARIOS[name].archetypes
    assert adjusted_rand_score(joined["archetype"], joined["segment_id"]) >= 0.9
    assert not card["separation"]["weak"]


def test_no_structure_is_flagged(data_dir: Settings, instance: dg.DagsterInstance) -> None:
    # Full size: on a few hundred customers one cloud can pass for weak structure (see README).
    write_planted(SCENARIOS["no_structure"], data_dir.data_dir, seed=1)
    assert all(result.success for result in run_pipeline(data_dir, instance))
    evaluation = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey("segmentation_model"), "segment_separation"), limit=1
    )[0].evaluation
    assert not evaluation.passed
    assert "weakly separated" in evaluation.description
