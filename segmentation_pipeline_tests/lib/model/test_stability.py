"""Subsample stability: structureless noise fails, well-separated segments pass."""

import numpy as np
import pandas as pd
import pytest

from segmentation_pipeline.lib.features.sql import BASKET_COLUMNS
from segmentation_pipeline.lib.model.stability import (
    Stability,
    best_jaccard,
    jaccard_band,
    subsample_stability,
)
from segmentation_pipeline.lib.model.training import fit_model
from segmentation_pipeline_tests.support.customers import synthetic_customers


def noise_customers(size: int = 600, seed: int = 0) -> pd.DataFrame:
    """No structure at all: every behaviour drawn independently from one log-normal blob, the
    same demographics for everyone (a shared binary attribute would be real structure)."""
    rng = np.random.default_rng(seed)
    customers = pd.DataFrame(rng.dirichlet(np.ones(20), size), columns=list(BASKET_COLUMNS))
    for column in (
        "transactions",
        "total_spend",
        "avg_ticket",
        "distinct_products",
        "distinct_categories",
    ):
        customers[column] = np.exp(rng.normal(3, 1, size))
    # Days are bounded by the 28-day window.
    customers["active_days"] = rng.integers(1, 29, size)
    customers["user_id"] = np.arange(1, size + 1)
    customers["days_since_last_purchase"] = rng.integers(0, 28, size)
    customers["first_purchase_date"] = pd.Timestamp("2025-11-01")
    customers["last_purchase_date"] = pd.Timestamp("2025-11-28") - pd.to_timedelta(
        customers["days_since_last_purchase"], unit="D"
    )
    return customers.assign(
        gender="M",
        age="26-35",
        occupation=4,
        city_category="B",
        stay_in_current_city_years="1",
        marital_status="0",
    )


def stability_of(customers: pd.DataFrame, k: int) -> Stability:
    return subsample_stability(customers, fit_model(customers, k, 42), random_state=42)


def test_structureless_noise_is_unstable() -> None:
    stability = stability_of(noise_customers(), 4)
    assert not stability.stable
    assert stability.mean_jaccard < 0.75
    assert np.mean(stability.ari) < 0.6
    assert len(stability.ari) == 20 and stability.k == 4


def test_well_separated_segments_are_highly_stable() -> None:
    stability = stability_of(synthetic_customers(3), 3)
    assert stability.stable
    table = stability.per_segment()
    assert list(table["segment_id"]) == [0, 1, 2]
    assert (table["band"] == "highly stable").all()
    assert min(stability.ari) > 0.95
    # What is stored next to the model reads back the same.
    assert Stability.from_json(stability.to_json()) == stability


def test_jaccard_and_bands() -> None:
    reference = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    labels = np.array([5, 5, 5, 7, 7, 7, 7, 7])
    # Segment 0 = {0..3} best overlaps cluster 5 = {0..2}: 3 / 4; segment 1 = {4..7} vs
    # cluster 7 = {3..7}: 4 / 5.
    assert best_jaccard(reference, labels) == pytest.approx({0: 0.75, 1: 0.8})
    assert [jaccard_band(value) for value in (0.5, 0.6, 0.75, 0.85)] == [
        "unstable",
        "doubtful",
        "stable",
        "highly stable",
    ]
