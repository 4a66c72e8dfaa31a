"""How reproducible the segments are: Hennig's clusterboot with subsamples instead of bootstraps.

The model's K and pipeline are refitted on `subsamples` random subsets of `fraction` of the
customers (fixed seeds). On each subset:
- the adjusted Rand index (ARI) compares the refit's partition with the model's segments;
- each model segment's Jaccard similarity is its best overlap |A and B| / |A or B| with any
  refit cluster B, A being the segment's members in the subset.
A segment whose mean Jaccard is below 0.6 dissolves under resampling (unstable), from 0.75 it is
stable, from 0.85 highly stable (Hennig 2007, "Cluster-wise assessment of cluster stability").
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from segmentation_pipeline.lib.model.spec import (
    STABILITY_FRACTION,
    STABILITY_RESTARTS,
    STABILITY_SUBSAMPLES,
)

if TYPE_CHECKING:
    from segmentation_pipeline.lib.model.training import SegmentationModel

# Hennig's bands, lowest first: a mean Jaccard from this value up earns the label. The one
# place these thresholds live (checks, plots and the report read them from here).
JACCARD_BANDS: tuple[tuple[float, str], ...] = (
    (0.0, "unstable"),
    (0.6, "doubtful"),
    (0.75, "stable"),
    (0.85, "highly stable"),
)
# Where each band above the lowest starts, as the plots draw them.
JACCARD_BAND_FLOORS: tuple[float, ...] = tuple(low for low, _ in JACCARD_BANDS[1:])
# The check passes when the segments are stable on average.
STABLE_MEAN_JACCARD = dict((label, low) for low, label in JACCARD_BANDS)["stable"]


def jaccard_band(jaccard: float) -> str:
    return [label for low, label in JACCARD_BANDS if jaccard >= low][-1]


@dataclass(frozen=True)
class Stability:
    """Figures of one stability run, as stored next to the model (`stability.json`)."""

    k: int
    customers: int
    subsamples: int
    fraction: float
    restarts: int
    ari: list[float]
    # Segment id (as text, for JSON) -> Jaccard on each subsample.
    jaccard: dict[str, list[float]]
    seconds: float

    @property
    def mean_jaccard(self) -> float:
        return float(np.mean([np.mean(values) for values in self.jaccard.values()]))

    @property
    def stable(self) -> bool:
        return self.mean_jaccard >= STABLE_MEAN_JACCARD

    def per_segment(self) -> pd.DataFrame:
        """One row per segment: mean, lowest and highest Jaccard, and Hennig's band."""
        rows = [
            {
                "segment_id": int(segment),
                "mean_jaccard": float(np.mean(values)),
                "min_jaccard": float(np.min(values)),
                "max_jaccard": float(np.max(values)),
                "band": jaccard_band(float(np.mean(values))),
            }
            for segment, values in self.jaccard.items()
        ]
        return pd.DataFrame(rows).sort_values("segment_id", ignore_index=True)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, payload: dict) -> Stability:
        return cls(**payload)


def best_jaccard(reference: np.ndarray, labels: np.ndarray) -> dict[int, float]:
    """For each reference segment, its largest Jaccard similarity with any cluster of `labels`."""
    table = pd.crosstab(reference, labels)
    overlap = table.to_numpy(dtype=float)
    union = overlap.sum(axis=1, keepdims=True) + overlap.sum(axis=0, keepdims=True) - overlap
    return dict(zip(table.index.astype(int), (overlap / union).max(axis=1), strict=True))


def subsample_stability(
    features: pd.DataFrame,
    model: SegmentationModel,
    random_state: int,
    subsamples: int = STABILITY_SUBSAMPLES,
    fraction: float = STABILITY_FRACTION,
    restarts: int = STABILITY_RESTARTS,
) -> Stability:
    """Refit the model's pipeline on subsamples and compare each refit with the model."""
    # scikit-learn is imported here: the thresholds above are read without it.
    from sklearn.metrics import adjusted_rand_score
    from threadpoolctl import threadpool_limits

    from segmentation_pipeline.lib.model.training import refit_pipeline

    started = time.perf_counter()
    ordered = features.sort_values("user_id", kind="stable").reset_index(drop=True)
    reference, _ = model.assign(ordered)
    inputs = model.inputs(ordered)
    size = round(fraction * len(ordered))
    draws = [
        (seed, np.sort(np.random.default_rng(seed).choice(len(ordered), size, replace=False)))
        for seed in range(random_state, random_state + subsamples)
    ]

    def refit(draw: tuple[int, np.ndarray]) -> np.ndarray:
        seed, rows = draw
        # One OpenMP thread per fit (the limit is per thread): fits side by side on the cores
        # never spin waiting for each other, even on a busy machine.
        with threadpool_limits(limits=1, user_api="openmp"):
            return refit_pipeline(model, seed, restarts).fit_predict(inputs.iloc[rows])

    # The refits are independent: one per core at a time (K-Means releases the GIL); each keeps
    # its seed, so the figures do not depend on the number of cores.
    with ThreadPoolExecutor(max_workers=min(os.cpu_count() or 1, subsamples)) as pool:
        refits = list(pool.map(refit, draws))
    ari: list[float] = []
    jaccard: dict[int, list[float]] = {int(segment): [] for segment in np.unique(reference)}
    for (_, rows), labels in zip(draws, refits, strict=True):
        ari.append(float(adjusted_rand_score(reference[rows], labels)))
        best = best_jaccard(reference[rows], labels)
        for segment, values in jaccard.items():
            # A segment with no member in the subset cannot be recovered: it scores 0.
            values.append(float(best.get(segment, 0.0)))
    return Stability(
        k=model.k,
        customers=len(ordered),
        subsamples=subsamples,
        fraction=fraction,
        restarts=restarts,
        ari=ari,
        jaccard={str(segment): values for segment, values in jaccard.items()},
        seconds=round(time.perf_counter() - started, 3),
    )
