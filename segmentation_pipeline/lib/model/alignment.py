"""Stable segment identity across refits: carry segment ids and names over to the new model.

A refit gives K-Means labels in arbitrary order, so the new segments are matched to the
previous model's in one common space, the previous model's: the new model's training customers
are transformed with the previous preprocessor and averaged per new cluster, and those centroids
are compared with the previous K-Means centres (Euclidean distance).

1. The Hungarian assignment (`scipy.optimize.linear_sum_assignment`) pairs new and previous
   segments so that the total centroid distance is smallest.
2. A pair is a match only if the new centroid lies within MATCH_RADIUS times the distance from
   the previous centre to its nearest neighbouring previous centre, i.e. well inside the
   territory of that previous segment. A matched segment keeps the previous id and name.
3. A new segment without a match is truly new: it gets the next id never used before (in order
   of average spend) and a fresh name. A previous segment without a match is retired; its id is
   not reused.

The very first model has no previous one: its ids follow value (0 = highest average spend).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from segmentation_pipeline.lib.model.training import SegmentationModel

# Half the gap to the nearest other previous centre: beyond it, the new centroid is nearer the
# boundary with another segment than the segment it would inherit from.
MATCH_RADIUS = 0.5


@dataclass(frozen=True)
class Alignment:
    """How a model's segments relate to the previous version's (its card's `lineage`)."""

    previous_version: str | None
    # Kept segment id -> (distance its centroid moved, the largest distance allowed).
    matched: dict[int, tuple[float, float]]
    new: list[int]
    retired: list[int]
    next_segment_id: int

    def card(self) -> dict[str, Any]:
        return {
            "previous_version": self.previous_version,
            "matched": {
                str(segment): {"moved": round(moved, 4), "limit": round(limit, 4)}
                for segment, (moved, limit) in sorted(self.matched.items())
            },
            "new": self.new,
            "retired": self.retired,
            "match_radius": MATCH_RADIUS,
        }


def first_alignment(model: SegmentationModel) -> Alignment:
    """A first model: every segment is new, ids as `fit_model` ranked them."""
    return Alignment(
        previous_version=None,
        matched={},
        new=sorted(model.segment_of_label.values()),
        retired=[],
        next_segment_id=model.k,
    )


def centres_in_space_of(
    previous: SegmentationModel, features: pd.DataFrame, labels: np.ndarray, k: int
) -> np.ndarray:
    """Mean position of each of the k clusters' customers in the previous model's space."""
    points = previous.pipeline["preprocess"].transform(previous.inputs(features))
    return np.vstack([points[labels == label].mean(axis=0) for label in range(k)])


def align_to_previous(
    model: SegmentationModel,
    features: pd.DataFrame,
    previous: SegmentationModel,
    previous_card: dict[str, Any],
) -> tuple[SegmentationModel, Alignment]:
    """`model` with its segment ids carried over from `previous` where the segments match."""
    labels = model.pipeline.predict(model.inputs(features))
    new_centres = centres_in_space_of(previous, features, labels, model.k)
    previous_centres = previous.pipeline["kmeans"].cluster_centers_
    previous_ids = [previous.segment_of_label[label] for label in range(previous.k)]
    distances = np.linalg.norm(new_centres[:, None, :] - previous_centres[None, :, :], axis=2)
    gaps = np.linalg.norm(previous_centres[:, None, :] - previous_centres[None, :, :], axis=2)
    np.fill_diagonal(gaps, np.inf)
    limits = MATCH_RADIUS * gaps.min(axis=1)

    segment_of_label: dict[int, int] = {}
    matched: dict[int, tuple[float, float]] = {}
    for label, column in zip(*linear_sum_assignment(distances), strict=True):
        if distances[label, column] <= limits[column]:
            segment = previous_ids[column]
            segment_of_label[int(label)] = segment
            matched[segment] = (float(distances[label, column]), float(limits[column]))
    next_id = int(previous_card.get("next_segment_id", max(previous_ids) + 1))
    # Unmatched labels in `fit_model`'s value order: a new segment's id says when it appeared.
    unmatched = sorted(
        (label for label in range(model.k) if label not in segment_of_label),
        key=model.segment_of_label.__getitem__,
    )
    for offset, label in enumerate(unmatched):
        segment_of_label[label] = next_id + offset
    alignment = Alignment(
        previous_version=previous_card["version"],
        matched=matched,
        new=list(range(next_id, next_id + len(unmatched))),
        retired=sorted(set(previous_ids) - set(matched)),
        next_segment_id=next_id + len(unmatched),
    )
    return replace(model, segment_of_label=segment_of_label), alignment


def carry_over_names(
    fresh: dict[int, str], previous_names: dict[str, str], alignment: Alignment
) -> dict[int, str]:
    """Matched segments keep their previous name; new ones take their fresh name, told apart
    by id when it reads like a kept one."""
    names = {segment: previous_names[str(segment)] for segment in alignment.matched}
    kept = set(names.values())
    for segment in alignment.new:
        name = fresh[segment]
        names[segment] = f"{name} (segment {segment})" if name in kept else name
    return dict(sorted(names.items()))
