"""The published statistics of Walmart's Black Friday dataset, shipped as package data."""

from __future__ import annotations

import json
from importlib.resources import files

import numpy as np

FACTS_FILE = "black_friday_facts.json"


def load_facts() -> dict:
    """Return the packaged facts JSON (a fresh dict on every call, so callers may mutate it)."""
    return json.loads(files(__package__).joinpath(FACTS_FILE).read_text(encoding="utf-8"))


def apportion(weights: np.ndarray, total: int) -> np.ndarray:
    """Split the integer `total` proportionally to `weights` (largest-remainder rounding).

    The result sums to `total` exactly, which is how the sample hits published counts to the unit.
    """
    quotas = np.asarray(weights, dtype=float) * (total / np.sum(weights))
    counts = np.floor(quotas).astype(np.int64)
    # Stable sort so ties go to the earlier entry: keeps the result deterministic.
    leftovers = np.argsort(counts - quotas, kind="stable")[: total - int(counts.sum())]
    counts[leftovers] += 1
    return counts
