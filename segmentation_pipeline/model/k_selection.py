"""Choose the number of segments K from the data, by a rule that combines evidence.

Silhouette, Calinski-Harabasz and Davies-Bouldin all favour the coarsest split whenever one
segment lies far from the rest (on the Black Friday data all three peak at K=2), while the
inertia curve says how many segments the data supports. So each K in the range is fitted with
the same seed and restarts, and:

1. A K is *eligible* only if its smallest segment holds at least `min_segment_share` of the
   customers: a segment of a handful of people is not actionable.
2. The *elbow region* is the eligible K whose knee score (Kneedle: normalised distance below the
   chord joining the first and last K of the inertia curve) is within ELBOW_TOLERANCE of the
   sharpest elbow: the numbers of segments the inertia curve supports.
3. Within the elbow region, the chosen K has the best mean of Calinski-Harabasz (higher is
   better), Davies-Bouldin (lower is better) and silhouette on a fixed sample of customers
   (higher is better), each min-max scaled over the eligible K to 0 (worst) .. 1 (best).
   Ties go to the smaller K, the simpler story.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

from segmentation_pipeline.model.training import build_preprocessor, kmeans, model_inputs

SEPARATION_BETTER_HIGH: dict[str, bool] = {
    "calinski_harabasz": True,
    "davies_bouldin": False,
    "silhouette": True,
}
# K whose knee score reaches this fraction of the best knee score are in the elbow region.
ELBOW_TOLERANCE = 0.9


def knee_scores(ks: np.ndarray, inertia: np.ndarray) -> np.ndarray:
    """Kneedle distance of each point below the chord of the normalised inertia curve."""
    x = (ks - ks.min()) / max(ks.max() - ks.min(), 1)
    span = inertia.max() - inertia.min()
    y = (inertia - inertia.min()) / span if span > 0 else np.zeros_like(inertia)
    # Decreasing curve: the chord runs from (0, 1) to (1, 0), i.e. y = 1 - x.
    return (1 - x) - y


def sweep_k(
    features: pd.DataFrame,
    k_values: range,
    random_state: int,
    silhouette_sample: int,
    min_segment_share: float,
) -> pd.DataFrame:
    """Fit K-Means for every K and return one row of evidence per K, with the chosen one marked."""
    ordered = features.sort_values("user_id", kind="stable").reset_index(drop=True)
    matrix = build_preprocessor().fit_transform(model_inputs(ordered))
    sample_size = min(silhouette_sample, len(matrix))
    rows = []
    for k in k_values:
        labels = kmeans(k, random_state).fit(matrix)
        counts = np.bincount(labels.labels_, minlength=k)
        rows.append(
            {
                "k": k,
                "inertia": float(labels.inertia_),
                "calinski_harabasz": float(calinski_harabasz_score(matrix, labels.labels_)),
                "davies_bouldin": float(davies_bouldin_score(matrix, labels.labels_)),
                "silhouette": float(
                    silhouette_score(
                        matrix, labels.labels_, sample_size=sample_size, random_state=random_state
                    )
                ),
                "smallest_segment_share": float(counts.min() / len(matrix)),
            }
        )
    table = pd.DataFrame(rows)
    table["knee"] = knee_scores(table["k"].to_numpy(float), table["inertia"].to_numpy(float))
    table["eligible"] = table["smallest_segment_share"] >= min_segment_share
    eligible = table[table["eligible"]] if table["eligible"].any() else table
    table["elbow_region"] = table.index.isin(eligible.index) & (
        table["knee"] >= ELBOW_TOLERANCE * eligible["knee"].max()
    )
    scores = pd.DataFrame(
        {
            f"score_{name}": _scaled(eligible[name], higher)
            for name, higher in SEPARATION_BETTER_HIGH.items()
        }
    )
    table = table.join(scores)
    table["separation_score"] = scores.mean(axis=1)
    best = table[table["elbow_region"]].sort_values(
        ["separation_score", "k"], ascending=[False, True]
    )
    table["chosen"] = table["k"] == best["k"].iloc[0]
    return table


def _scaled(values: pd.Series, higher_is_better: bool) -> pd.Series:
    """Min-max scale to 0 (worst) .. 1 (best); a criterion that does not vary scores 1 for all."""
    span = values.max() - values.min()
    if span == 0:
        return pd.Series(1.0, index=values.index)
    scaled = (values - values.min()) / span
    return scaled if higher_is_better else 1 - scaled


def chosen_k(table: pd.DataFrame) -> int:
    return int(table.loc[table["chosen"], "k"].iloc[0])
