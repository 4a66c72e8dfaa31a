"""The bounded, seeded fit sample: drawn in SQL, recorded in the card, every customer scored."""

import dagster as dg
import duckdb

from segmentation_pipeline.defs.resources import ModelStore, Warehouse
from segmentation_pipeline.lib.model.sampling import read_fit_sample
from segmentation_pipeline.settings import Settings
from segmentation_pipeline_tests.support.runs import run_segmentation


def test_sample_is_bounded_deterministic_and_keeps_the_full_data_window(
    materialised: Settings,
) -> None:
    warehouse = Warehouse()
    with duckdb.connect(str(materialised.warehouse_path), read_only=True) as con:
        customers, first_day, last_day = con.execute(
            "SELECT count(*), min(first_purchase_date), max(last_purchase_date) "
            "FROM marts.customer_features"
        ).fetchone()
    bound = customers // 3

    sample = read_fit_sample(warehouse, bound, seed=42)
    again = read_fit_sample(warehouse, bound, seed=42)
    other_seed = read_fit_sample(warehouse, bound, seed=43)
    everyone = read_fit_sample(warehouse, customers + 1, seed=42)

    assert len(sample.features) == bound and sample.sampled
    assert sample.features["user_id"].tolist() == again.features["user_id"].tolist()
    # Nested: a smaller bound draws the first customers of a larger one.
    smaller = read_fit_sample(warehouse, bound // 2, seed=42)
    assert (
        smaller.features["user_id"].tolist() == sample.features["user_id"].head(bound // 2).tolist()
    )
    assert set(sample.features["user_id"]) != set(other_seed.features["user_id"])
    assert (sample.first_day, sample.last_day) == (first_day, last_day)
    assert not everyone.sampled and len(everyone.features) == customers
    assert sample.card() == {
        "customers_total": customers,
        "customers_fitted": bound,
        "customers_swept": bound,
        "max_customers": bound,
        "sampled": True,
        "seed": 42,
        "method": "lowest md5(user_id || ':' || seed)",
    }


def test_a_model_fitted_on_a_sample_scores_every_customer(
    materialised: Settings, instance: dg.DagsterInstance
) -> None:
    run_segmentation(instance, refit="always", max_fit_customers=40, k=3)

    card = ModelStore().load_card()
    assert card["fit_sample"]["sampled"] is True
    assert card["fit_sample"]["customers_fitted"] == 40
    assert card["fit_sample"]["seed"] == card["config"]["random_state"]
    assert card["rows"] == 40
    with duckdb.connect(str(materialised.warehouse_path), read_only=True) as con:
        featurised, segmented, versions = con.execute(
            "SELECT (SELECT count(*) FROM marts.customer_features), count(*), "
            "count(DISTINCT model_version) FROM marts.customer_segments"
        ).fetchone()
    assert segmented == featurised == card["fit_sample"]["customers_total"] > 40
    assert versions == 1
