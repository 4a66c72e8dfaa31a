"""Choose the number of segments K from the data, by a rule that combines evidence.

Silhouette alone favours the coarsest split whenever one segment lies far from the rest, so no
single index decides. For each K in the range (same seed, same restarts):

1. A K is *eligible* only if its smallest segment holds at least `min_segment_share` of the
   customers: a segment of a handful of people is not actionable.
2. Four criteria score the eligible K, each min-max scaled over them to 0 (worst) .. 1 (best):
   - the knee of the inertia curve (Kneedle: normalised distance below the chord joining the
     first and last K; larger is a sharper elbow),
   - Calinski-Harabasz (higher is better),
   - Davies-Bouldin (lower is better),
   - silhouette on a fixed random sample of customers (higher is better).
3. The chosen K has the highest mean scaled score; ties go to the smaller K, the simpler story.
   Scaled scores, not ranks, so that a near-tie on one index cannot outvote a clear elbow.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

from segmentation_pipeline.model.training import build_preprocessor, kmeans, model_inputs

CRITERIA_BETTER_HIGH: dict[str, bool] = {
    "knee": True,
    "calinski_harabasz": True,
    "davies_bouldin": False,
    "silhouette": True,
}


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
    scores = pd.DataFrame(
        {
            f"score_{name}": _scaled(eligible[name], higher)
            for name, higher in CRITERIA_BETTER_HIGH.items()
        }
    )
    table = table.join(scores)
    table["score"] = scores.mean(axis=1)
    best = table.dropna(subset=["score"]).sort_values(["score", "k"], ascending=[False, True])
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
