"""Choose the number of segments K from the data: gap statistic, segment size and silhouette
measured against structureless references.

On a seeded sample of customers, K-Means is fitted for K = 1 and each K of the range the data
can hold (at most its number of distinct customers), with the same seed and restarts. The gap
statistic compares each K's within-segment spread with the same K on structureless references
(uniform along the data's principal axes; Tibshirani, Walther and Hastie 2001): the *gap gain*
of K is gap(K) - gap(1), how much more K segments tighten customers than they would a cloud.

1. A K is *eligible* when
   - its smallest segment holds at least `min_segment_share` of the customers (a segment of a
     handful of people is not actionable; a planted archetype of 4% passes the default 2%);
   - its gap gain is above its standard error (an elongated cloud, e.g. customers spread along
     volume, otherwise lures the indices into cutting it in two, a split a uniform cloud offers
     just as well);
   - its gap gain exceeds that of the previous swept K by at least MIN_GAP_STEP: the extra
     segment separates customers that a reference would not (past the true number of groups,
     one more segment only cuts a group in two, and the gain stalls).
2. Among eligible K, the highest *silhouette gain* wins: the silhouette of K segments minus
   their mean silhouette on the same references. The raw silhouette favours small K on any
   data (halving a uniform cloud scores about 0.25, ten segments of it about 0.1), so two close
   groups merged at K - 1 often outscore the true K; measured against what K segments score on
   a cloud, that bias cancels. K within SILHOUETTE_TIE of the best gain count as ties and the
   largest of them wins (merging two close groups costs next to nothing).
3. Then K is raised while the finer partitions reproduce: walking up from that K, each larger K
   is fitted on one half of the customers and on the other, and its *prediction strength*
   (Tibshirani and Walther 2005: for the test half's segments, the smallest share of pairs of
   members that the training half's centroids keep together) is measured. While it stays at
   or above MIN_PREDICTION_STRENGTH, the walk goes on, and the largest eligible K passed wins.
   Two close groups score a higher silhouette merged, yet every half of the data splits them
   the same way; a cut through one group is placed differently by each half and stops the walk.
4. One cloud: when no K reaches a gap gain of MIN_GAP_GAIN, no K is natural; K is the knee of
   the inertia curve, which moves little from night to night (see `choose`), and the check
   `segment_separation` warns (`separation`).

Why this rule, by evidence (`benchmarks/k_rule_study.py`, the README gives the tables): on 96
planted data sets (every scenario of `lib/sample/planted.py` x 4 seeds, spread baskets with 3 and 6
archetypes, and 48 random scenarios: 2-9 archetypes differing in random families, spread or
focused baskets, 300-6,000 customers, imbalance, overlap), among the 59 whose truth K-Means can
recover at the true K, the eligibility filters with the raw silhouette found the true K in 45,
the previous median vote of silhouette, Calinski-Harabasz and Davies-Bouldin in 34, silhouette
alone 39, prediction strength (Tibshirani and Walther) 34-37, bootstrap stability thresholds
9-31, and the gap statistic's own 1-SE rule 12-18 (it stops at K = 1 when K = 2 splits nothing,
or runs on while groups are not uniform inside). Its misses on 144 draws it was not designed on
(68 of 102) were mostly two close archetypes merged, which the raw silhouette prefers; the
silhouette gain finds 46 of the 59 and 71 of the 102 (mean ARI 0.930 against 0.906), and on a
second generator written apart from the first (`benchmarks/independent_archetypes.py`) 42 of 57
against 37. Since active days are scaled by the window (`build_preprocessor`), which removed half
the overcounts, the tie of 0.01 (0.005 before) finds 52 of 59 and 86 of 109 held out (0.005: 49
and 82) and 44 of 62 on the second generator (0.005: 42).
Raising while the prediction strength stays at or above 0.95 then finds 54 of 59 and 88 of 109
held out, loses no draw either generator's rule found, and leaves the second generator at 44 of
62 (tried before active days were scaled by the window, it lost 4 draws by splitting a group
that every half cut the same way). Since the model's basket is pulled toward the average
customer's (`lib/features/sql.py`: a low-volume archetype was cut by which of its categories its
customers happened to buy), it finds 56 of 62 and 91 of 110 held out, and 46 of 63 on the
second generator; a gap step of 0.01 would find 4 more on the study but none on the second
generator, so it stays 0.02. Calinski-Harabasz and Davies-Bouldin stay in the per-K table as
cross-checks.

With one customer, or customers all alike, K is 1. Cost is bounded: the sweep runs on a seeded
sample of at most SWEEP_SAMPLE customers (the final model is then fitted on everyone at the
chosen K), and the gap statistic's references cost GAP_REFERENCES fits per K, with few restarts,
and, for the K the rule compares, a silhouette on REFERENCE_SILHOUETTE_SAMPLE of their points
(up to about 0.8 s per sweep); the prediction strength costs four fits on halves of the sample
per K the walk examines (none on one cloud).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

from segmentation_pipeline.lib.model.references import uniform_reference
from segmentation_pipeline.lib.model.spec import KMEANS_RESTARTS
from segmentation_pipeline.lib.model.training import build_preprocessor, kmeans, model_inputs

K_RULE = (
    "highest silhouette gain over uniform references (ties within 0.01: the largest K) among K "
    "whose smallest segment is actionable and whose gap gain beats its standard error and the "
    "previous K's by 0.02, then raised to the largest such K reached while every K on the way has "
    "a prediction strength of at least 0.95"
)
SWEEP_SAMPLE = 2000
SWEEP_RESTARTS = KMEANS_RESTARTS
GAP_REFERENCES = 5
REFERENCE_RESTARTS = 2
# Separation: some K must shrink the spread of customers by a factor at least exp(MIN_GAP_GAIN)
# more than on a uniform reference (see `separation`). On generated data one cloud reached
# at most 0.05 and planted archetypes, overlapping ones included, at least 0.10.
MIN_GAP_GAIN = 0.075
# Each eligible K must add this much gap gain to the previous swept K (see the docstring).
MIN_GAP_STEP = 0.02
SILHOUETTE_TIE = 0.01
# Raising K (rule 3): the prediction strength every K on the way must keep.
MIN_PREDICTION_STRENGTH = 0.95
PREDICTION_STRENGTH_SPLITS = 2
PREDICTION_STRENGTH_RESTARTS = 3
# Silhouettes of the references are computed on at most this many of their points.
REFERENCE_SILHOUETTE_SAMPLE = 1000
# Columns of each K > 1 in the per-K table: validity indices (the rule uses the silhouette's
# gain over the references; CH and DB are cross-checks).
VALIDITY_INDICES = (
    "calinski_harabasz",
    "davies_bouldin",
    "silhouette",
    "reference_silhouette",
    "silhouette_gain",
    "prediction_strength",
)


def feasible_k_limit(matrix: np.ndarray) -> int:
    """The largest K the data can hold: distinct customers, and one fewer than all customers
    (the validity indices need a segment with two members)."""
    distinct = len(np.unique(matrix.round(9), axis=0))
    return max(1, min(distinct, len(matrix) - 1))


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
    # No K to compare with K = 1 (customers too few or alike): no reference to draw.
    references = [
        uniform_reference(matrix, rng) for _ in range(GAP_REFERENCES if candidates else 0)
    ]
    sample_size = min(silhouette_sample, len(matrix))
    fits = {
        k: evidence_of(matrix, k, references, random_state, sample_size) for k in [1, *candidates]
    }
    rows = [row for row, _, _ in fits.values()]
    # K = 1 (and a table of K = 1 alone) has no validity indices: NaN in their columns.
    table = mark_eligible(
        pd.DataFrame(rows).reindex(columns=[*rows[0], *VALIDITY_INDICES]), min_segment_share
    )
    # Each reference silhouette costs O(points^2): only for the K the rule compares.
    if not one_cloud(table):
        for index, k in compared(table)["k"].items():
            table.loc[index, "reference_silhouette"] = reference_silhouette(
                references, fits[k][2], sample_size, random_state
            )
        table["silhouette_gain"] = table["silhouette"] - table["reference_silhouette"]
    table = choose(table)
    if not one_cloud(table):
        table = raise_while_reproducible(
            table, lambda k: prediction_strength(matrix, k, random_state)
        )
    table.attrs["k_limit"] = limit
    return table


def evidence_of(
    matrix: np.ndarray,
    k: int,
    references: list[np.ndarray],
    random_state: int,
    silhouette_sample: int,
) -> tuple[dict, np.ndarray, list[np.ndarray]]:
    """One row of the per-K table (gap statistic, segment sizes, validity indices for K > 1),
    the fit's labels and the labels of K segments fitted on each structureless reference."""
    fit = kmeans(k, random_state, SWEEP_RESTARTS).fit(matrix)
    counts = np.bincount(fit.labels_, minlength=k)
    reference_fits = [kmeans(k, random_state, REFERENCE_RESTARTS).fit(draw) for draw in references]
    reference_log_w = [np.log(fit_.inertia_) for fit_ in reference_fits] or [
        np.log(max(fit.inertia_, 1e-12))
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
                matrix, fit.labels_, sample_size=silhouette_sample, random_state=random_state
            )
        )
    return row, fit.labels_, [fit_.labels_ for fit_ in reference_fits]


