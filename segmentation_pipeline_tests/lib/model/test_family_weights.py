"""Family weights by each family's own structure, on planted draws (no pipeline run)."""

import pytest

from segmentation_pipeline.lib.features.sql import customer_features_of
from segmentation_pipeline.lib.model.family_weights import (
    STRUCTURE_FLOOR,
    UNSTRUCTURED_MULTIPLIER,
    structure_multipliers,
)
from segmentation_pipeline.lib.model.training import build_preprocessor
from segmentation_pipeline.lib.sample.planted import SCENARIOS, dated, planted_transactions


def preprocessor_of(name: str, seed: int):
    rows, _ = planted_transactions(SCENARIOS[name], seed)
    return build_preprocessor(customer_features_of(dated(rows)), weighting="structure")


def test_families_the_archetypes_do_not_differ_in_are_weighted_down() -> None:
    # Archetypes differ only in their basket: behaviour and demographics carry no structure.
    structure = preprocessor_of("basket_only_4", seed=2).family_structure
    gains, multipliers = structure["gap_gain"], structure["variance_multiplier"]
    assert gains["basket"] >= STRUCTURE_FLOOR
    assert gains["behaviour"] < STRUCTURE_FLOOR and gains["demographics"] < STRUCTURE_FLOOR
    assert multipliers["behaviour"] == multipliers["demographics"]
    assert multipliers["behaviour"] / multipliers["basket"] == pytest.approx(
        UNSTRUCTURED_MULTIPLIER, abs=1e-3
    )


def test_one_cloud_keeps_equal_weights() -> None:
    structure = preprocessor_of("no_structure", seed=2).family_structure
    assert max(structure["gap_gain"].values()) < STRUCTURE_FLOOR
    assert set(structure["variance_multiplier"].values()) == {1.0}


def test_multipliers_keep_the_total_variance_and_never_drop_a_family() -> None:
    multipliers = structure_multipliers({"basket": 0.8, "behaviour": 0.2, "demographics": 0.01})
    assert sum(multipliers.values()) == pytest.approx(3)
    assert multipliers["demographics"] == pytest.approx(
        UNSTRUCTURED_MULTIPLIER * multipliers["basket"]
    )
    assert structure_multipliers({"basket": 0.3, "behaviour": 0.2}) == {
        "basket": 1.0,
        "behaviour": 1.0,
    }
