"""What the model sees, kept free of scikit-learn so asset modules load fast.

Three families, each weighted so that none drowns the others whatever the number of columns:
- the basket: the spend share of every product category, pulled toward the average customer's
  basket by a few pseudo-transactions (`lib/features/sql.py`; constant columns, e.g. categories
  the retailer does not sell, are dropped when the model is fitted);
- behaviour: volume, ticket, breadth (log1p where heavy-tailed), frequency in days and recency
  (both bounded by the data window);
- demographics: one-hot indicators of every attribute that varies.
Every column is standardised (the basket is only centred: see `lib/model/training.py`) and each
family is scaled by 1/sqrt(its number of columns, or attributes), so that each family carries
the same total variance: 20 category shares do not outvote 6 behaviour figures.
"""

from segmentation_pipeline.lib.features.sql import BASKET_COLUMNS, BASKET_PRIOR_TRANSACTIONS

BASKET_FEATURES: tuple[str, ...] = BASKET_COLUMNS
# Heavy-tailed counts and amounts: log1p before scaling keeps the top buyers from owning a segment.
LOG_BEHAVIOUR_FEATURES: tuple[str, ...] = (
    "total_spend",  # volume
    "transactions",  # frequency
    "avg_ticket",  # ticket
    "distinct_categories",  # breadth
)
# Counts of days bounded by the data window: days with a purchase (frequency in days) and days
# from the customer's last purchase to the last day of data (recency). Scaled by the window, not
# by their spread (see `build_preprocessor`).
LINEAR_BEHAVIOUR_FEATURES: tuple[str, ...] = ("active_days", "days_since_last_purchase")
BEHAVIOUR_FEATURES: tuple[str, ...] = LOG_BEHAVIOUR_FEATURES + LINEAR_BEHAVIOUR_FEATURES
DEMOGRAPHIC_FEATURES: tuple[str, ...] = (
    "gender",
    "age",
    "occupation",
    "city_category",
    "stay_in_current_city_years",
    "marital_status",
)
# Every column the model may use; the fitted model's card lists those it did use.
MODEL_FEATURES: tuple[str, ...] = BASKET_FEATURES + BEHAVIOUR_FEATURES + DEMOGRAPHIC_FEATURES
# Relative weight of each family's total variance (1 = equal footing).
FAMILY_WEIGHTS: dict[str, float] = {"basket": 1.0, "behaviour": 1.0, "demographics": 1.0}
# "structure": FAMILY_WEIGHTS scaled by the cluster structure each family carries on its own
# (`lib/model/family_weights.py`); "equal": FAMILY_WEIGHTS as they are.
FAMILY_WEIGHTING = "equal"
KMEANS_RESTARTS = 10
# What the code decides about the model's inputs, recorded in every model card: a model fitted
# under another spec (an earlier release) is refitted, and the spec is part of a version's hash.
MODEL_SPEC: dict[str, object] = {
    "candidate_features": list(MODEL_FEATURES),
    "basket_prior_transactions": BASKET_PRIOR_TRANSACTIONS,
    "family_weights": dict(FAMILY_WEIGHTS),
    "family_weighting": FAMILY_WEIGHTING,
}

# Stability (Hennig's clusterboot): refit on STABILITY_SUBSAMPLES random subsamples of
# STABILITY_FRACTION of the customers, each with fewer K-Means restarts than the model (5 keeps a
# bad local optimum from passing for instability; 3 did not, on the sample) to bound the cost.
STABILITY_SUBSAMPLES = 20
STABILITY_FRACTION = 0.8
STABILITY_RESTARTS = 5