def reference_silhouette(
    references: list[np.ndarray],
    reference_labels: list[np.ndarray],
    silhouette_sample: int,
    random_state: int,
) -> float:
    """What K segments score on a cloud with no groups: the mean silhouette of the segments
    fitted on each reference (on at most REFERENCE_SILHOUETTE_SAMPLE of its points)."""
    sample = min(REFERENCE_SILHOUETTE_SAMPLE, silhouette_sample)
    return float(
        np.mean(
            [
                silhouette_score(draw, labels, sample_size=sample, random_state=random_state)
                for draw, labels in zip(references, reference_labels, strict=True)
            ]
        )
    )


def mark_eligible(table: pd.DataFrame, min_segment_share: float) -> pd.DataFrame:
    """The eligibility columns of the per-K table (rule 1 of the module docstring)."""
    table = table.copy()
    table["actionable"] = (table["k"] > 1) & (table["smallest_segment_share"] >= min_segment_share)
    # A K whose segments fit no better than the same K on a structureless cloud splits nothing.
    table["beats_reference"] = table["gap"] - table["gap"].iloc[0] > table["gap_sd"]
    # Nor does one more segment whose gain over the previous K a reference would match.
    table["gap_step"] = table["gap"].diff()
    table["adds_structure"] = table["gap_step"] >= MIN_GAP_STEP
    table["eligible"] = table["actionable"] & table["beats_reference"] & table["adds_structure"]
    return table


