"""Weight each family of features by the cluster structure it carries on its own.

With every family at the same total variance, a family in which the customer groups do not
differ (e.g. demographics drawn alike for every group) still holds a third of the distance
between customers and blurs the groups the other families separate. So each family's share is
set from the data: on a seeded sample of customers, K-Means is fitted on the family's columns
alone for K = 1..K_MAX, and the family's *structure* is its best gap gain, gap(K) - gap(1),
against structureless references of that family (`lib/model/references.py`):
- basket and behaviour: uniform along the family's principal axes (an elongated cloud, e.g.
  spend, transactions and active days moving together, is not structure);
- demographics: each attribute shuffled over customers independently (a one-hot attribute is
  always clumped on its lattice; what is structure is attributes that go together, as in a
  group of young single students).
A family whose structure stays below STRUCTURE_FLOOR (the product's separation threshold) gets
a quarter of the variance of the others: it is never dropped, and when no family carries
structure (one cloud), or every family does, the weights stay equal. (Weights proportional to
the structure were tried and lost: the gap gain of a family is no measure of how much it
tells groups apart, e.g. spread baskets gain little on their own yet separate the groups.)
The weights are constants per family, so the fitted pipeline stays per-column affine
(SQL-expressible); the model card lists them with each family's structure.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer

from segmentation_pipeline.lib.model.references import permutation_reference, uniform_reference
from segmentation_pipeline.settings import K_MAX, RANDOM_STATE

# The preprocessor's blocks that make up each family.
FAMILY_BLOCKS: dict[str, tuple[str, ...]] = {
    "basket": ("basket",),
    "behaviour": ("behaviour_log", "behaviour_days"),
    "demographics": ("demographics",),
}
# Bounded cost: at most this many customers, few references and restarts per K.
STRUCTURE_SAMPLE = 2000
STRUCTURE_REFERENCES = 3
STRUCTURE_RESTARTS = 2
# A family whose best gap gain stays below this carries no structure of its own (the product's
# separation threshold: one cloud reaches at most 0.05 on generated data, planted archetypes at
# least 0.10, see `lib/model/k_selection.py`); its variance is cut to a quarter of the others',
# not to nothing (it may still refine groups the other families find).
STRUCTURE_FLOOR = 0.075
UNSTRUCTURED_MULTIPLIER = 0.25


def column_groups(preprocessor: ColumnTransformer, blocks: tuple[str, ...]) -> list[np.ndarray]:
    """The fitted preprocessor's output columns of `blocks` that a permutation reference moves
    together: each one-hot attribute as one group, every other column alone."""
    groups = []
    for name, transformer, _ in preprocessor.transformers_:
        if name not in blocks:
            continue
        block = preprocessor.output_indices_[name]
        columns = np.arange(block.start, block.stop)
        if hasattr(transformer, "categories_"):
            sizes = [len(values) for values in transformer.categories_]
            groups += np.split(columns, np.cumsum(sizes)[:-1])
        else:
            groups += [columns[[i]] for i in range(len(columns))]
    return groups


def _log_inertia(matrix: np.ndarray, k: int, restarts: int) -> float:
    fit = KMeans(n_clusters=k, n_init=restarts, random_state=RANDOM_STATE).fit(matrix)
    return float(np.log(max(fit.inertia_, 1e-12)))


def best_gap_gain(matrix: np.ndarray, references: list[np.ndarray]) -> float:
    """max over K of gap(K) - gap(1) (0 when the columns hold too few distinct rows)."""
    distinct = len(np.unique(matrix.round(9), axis=0))
    gaps = []
    for k in range(1, min(K_MAX, distinct - 1) + 1):
        reference = np.mean([_log_inertia(draw, k, 1) for draw in references])
        gaps.append(reference - _log_inertia(matrix, k, STRUCTURE_RESTARTS))
    return max((gap - gaps[0] for gap in gaps[1:]), default=0.0)


def family_structure(preprocessor: ColumnTransformer, matrix: np.ndarray) -> dict[str, float]:
    """Each present family's best gap gain on its own columns (`matrix`: the fitted
    `preprocessor`'s output), on a seeded sample of at most STRUCTURE_SAMPLE customers."""
    rng = np.random.default_rng(RANDOM_STATE)
    if len(matrix) > STRUCTURE_SAMPLE:
        matrix = matrix[np.sort(rng.choice(len(matrix), STRUCTURE_SAMPLE, replace=False))]
    structure = {}
    for family, blocks in FAMILY_BLOCKS.items():
        groups = column_groups(preprocessor, blocks)
        if not groups:
            continue
        columns = np.concatenate(groups)
        block = matrix[:, columns]
        if family == "demographics":
            # Group indices relative to the family's own columns.
            position = {column: i for i, column in enumerate(columns)}
            local = [np.array([position[c] for c in group]) for group in groups]
            references = [
                permutation_reference(block, local, rng) for _ in range(STRUCTURE_REFERENCES)
            ]
        else:
            references = [uniform_reference(block, rng) for _ in range(STRUCTURE_REFERENCES)]
        structure[family] = round(float(best_gap_gain(block, references)), 4)
    return structure


def structure_multipliers(structure: dict[str, float]) -> dict[str, float]:
    """Each family's variance multiplier: UNSTRUCTURED_MULTIPLIER for a family whose structure
    stays below STRUCTURE_FLOOR, 1 for the others, rescaled so that they sum to the number of
    families (all 1 when every family, or none, is below the floor)."""
    raw = {
        family: 1.0 if gain >= STRUCTURE_FLOOR else UNSTRUCTURED_MULTIPLIER
        for family, gain in structure.items()
    }
    total = sum(raw.values())
    return {family: len(raw) * value / total for family, value in raw.items()}
