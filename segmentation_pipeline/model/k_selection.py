"""Choose the number of segments K from the data, by a rule that combines evidence.

RULE_PLACEHOLDER

Cost is bounded: the sweep runs on a seeded sample of at most SWEEP_SAMPLE customers (the final
model is then fitted on everyone at the chosen K), and the gap statistic's reference costs
GAP_REFERENCES extra fits per K, with fewer restarts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

from segmentation_pipeline.model.training import build_preprocessor, kmeans, model_inputs

K_RULE = "mean of scaled CH, DB, silhouette among eligible K"
SWEEP_SAMPLE = 2000
SWEEP_RESTARTS = 4
GAP_REFERENCES = 5
REFERENCE_RESTARTS = 2
# Separation: the segments must reduce the spread of customers by a factor at least
# exp(MIN_GAP_GAIN) more than the same K does on a uniform reference (see `separation`).
MIN_GAP_GAIN = 0.1
SEPARATION_BETTER_HIGH: dict[str, bool] = {
    "calinski_harabasz": True,
    "davies_bouldin": False,
    "silhouette": True,
}


def feasible_k_limit(matrix: np.ndarray) -> int:
    """The largest K the data can hold: distinct customers, and one fewer than all customers
    (the validity indices need a segment with two members)."""
    distinct = len(np.unique(matrix.round(9), axis=0))
    return max(1, min(distinct, len(matrix) - 1))


def uniform_reference(matrix: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A structureless cloud like the data: uniform along the data's principal axes, with the
    same variance along each axis (Tibshirani, Walther and Hastie 2001, reference (b))."""
    centre = matrix.mean(axis=0)
    _, _, axes = np.linalg.svd(matrix - centre, full_matrices=False)
    spread = ((matrix - centre) @ axes.T).std(axis=0)
    # A uniform on [-sqrt(3) s, sqrt(3) s] has standard deviation s.
    draws = rng.uniform(-np.sqrt(3), np.sqrt(3), (len(matrix), len(spread))) * spread
    return draws @ axes + centre


def sweep_k(
    features: pd.DataFrame,
    k_values: range,
    random_state: int,
    silhouette_sample: int,
    min_segment_share: float,
) -> pd.DataFrame:
    """Fit K-Means for K = 1 and every K of `k_values` the data can hold; one row of evidence
    per K (K = 1 is the baseline of the gap statistic), with the chosen one marked."""
    ordered = features.sort_values("user_id", kind="stable").reset_index(drop=True)
    matrix = build_preprocessor(ordered).fit_transform(model_inputs(ordered))
    rng = np.random.default_rng(random_state)
    if len(matrix) > SWEEP_SAMPLE:
        matrix = matrix[np.sort(rng.choice(len(matrix), SWEEP_SAMPLE, replace=False))]
    limit = feasible_k_limit(matrix)
    candidates = [k for k in k_values if 2 <= k <= limit] or ([min(limit, 2)] if limit >= 2 else [])
    references = [uniform_reference(matrix, rng) for _ in range(GAP_REFERENCES)]
    sample_size = min(silhouette_sample, len(matrix))
    rows = []
    for k in [1, *candidates]:
        fit = kmeans(k, random_state, SWEEP_RESTARTS).fit(matrix)
        counts = np.bincount(fit.labels_, minlength=k)
        reference_log_w = [
            np.log(kmeans(k, random_state, REFERENCE_RESTARTS).fit(draw).inertia_)
            for draw in references
        ]
        row = {
            "k": k,
            "inertia": float(fit.inertia_),
            "gap": float(np.mean(reference_log_w) - np.log(max(fit.inertia_, 1e-12))),
            "gap_sd": float(np.std(reference_log_w) * np.sqrt(1 + 1 / GAP_REFERENCES)),
            "smallest_segment_share": float(counts.min() / len(matrix)),
        }
        if k > 1:
            row["calinski_harabasz"] = float(calinski_harabasz_score(matrix, fit.labels_))
            row["davies_bouldin"] = float(davies_bouldin_score(matrix, fit.labels_))
            row["silhouette"] = float(
                silhouette_score(
                    matrix, fit.labels_, sample_size=sample_size, random_state=random_state
                )
            )
        rows.append(row)
    # K = 1 (and a table of K = 1 alone) has no validity indices: NaN in their columns.
    table = pd.DataFrame(rows).reindex(columns=[*rows[0], *SEPARATION_BETTER_HIGH])
    table["eligible"] = (table["k"] > 1) & (table["smallest_segment_share"] >= min_segment_share)
    table = choose(table)
    table.attrs["k_limit"] = limit
    return table


def choose(table: pd.DataFrame) -> pd.DataFrame:
    """Mark the chosen K (see the module docstring); K = 1 only when the data holds no other."""
    table = table.copy()
    eligible = table[table["eligible"]] if table["eligible"].any() else table[table["k"] > 1]
    if eligible.empty:
        table["chosen"] = table["k"] == 1
        return table
    scores = pd.DataFrame(
        {
            f"score_{name}": _scaled(eligible[name], higher)
            for name, higher in SEPARATION_BETTER_HIGH.items()
        }
    )
    table = table.join(scores)
    table["separation_score"] = scores.mean(axis=1)
    best = table.loc[eligible.index].sort_values(["separation_score", "k"], ascending=[False, True])
    table["chosen"] = table["k"] == best["k"].iloc[0]
    return table


def _scaled(values: pd.Series, higher_is_better: bool) -> pd.Series:
    """Min-max scale to 0 (worst) .. 1 (best); a criterion that does not vary scores 1 for all."""
    span = values.max() - values.min()
    if span == 0:
        return pd.Series(1.0, index=values.index)
    scaled = (values - values.min()) / span
    return scaled if higher_is_better else 1 - scaled


def chosen_k(table: pd.DataFrame, pinned: int | None = None) -> int:
    """The rule's K, or the pinned one within what the data can hold."""
    if pinned:
        return min(pinned, int(table.attrs.get("k_limit", pinned)))
    return int(table.loc[table["chosen"], "k"].iloc[0])


def separation(table: pd.DataFrame, k: int) -> dict:
    """How much better K segments fit than on a structureless reference, and the verdict."""
    by_k = table.set_index("k")
    if k == 1 or k not in by_k.index:
        reason = "a single segment" if k == 1 else f"K={k} was not swept"
        return {
            "k": k,
            "gap_gain": None,
            "gap_sd": None,
            "silhouette": None,
            "threshold": MIN_GAP_GAIN,
            "weak": True,
            "reason": reason,
        }
    gain = float(by_k.loc[k, "gap"] - by_k.loc[1, "gap"])
    silhouette = float(by_k.loc[k, "silhouette"])
    weak = gain < MIN_GAP_GAIN
    return {
        "k": k,
        "gap_gain": round(gain, 4),
        "gap_sd": round(float(by_k.loc[k, "gap_sd"]), 4),
        "silhouette": round(silhouette, 4),
        "threshold": MIN_GAP_GAIN,
        "weak": bool(weak),
        "reason": (
            f"gap statistic at K={k} is {gain:+.3f} above K=1 against a structureless uniform "
            f"reference ({'below' if weak else 'at least'} {MIN_GAP_GAIN}); silhouette "
            f"{silhouette:.3f}"
        ),
    }
