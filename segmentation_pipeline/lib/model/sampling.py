"""The customers the model is fitted on: all of them up to a bound, else a seeded sample.

K-Means, the K sweep and the stability refits cost time (and memory) in proportion to the
customers they see, so past `FIT_SAMPLE_MAX_CUSTOMERS` the model is fitted on a sample; every
customer is still scored (in the engine, `lib/segments/scoring.py`). The sample is drawn in SQL by
ranking customers on md5(user_id, seed): deterministic for a seed, the same in any engine with
md5, independent of row order, and stable as customers come and go (a customer who stays keeps
its rank), so consecutive fits share most of their customers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from segmentation_pipeline.lib.warehouse import WarehouseAccess
from segmentation_pipeline.settings import CUSTOMER_FEATURES_TABLE

# Enough customers for K-Means to place 10 centroids and for segments of 2% to hold 1,000 each.
FIT_SAMPLE_MAX_CUSTOMERS = 50_000
SAMPLING_METHOD = "lowest md5(user_id || ':' || seed)"
# The K sweep and the stability refits fit K-Means many times (each K, each subsample, with
# restarts): they see the first SWEEP_MAX_CUSTOMERS of the fit sample (the same ranking, so a
# nested sample), which bounds their time at any scale. The sweep's silhouette already uses 3,000.
SWEEP_MAX_CUSTOMERS = 10_000


def sample_rank_sql(seed: int) -> str:
    """The SQL expression customers are ranked on: lowest first are sampled."""
    return f"md5(CAST(user_id AS VARCHAR) || ':{int(seed)}')"


def sampled_customers_sql(max_customers: int, seed: int, columns: str = "*") -> str:
    """At most `max_customers` rows of the feature table, the same ones for the same seed."""
    return (
        f"SELECT {columns} FROM {CUSTOMER_FEATURES_TABLE} "
        f"ORDER BY {sample_rank_sql(seed)}, user_id LIMIT {int(max_customers)}"
    )


@dataclass(frozen=True)
class FitSample:
    """The features the model is fitted on, and what they were drawn from."""

    features: pd.DataFrame
    customers: int  # in the feature table
    max_customers: int
    seed: int
    first_day: date  # the data window of all customers, not only the sampled ones
    last_day: date

    @property
    def sweep_features(self) -> pd.DataFrame:
        """The customers the K sweep and stability refits see (rows are in sample rank order)."""
        return self.features.head(SWEEP_MAX_CUSTOMERS)

    @property
    def sampled(self) -> bool:
        return len(self.features) < self.customers

    def card(self) -> dict[str, Any]:
        """What the model card records about the training customers."""
        return {
            "customers_total": self.customers,
            "customers_fitted": len(self.features),
            "customers_swept": len(self.sweep_features),
            "max_customers": self.max_customers,
            "sampled": self.sampled,
            "seed": self.seed,
            "method": SAMPLING_METHOD if self.sampled else "all customers",
        }


def read_fit_sample(warehouse: WarehouseAccess, max_customers: int, seed: int) -> FitSample:
    """The feature rows to fit on: all customers, or `max_customers` of them drawn by `seed`;
    in sample rank order either way."""
    with warehouse.connect() as con:
        customers, first_day, last_day = con.execute(
            f"SELECT count(*), min(first_purchase_date), max(last_purchase_date) "
            f"FROM {CUSTOMER_FEATURES_TABLE}"
        ).fetchone()
        features = con.execute(sampled_customers_sql(max_customers, seed)).df()
    return FitSample(
        features=features,
        customers=int(customers),
        max_customers=max_customers,
        seed=seed,
        first_day=pd.Timestamp(first_day).date(),
        last_day=pd.Timestamp(last_day).date(),
    )


def read_fit_sample_of(warehouse: WarehouseAccess, card: dict[str, Any]) -> FitSample:
    """The sample a model (its card) was fitted on, drawn again from today's features."""
    drawn = card.get("fit_sample") or {}
    return read_fit_sample(
        warehouse,
        int(drawn.get("max_customers", FIT_SAMPLE_MAX_CUSTOMERS)),
        int(drawn.get("seed", card["config"]["random_state"])),
    )
