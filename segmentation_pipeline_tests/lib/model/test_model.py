"""K selection and fitting on synthetic customers with a known structure."""

import numpy as np
import pytest

from segmentation_pipeline.lib.model.k_selection import chosen_k, separation, sweep_k
from segmentation_pipeline.lib.model.training import fit_model
from segmentation_pipeline_tests.support.customers import synthetic_customers


@pytest.mark.parametrize("groups", [3, 4])
def test_sweep_finds_the_planted_number_of_segments(groups: int) -> None:
    table = sweep_k(synthetic_customers(groups), range(2, 7), 42, 1000, 0.02)
    assert chosen_k(table) == groups
    assert list(table["k"]) == list(range(1, 7))  # K = 1: the baseline of the gap statistic
    assert table["chosen"].sum() == 1


def test_segments_too_small_to_act_on_are_not_eligible() -> None:
    table = sweep_k(synthetic_customers(3), range(2, 7), 42, 1000, min_segment_share=0.3)
    assert chosen_k(table) == 3
    assert not table.loc[table["k"] > 3, "eligible"].any()


def test_segment_zero_spends_most_and_fits_are_reproducible() -> None:
    customers = synthetic_customers(3)
    model = fit_model(customers, 3, random_state=42)
    segments, distances = model.assign(customers)
    mean_spend = customers.groupby(segments)["total_spend"].mean()
    assert list(mean_spend.sort_values(ascending=False).index) == [0, 1, 2]
    assert np.isfinite(distances).all() and (distances >= 0).all()

    shuffled = customers.sample(frac=1, random_state=1)
    again, _ = fit_model(shuffled, 3, random_state=42).assign(customers)
    assert (again == segments).all()


def test_identical_customers_make_one_segment_and_weak_separation() -> None:
    customers = synthetic_customers(1, per_group=1).loc[[0] * 12].reset_index(drop=True)
    customers["user_id"] = range(1, 13)
    table = sweep_k(customers, range(2, 7), 42, 1000, 0.02)
    assert chosen_k(table) == 1 and list(table["k"]) == [1]
    assert chosen_k(table, pinned=4) == 1
    assert separation(table, 1)["weak"]
    model = fit_model(customers, 1, random_state=42)
    segments, distances = model.assign(customers)
    assert (segments == 0).all() and np.allclose(distances, 0)


def test_planted_groups_are_clearly_separated_and_one_blob_is_not() -> None:
    groups = sweep_k(synthetic_customers(3), range(2, 7), 42, 1000, 0.02)
    assert not separation(groups, chosen_k(groups))["weak"]
    blob = sweep_k(synthetic_customers(1, per_group=400), range(2, 7), 42, 1000, 0.02)
    verdict = separation(blob, chosen_k(blob))
    assert verdict["weak"], verdict
