"""Structureless references for the gap statistic (Tibshirani, Walther and Hastie 2001).

- `uniform_reference`: uniform along the data's principal axes, same variance per axis (their
  reference (b)); right for continuous columns, elongated clouds included.
- `permutation_reference`: each group of columns shuffled over customers independently, which
  keeps every marginal (a one-hot attribute stays on its lattice) and drops any association
  between groups; right for one-hot indicators, which a uniform cloud would always find clumped.
"""

from __future__ import annotations

import numpy as np


def uniform_reference(matrix: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A structureless cloud like the data: uniform along the data's principal axes, with the
    same variance along each axis (Tibshirani, Walther and Hastie 2001, reference (b))."""
    centre = matrix.mean(axis=0)
    _, _, axes = np.linalg.svd(matrix - centre, full_matrices=False)
    spread = ((matrix - centre) @ axes.T).std(axis=0)
    # A uniform on [-sqrt(3) s, sqrt(3) s] has standard deviation s.
    draws = rng.uniform(-np.sqrt(3), np.sqrt(3), (len(matrix), len(spread))) * spread
    return draws @ axes + centre


def permutation_reference(
    matrix: np.ndarray, groups: list[np.ndarray], rng: np.random.Generator
) -> np.ndarray:
    """The data with each group of columns shuffled over customers independently: same
    marginals (one-hot lattice included), no association between groups."""
    draw = np.empty_like(matrix)
    for columns in groups:
        draw[:, columns] = matrix[rng.permutation(len(matrix))][:, columns]
    return draw
