"""K selection and fitting on synthetic customers with a known structure."""

import numpy as np
import pandas as pd
import pytest

from segmentation_pipeline.features.sql import CATEGORY_SHARE_COLUMNS
from segmentation_pipeline.model.k_selection import chosen_k, separation, sweep_k
from segmentation_pipeline.model.training import fit_model


def synthetic_customers(groups: int, per_group: int = 150, seed: int = 0) -> pd.DataFrame:
    """`groups` well-separated behaviour profiles (frequency x ticket), demographics at random."""
    rng = np.random.default_rng(seed)
    frames = []
    for group in range(groups):
        size = per_group
        transactions = np.exp(rng.normal(2 + 1.5 * group, 0.1, size)).round() + 6
        ticket = rng.normal(4000 + 3000 * group, 300, size)
        shares = rng.dirichlet(np.full(20, 0.2) + 40 * np.eye(20)[[0, 4, 7, 1][group]], size)
        frame = pd.DataFrame(shares, columns=list(CATEGORY_SHARE_COLUMNS))
        frame["transactions"] = transactions
        frame["avg_ticket"] = ticket
        frame["total_spend"] = transactions * ticket
        frame["distinct_products"] = transactions
        frame["active_days"] = np.minimum(transactions, 28)
        frame["distinct_categories"] = 3 + group
        frame["days_since_last_purchase"] = rng.integers(0, 5, size)
        frame["first_purchase_date"] = pd.Timestamp("2025-11-01")
        frame["last_purchase_date"] = pd.Timestamp("2025-11-28") - pd.to_timedelta(
            frame["days_since_last_purchase"], unit="D"
        )
        frames.append(frame)
    customers = pd.concat(frames, ignore_index=True)
    customers["user_id"] = np.arange(1, len(customers) + 1)
    customers["gender"] = rng.choice(["F", "M"], len(customers))
    customers["age"] = rng.choice(["18-25", "26-35", "36-45"], len(customers))
    customers["city_category"] = rng.choice(["A", "B", "C"], len(customers))
    customers["marital_status"] = rng.choice(["0", "1"], len(customers))
    customers["occupation"] = rng.integers(0, 21, len(customers))
    customers["stay_in_current_city_years"] = rng.choice(["0", "1", "4+"], len(customers))
    return customers


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
