"""The K rule on planted draws (the product's feature SQL and preprocessing, no pipeline run)."""

import numpy as np
import pandas as pd
import pytest

from segmentation_pipeline.lib.features.sql import customer_features_of
from segmentation_pipeline.lib.model.k_selection import (
    MIN_GAP_STEP,
    MIN_PREDICTION_STRENGTH,
    SILHOUETTE_TIE,
    chosen_k,
    prediction_strength,
    raise_while_reproducible,
    sweep_k,
)
from segmentation_pipeline.lib.sample.planted import (
    SCENARIOS,
    Scenario,
    dated,
    planted_transactions,
    random_scenario,
)
from segmentation_pipeline.settings import MIN_SEGMENT_SHARE, RANDOM_STATE, SILHOUETTE_SAMPLE_SIZE


def sweep(name: str, seed: int) -> pd.DataFrame:
    return sweep_scenario(SCENARIOS[name], seed)


def sweep_random(seed: int) -> pd.DataFrame:
    """A draw of the K rule study's random scenarios (`benchmarks/k_rule_study.py`)."""
    return sweep_scenario(random_scenario(seed), seed)


def sweep_scenario(scenario: Scenario, seed: int) -> pd.DataFrame:
    rows, _ = planted_transactions(scenario, seed)
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
    # Random draw 174 (8 archetypes): K = 9 cuts an archetype in two, which scores a higher
    # silhouette than the truth but tightens customers no more than it would a structureless
    # reference.
    table = sweep_random(174).set_index("k")
    assert table.loc[9, "silhouette"] > table.loc[8, "silhouette"]
    assert table.loc[9, "gap_step"] < MIN_GAP_STEP and not table.loc[9, "eligible"]
    assert table.loc[8, "chosen"]


def test_silhouette_is_measured_against_the_references() -> None:
    # Seed 8 of `spread_basket_4`: merging two close archetypes scores a higher raw silhouette
    # (K = 3), but K segments of a structureless cloud score less as K grows, and measured
    # against them K = 4, the truth, wins.
    table = sweep("spread_basket_4", seed=8).set_index("k")
    assert table.loc[3, "silhouette"] > table.loc[4, "silhouette"]
    assert table.loc[3, "reference_silhouette"] > table.loc[4, "reference_silhouette"]
    gain = table["silhouette"] - table["reference_silhouette"]
    assert (table["silhouette_gain"] - gain).abs().max() < 1e-12
    assert table.loc[3, "eligible"] and table.loc[4, "eligible"]
    assert gain[4] > gain[3] and table.loc[4, "chosen"]


def test_active_days_do_not_split_a_low_volume_archetype() -> None:
    # Seed 4 of `separated_8`: over 5 days nearly every customer buys on each day, but some of
    # the low-volume archetype (about 13 purchases) on 3 or 4. Standardised like the other
    # counts, that tiny spread became a gap K-Means split the archetype along (K = 9); scaled by
    # the window, it stays whole.
    assert chosen_k(sweep("separated_8", seed=4)) == 8


def test_a_low_volume_archetype_is_not_split_by_the_few_baskets_it_bought() -> None:
    # Random draw 167 (7 archetypes, 4-6 purchases per customer): one archetype buys about twice
    # each, mostly from category 2 or 11. On raw spend shares K-Means cut it by which of the two
    # its customers happened to buy (K = 8); pulled toward the average basket by the prior, a
    # basket of two purchases is mostly prior, and the archetype stays whole.
    assert chosen_k(sweep_random(167)) == 7


def test_close_archetypes_that_every_half_separates_are_kept_apart() -> None:
    # Seed 11 of `separated_4`: two archetypes differ mostly in basket. Merged (K = 3) they
    # score a higher silhouette gain than apart, but K = 4 is eligible and every half of the
    # customers splits them the same way, so K is raised to the truth; K = 5 cuts an archetype,
    # which the halves do not reproduce.
    table = sweep("separated_4", seed=11).set_index("k")
    assert table.loc[3, "silhouette_gain"] > table.loc[4, "silhouette_gain"] + SILHOUETTE_TIE
    assert table.loc[4, "eligible"]
    assert table.loc[4, "prediction_strength"] >= MIN_PREDICTION_STRENGTH
    assert table.loc[5, "prediction_strength"] < MIN_PREDICTION_STRENGTH
    assert table.loc[4, "chosen"] and table.loc[4, "raised"]


def test_the_walk_passes_ineligible_k_and_stops_at_the_first_unreproducible_one() -> None:
    table = pd.DataFrame(
        {
            "k": [1, 2, 3, 4, 5, 6],
            "eligible": [False, True, True, False, True, True],
            "chosen": [False, True, False, False, False, False],
        }
    )
    strengths = {3: 0.99, 4: 0.97, 5: 0.96, 6: 0.5}
    asked: list[int] = []

    def strength_of(k: int) -> float:
        asked.append(k)
        return strengths[k]

    walked = raise_while_reproducible(table, strength_of)
    assert chosen_k(walked) == 5 and asked == [3, 4, 5, 6]
    assert walked.set_index("k")["raised"].to_dict() == {k: k == 5 for k in range(1, 7)}
    strengths[4] = MIN_PREDICTION_STRENGTH - 0.01
    assert chosen_k(raise_while_reproducible(table, strengths.__getitem__)) == 3
    # A K the halves cannot hold is not measured, and stops the walk like a weak one.
    seven_customers = np.arange(14, dtype=float).reshape(7, 2)
    strengths[4] = prediction_strength(seven_customers, 4, random_state=0)
    assert np.isnan(strengths[4])
    assert chosen_k(raise_while_reproducible(table, strengths.__getitem__)) == 3
