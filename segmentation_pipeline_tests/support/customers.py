"""Synthetic customers with a known structure, and the pipelines fitted on them."""

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from segmentation_pipeline.lib.features.sql import BASKET_COLUMNS, CATEGORY_SHARE_COLUMNS
from segmentation_pipeline.lib.model.training import SegmentationModel


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
        # The model's basket as the raw shares: these customers skip the feature SQL's prior.
        frame[list(BASKET_COLUMNS)] = shares
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


CUSTOMERS = 600


def customers(seed: int, cities: tuple[str, ...] = ("A", "B", "C")) -> pd.DataFrame:
    """Customers with skewed counts, ratios, text and integer categories, in three groups."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 3, CUSTOMERS)
    return pd.DataFrame(
        {
            "user_id": np.arange(1, CUSTOMERS + 1, dtype="int64"),
            "orders": rng.poisson(3 + 20 * group) + 1,
            "spend": rng.lognormal(5 + group, 1.0).round(2),
            "share": rng.beta(1 + group, 3, CUSTOMERS),
            "ticket": rng.normal(100 * (group + 1), 15),
            "city": rng.choice(cities, CUSTOMERS),
            "married": rng.integers(0, 2, CUSTOMERS),
        }
    )


def generic_pipeline(k: int) -> Pipeline:
    """Every supported step: log1p + scaler, scaler without mean, without std, one-hot,
    passthrough, block weights."""
    return Pipeline(
        [
            (
                "preprocess",
                ColumnTransformer(
                    [
                        (
                            "counts",
                            make_pipeline(FunctionTransformer(np.log1p), StandardScaler()),
                            ["orders", "spend"],
                        ),
                        ("ratio", StandardScaler(with_mean=False), ["share"]),
                        ("ticket", StandardScaler(with_std=False), ["ticket"]),
                        ("raw", "passthrough", ["share"]),
                        ("demo", OneHotEncoder(handle_unknown="ignore"), ["city", "married"]),
                    ],
                    transformer_weights={"counts": 1.5, "ticket": 0.01, "demo": 0.4},
                ),
            ),
            ("kmeans", KMeans(n_clusters=k, n_init=3, random_state=0)),
        ]
    )


def sklearn_scores(model: SegmentationModel, inputs: pd.DataFrame) -> tuple[np.ndarray, ...]:
    distances = model.pipeline.transform(inputs)
    labels = distances.argmin(axis=1)
    segments = np.array([model.segment_of_label[int(label)] for label in labels])
    return segments, distances[np.arange(len(labels)), labels]