def knee_scores(ks: np.ndarray, inertia: np.ndarray) -> np.ndarray:
    """Kneedle: each point's distance below the chord of the normalised inertia curve."""
    x = (ks - ks.min()) / max(ks.max() - ks.min(), 1)
    span = inertia.max() - inertia.min()
    y = (inertia - inertia.min()) / span if span > 0 else np.zeros_like(inertia)
    # Decreasing curve: the chord runs from (0, 1) to (1, 0), i.e. y = 1 - x.
    return (1 - x) - y


def one_cloud(table: pd.DataFrame) -> bool:
    """Whether no K reaches the separation threshold (rule 4 of the module docstring)."""
    gains = table["gap"] - table["gap"].iloc[0]
    return bool(table["actionable"].any() and gains[table["k"] > 1].max() < MIN_GAP_GAIN)


def compared(table: pd.DataFrame) -> pd.DataFrame:
    """The K whose silhouette gains the rule compares: the eligible ones; when none is, the
    actionable K that beat the reference, the actionable K, then any K > 1 (a few customers);
    none when customers are all alike."""
    return next(
        (
            table[mask]
            for mask in (
                table["eligible"],
                table["actionable"] & table["beats_reference"],
                table["actionable"],
            )
            if mask.any()
        ),
        table[table["k"] > 1],
    )


def choose(table: pd.DataFrame) -> pd.DataFrame:
    """Mark the chosen K (see the module docstring); K = 1 only when the data holds no other."""
    table = table.copy()
    table["knee"] = np.nan
    if one_cloud(table):
        # One cloud: no K is natural, and the indices' best K wanders with each night's
        # data. The knee of the inertia curve (diminishing returns of one more segment) moves
        # little as data accumulate, so the partition stays the same from night to night.
        actionable = table[table["actionable"]]
        knees = knee_scores(actionable["k"].to_numpy(float), actionable["inertia"].to_numpy(float))
        table.loc[actionable.index, "knee"] = knees
        table["chosen"] = table["k"] == int(actionable["k"].iloc[int(np.argmax(knees))])
        return table
    pool = compared(table)
    if pool.empty:
        table["chosen"] = table["k"] == 1
        return table
    best = pool["silhouette_gain"].max()
    ties = pool.loc[pool["silhouette_gain"] >= best - SILHOUETTE_TIE, "k"]
    table["silhouette_tie"] = table["k"].isin(ties)
    table["chosen"] = table["k"] == int(ties.max())
    return table


