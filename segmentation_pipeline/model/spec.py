"""What the model sees, kept free of scikit-learn so asset modules load fast.

Behaviour drives the segments and demographics shape them: behavioural features are
log-transformed where skewed and standardised; demographics are one-hot encoded and weighted
down so that a binary attribute cannot split customers on its own.
"""

from segmentation_pipeline.features.sql import category_share_column

# Heavy-tailed counts and amounts: log1p before scaling keeps the top buyers from owning a segment.
LOG_FEATURES: tuple[str, ...] = ("transactions", "total_spend", "distinct_products", "active_days")
LINEAR_FEATURES: tuple[str, ...] = (
    "avg_ticket",
    "distinct_categories",
    # The three categories that carry most of the spend describe a customer's basket.
    category_share_column(1),
    category_share_column(5),
    category_share_column(8),
)
DEMOGRAPHIC_FEATURES: tuple[str, ...] = ("gender", "age", "city_category", "marital_status")
DEMOGRAPHIC_WEIGHT = 0.5
MODEL_FEATURES: tuple[str, ...] = LOG_FEATURES + LINEAR_FEATURES + DEMOGRAPHIC_FEATURES
KMEANS_RESTARTS = 10

# Stability (Hennig's clusterboot): refit on STABILITY_SUBSAMPLES random subsamples of
# STABILITY_FRACTION of the customers, each with fewer K-Means restarts than the model (5 keeps a
# bad local optimum from passing for instability; 3 did not, on the sample) to bound the cost.
STABILITY_SUBSAMPLES = 20
STABILITY_FRACTION = 0.8
STABILITY_RESTARTS = 5
