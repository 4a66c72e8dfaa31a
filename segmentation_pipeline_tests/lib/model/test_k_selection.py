"""The K rule on planted draws (the product's feature SQL and preprocessing, no pipeline run)."""

import pytest

from segmentation_pipeline.lib.features.sql import customer_features_of
from segmentation_pipeline.lib.model.k_selection import MIN_GAP_STEP, chosen_k, sweep_k
from segmentation_pipeline.lib.sample.planted import SCENARIOS, dated, planted_transactions
from segmentation_pipeline.settings import MIN_SEGMENT_SHARE, RANDOM_STATE, SILHOUETTE_SAMPLE_SIZE


def sweep(name: str, seed: int):
    rows, _ = planted_transactions(SCENARIOS[name], seed)
    return sweep_k(
        customer_features_of(dated(rows)),
        range(2, 11),
        RANDOM_STATE,
        SILHOUETTE_SAMPLE_SIZE,
        MIN_SEGMENT_SHARE,
    )


# Draws the previous rule (median vote of silhouette, Calinski-Harabasz, Davies-Bouldin) got
# wrong: it merged the 4% archetype (K = 4), and two demographic archetypes (K = 3).
@pytest.mark.parametrize("name", ["imbalanced_5", "demographics_volume_only_4"])
def test_rule_finds_archetypes_the_median_vote_merged(name: str) -> None:
    table = sweep(name, seed=2)
    assert chosen_k(table) == SCENARIOS[name].archetypes
    chosen = table.loc[table["chosen"]].iloc[0]
    assert chosen["eligible"] and chosen["silhouette_tie"]


def test_one_more_segment_must_add_structure_to_be_eligible() -> None:
    # Seed 4 of `separated_3`: a 3% tail of one archetype (few purchases, not on the last day)
    # splits off at K = 4 with a slightly higher silhouette but almost no gain over a reference.
    table = sweep("separated_3", seed=4).set_index("k")
    assert table.loc[4, "silhouette"] > table.loc[3, "silhouette"]
    assert table.loc[4, "gap_step"] < MIN_GAP_STEP and not table.loc[4, "eligible"]
    assert table.loc[3, "chosen"]