def prediction_strength(matrix: np.ndarray, k: int, random_state: int) -> float:
    """Tibshirani and Walther (2005): split the customers in two halves at random and fit K
    segments on each; for the test half's segments, the smallest share of pairs of members that
    the training half's centroids keep together. Mean over PREDICTION_STRENGTH_SPLITS splits.
    NaN when a half has fewer customers than K: not measured, so not shown to reproduce."""
    if k > len(matrix) // 2:
        return float("nan")
    rng = np.random.default_rng(random_state)
    strengths = []
    for _ in range(PREDICTION_STRENGTH_SPLITS):
        order = rng.permutation(len(matrix))
        train, test = matrix[order[::2]], matrix[order[1::2]]
        predicted = kmeans(k, random_state, PREDICTION_STRENGTH_RESTARTS).fit(train).predict(test)
        test_labels = kmeans(k, random_state, PREDICTION_STRENGTH_RESTARTS).fit_predict(test)
        worst = 1.0
        for segment in range(k):
            members = predicted[test_labels == segment]
            if len(members) < 2:
                continue
            together = np.bincount(members)
            pairs = len(members) * (len(members) - 1)
            worst = min(worst, float((together * (together - 1)).sum() / pairs))
        strengths.append(worst)
    return float(np.mean(strengths))


def raise_while_reproducible(
    table: pd.DataFrame,
    strength_of: Callable[[int], float],
    threshold: float = MIN_PREDICTION_STRENGTH,
) -> pd.DataFrame:
    """Rule 3 of the module docstring on a chosen table: walk up from the chosen K, recording
    each K's prediction strength (`strength_of`), until one falls below `threshold`; the largest
    eligible K passed is chosen (`raised` marks a change)."""
    table = table.copy()
    if "prediction_strength" not in table:
        table["prediction_strength"] = np.nan
    chosen = start = chosen_k(table)
    for index, row in table[table["k"] > start].iterrows():
        strength = strength_of(int(row["k"]))
        table.loc[index, "prediction_strength"] = strength
        if not strength >= threshold:  # NaN (not measurable) stops the walk too
            break
        if row["eligible"]:
            chosen = int(row["k"])
    table["raised"] = table["k"].eq(chosen) & (chosen != start)
    table["chosen"] = table["k"] == chosen
    return table


def chosen_k(table: pd.DataFrame, pinned: int | None = None) -> int:
    """The rule's K, or the pinned one within what the data can hold."""
    if pinned:
        return min(pinned, int(table.attrs.get("k_limit", pinned)))
    return int(table.loc[table["chosen"], "k"].iloc[0])


def separation(table: pd.DataFrame, k: int) -> dict:
    """Whether any swept K groups customers more tightly than a structureless reference.

    Gap gain of K: gap(K) - gap(1), how much more K segments shrink the within-segment spread
    (in log) than on uniform references of the same shape. Weak when the best gain over the
    swept K stays below MIN_GAP_GAIN: then the segments are a partition of one cloud.
    """
    by_k = table.set_index("k")
    gains = (by_k["gap"] - by_k.loc[1, "gap"]).drop(1)
    if gains.empty:
        return {
            "k": k,
            "gap_gain": None,
            "best_gap_gain": None,
            "silhouette": None,
            "threshold": MIN_GAP_GAIN,
            "weak": True,
            "reason": "a single segment: the customers are too few or too alike to split",
        }
    best = float(gains.max())
    at_k = float(gains[k]) if k in gains.index else None
    silhouette = float(by_k.loc[k, "silhouette"]) if k in by_k.index else None
    weak = best < MIN_GAP_GAIN
    return {
        "k": k,
        "gap_gain": None if at_k is None else round(at_k, 4),
        "best_gap_gain": round(best, 4),
        "best_gap_k": int(gains.idxmax()),
        "silhouette": None if silhouette is None else round(silhouette, 4),
        "threshold": MIN_GAP_GAIN,
        "weak": bool(weak),
        "reason": (
            f"best gap gain over a uniform reference {best:+.3f} at K={int(gains.idxmax())}, "
            f"{'below' if weak else 'at least'} {MIN_GAP_GAIN}"
            + ("" if at_k is None else f"; at the chosen K={k}: {at_k:+.3f}")
            + ("" if silhouette is None else f", silhouette {silhouette:.3f}")
        ),
    }
