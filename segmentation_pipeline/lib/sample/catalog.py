"""The product catalog of the sample: ids, categories, popularity, and prices per category."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from segmentation_pipeline.lib.ingest.facts import apportion

# Products per category grow sublinearly with the category's transactions: big categories need
# many products (customers buy each product at most once), small ones still get a few, each
# selling dozens of times so that every product sells at scale 1.
PRODUCTS_EXPONENT = 0.75
# Popularity within a category: weight (rank + POPULARITY_OFFSET) ** -POPULARITY_EXPONENT, a
# Zipf-like skew whose top products sell ~1,500-1,900 times at scale 1, as in the real data.
POPULARITY_EXPONENT = 1.0
POPULARITY_OFFSET = 10.0
# Real ids look like P00069042: "P00", four digits, "42".
PRODUCT_ID_SLOTS = 10_000


@dataclass(frozen=True)
class Catalog:
    """Products grouped by category: category c owns products starts[c]:starts[c + 1]."""

    product_ids: tuple[str, ...]
    category_labels: tuple[str, ...]
    # Published share of transactions per category.
    category_share: np.ndarray
    starts: np.ndarray
    # Sampling weight of each product within its category.
    popularity: np.ndarray
    # Kumaraswamy price distribution per category on [price_min, price_min + price_span].
    price_min: np.ndarray
    price_span: np.ndarray
    price_a: np.ndarray
    price_b: np.ndarray

    @property
    def sizes(self) -> np.ndarray:
        """Products per category."""
        return np.diff(self.starts)

    @cached_property
    def category_of(self) -> np.ndarray:
        """Category code of each product."""
        return np.repeat(np.arange(len(self.category_labels)), self.sizes)

    @cached_property
    def product_category_labels(self) -> list[str]:
        """Product_Category value of each product, as written to the CSV."""
        return [self.category_labels[code] for code in self.category_of]

    def draw_purchases(self, product: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One Purchase amount per row, from the price distribution of the product's category.

        Uniforms are stratified per category within the call (each of a category's m rows gets
        one of m equal slices of [0, 1), in random order), so even rare categories hit their
        published mean closely; the amounts are still independent of the customer.
        """
        category = self.category_of[product]
        n_rows = len(product)
        order = np.lexsort((rng.random(n_rows), category))
        grouped = category[order]
        group_start = np.searchsorted(grouped, grouped, side="left")
        group_size = np.searchsorted(grouped, grouped, side="right") - group_start
        uniform = np.empty(n_rows)
        uniform[order] = (np.arange(n_rows) - group_start + rng.random(n_rows)) / group_size
        # Kumaraswamy quantile function: closed form, unlike the beta distribution's.
        a, b = self.price_a[category], self.price_b[category]
        unit = (1.0 - (1.0 - uniform) ** (1.0 / b)) ** (1.0 / a)
        return np.rint(self.price_min[category] + self.price_span[category] * unit).astype(np.int64)


def build_catalog(facts: dict, rng: np.random.Generator) -> Catalog:
    """Draw the catalog: how many products each category has, their ids and popularity."""
    category_txns = facts["txn_counts"]["Product_Category"]
    labels = tuple(category_txns)
    txns = np.array(list(category_txns.values()), dtype=float)
    sizes = apportion(txns**PRODUCTS_EXPONENT, facts["n_products"])
    starts = np.concatenate([[0], np.cumsum(sizes)])
    # Drawn in random order, so ids carry no information about category or popularity rank.
    slots = rng.choice(PRODUCT_ID_SLOTS, facts["n_products"], replace=False)
    popularity = np.concatenate(
        [(np.arange(size) + 1 + POPULARITY_OFFSET) ** -POPULARITY_EXPONENT for size in sizes]
    )
    prices = [facts["purchase_by_product_category"][label] for label in labels]
    price_min = np.array([price[3] for price in prices], dtype=float)
    price_span = np.array([price[5] for price in prices], dtype=float) - price_min
    shapes = [
        _kumaraswamy_shape((mean - low) / span, (std / span) ** 2)
        for (_, mean, std, *_), low, span in zip(prices, price_min, price_span, strict=True)
    ]
    return Catalog(
        product_ids=tuple(f"P00{slot:04d}42" for slot in slots),
        category_labels=labels,
        category_share=txns / txns.sum(),
        starts=starts,
        popularity=popularity,
        price_min=price_min,
        price_span=price_span,
        price_a=np.array([a for a, _ in shapes]),
        price_b=np.array([b for _, b in shapes]),
    )


def _kumaraswamy_moment(order: int, a: float, b: float) -> float:
    """E[X**order] of Kumaraswamy(a, b): b * B(1 + order / a, b)."""
    shifted = 1 + order / a
    return b * math.exp(math.lgamma(shifted) + math.lgamma(b) - math.lgamma(shifted + b))


def _kumaraswamy_shape(mean: float, variance: float) -> tuple[float, float]:
    """Shape (a, b) of the Kumaraswamy distribution on [0, 1] with this mean and variance.

    Nested bisection on log scale: for a given a the mean falls as b grows; along the curve of
    the right mean the variance falls as a grows.
    """

    def b_for(a: float) -> float:
        low, high = -20.0, 20.0
        for _ in range(60):
            mid = (low + high) / 2
            if _kumaraswamy_moment(1, a, math.exp(mid)) > mean:
                low = mid
            else:
                high = mid
        return math.exp(mid)

    low, high = -10.0, 10.0
    for _ in range(60):
        mid = (low + high) / 2
        a = math.exp(mid)
        b = b_for(a)
        if _kumaraswamy_moment(2, a, b) - _kumaraswamy_moment(1, a, b) ** 2 > variance:
            low = mid
        else:
            high = mid
    return a, b
