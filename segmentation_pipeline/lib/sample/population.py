"""The customers of the sample: ids, demographics and how many purchases each one makes.

One base population of `n_users` customers is built per seed so that, at scale 1, customers per
demographic value match the published `user_counts` exactly, transactions per value match
`txn_counts`, and the transactions-per-customer distribution matches the published quantiles.
Other scales reuse that base population in copies (see `plan_copies`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from segmentation_pipeline.lib.ingest.facts import apportion
from segmentation_pipeline.settings import DEMOGRAPHIC_COLUMNS

# Copy k of the base population uses the base ids plus k * ID_STRIDE: copy 0 keeps the real id
# range 1000001..1006040, copy 1 uses 1010001..1016040, and so on; ids never collide.
ID_STRIDE = 10_000
# Spread of per-customer heaviness not explained by demographics (log scale). Without it the
# transaction count would be a function of the demographics alone.
HEAVINESS_NOISE = 1.0
RAKING_ITERATIONS = 200
# Damped updates: rank-based raking overshoots with full steps.
RAKING_STEP = 0.5
# Quantile level of the one knot of the count profile that is not published: it is solved so
# that the profile's mean equals the published rows per customer.
TAIL_KNOT = 0.99


@dataclass(frozen=True)
class Population:
    """The base customers, ordered by id."""

    user_ids: np.ndarray
    # codes[:, j] indexes labels[DEMOGRAPHIC_COLUMNS[j]].
    codes: np.ndarray
    labels: dict[str, tuple[str, ...]]
    txn_counts: np.ndarray

    def demographic_text(self) -> list[str]:
        """Per customer, its demographic values joined by commas in CSV column order."""
        columns = [
            np.asarray(self.labels[column], dtype=object)[self.codes[:, j]]
            for j, column in enumerate(DEMOGRAPHIC_COLUMNS)
        ]
        return [",".join(values) for values in zip(*columns, strict=True)]


@dataclass(frozen=True)
class CustomerCopy:
    """The customers of one copy of the base population (all of it, or a subset)."""

    index: int
    members: np.ndarray  # positions in the base population
    user_ids: np.ndarray
    txn_counts: np.ndarray


def build_population(facts: dict, rng: np.random.Generator) -> Population:
    """Draw the base customers: ids, demographics, and transaction counts raked to the facts."""
    n_users = facts["n_users"]
    first_id, last_id = facts["user_id_range"]
    if last_id - first_id >= ID_STRIDE:
        raise ValueError(f"user_id_range is wider than the copy id stride {ID_STRIDE}")
    user_ids = np.sort(rng.choice(np.arange(first_id, last_id + 1), n_users, replace=False))
    labels = {column: tuple(facts["txn_counts"][column]) for column in DEMOGRAPHIC_COLUMNS}
    codes = _assign_demographics(facts, labels, rng)
    targets = [
        np.array(list(facts["txn_counts"][column].values()), dtype=float)
        for column in DEMOGRAPHIC_COLUMNS
    ]
    txn_counts = _rake_counts(codes, targets, _txn_count_profile(facts), rng)
    return Population(user_ids=user_ids, codes=codes, labels=labels, txn_counts=txn_counts)


def plan_copies(
    population: Population, scale: float, rng: np.random.Generator
) -> Iterator[CustomerCopy]:
    """Yield the customer copies that make up a sample of `scale` times the real size.

    round(n_users * scale) customers in total: floor(scale) full copies, then one partial copy
    of the remaining customers. The partial copy is a systematic sample over customers sorted by
    transaction count (so it keeps the count distribution), its counts rescaled so the sample
    has round(rows * scale) rows.
    """
    n_users = len(population.user_ids)
    full_copies, partial = divmod(round(n_users * scale), n_users)
    everyone = np.arange(n_users)
    for index in range(full_copies):
        yield _copy(population, index, everyone, population.txn_counts)
    if partial:
        base_rows = int(population.txn_counts.sum())
        by_count = np.lexsort((rng.random(n_users), population.txn_counts))
        picks = ((np.arange(partial) + rng.random()) * (n_users / partial)).astype(np.int64)
        members = np.sort(by_count[picks])
        rows = round(base_rows * scale) - full_copies * base_rows
        low, high = int(population.txn_counts.min()), int(population.txn_counts.max())
        txn_counts = _fit_counts(population.txn_counts[members], rows, low, high)
        yield _copy(population, full_copies, members, txn_counts)


def _copy(
    population: Population, index: int, members: np.ndarray, txn_counts: np.ndarray
) -> CustomerCopy:
    """Copy `index` of the given base customers, under that copy's ids."""
    user_ids = population.user_ids[members] + index * ID_STRIDE
    return CustomerCopy(index=index, members=members, user_ids=user_ids, txn_counts=txn_counts)


def _assign_demographics(
    facts: dict, labels: dict[str, tuple[str, ...]], rng: np.random.Generator
) -> np.ndarray:
    """Codes per customer and column, matching the published customers per value exactly."""
    n_users = facts["n_users"]
    user_counts = facts["user_counts"]
    codes = np.empty((n_users, len(DEMOGRAPHIC_COLUMNS)), dtype=np.int64)
    for j, column in enumerate(DEMOGRAPHIC_COLUMNS):
        if column in user_counts:
            counts = np.array(list(user_counts[column].values()))
        else:
            # Occupation has no published customer counts: start from its transaction shares and
            # let the raking carry the difference.
            counts = apportion(np.array(list(facts["txn_counts"][column].values())), n_users)
        codes[:, j] = rng.permutation(np.repeat(np.arange(len(counts)), counts))
    # Minors are unmarried, as in the real data: draw the married customers among adults only.
    age, marital = DEMOGRAPHIC_COLUMNS.index("Age"), DEMOGRAPHIC_COLUMNS.index("Marital_Status")
    adults = np.flatnonzero(codes[:, age] != labels["Age"].index("0-17"))
    married = rng.choice(adults, user_counts["Marital_Status"]["1"], replace=False)
    codes[:, marital] = labels["Marital_Status"].index("0")
    codes[married, marital] = labels["Marital_Status"].index("1")
    return codes


def _txn_count_profile(facts: dict) -> np.ndarray:
    """The sorted transactions-per-customer values of the base population.

    A quantile function log-linear between the published min, quartiles and max, plus one knot
    at TAIL_KNOT solved so that the counts sum to the published rows.
    """
    stats = facts["per_user"]["num_transactions"]
    n_users, rows = facts["n_users"], facts["rows"]
    levels = np.arange(n_users) / (n_users - 1)
    knot_levels = [0.0, 0.25, 0.5, 0.75, TAIL_KNOT, 1.0]

    def profile(tail: float) -> np.ndarray:
        knots = [stats["min"], stats["p25"], stats["p50"], stats["p75"], tail, stats["max"]]
        return np.exp(np.interp(levels, knot_levels, np.log(knots)))

    low, high = float(stats["p75"]), float(stats["max"])
    for _ in range(60):
        tail = (low + high) / 2
        if profile(tail).sum() > rows:
            high = tail
        else:
            low = tail
    return apportion(profile(tail), rows)


def _rake_counts(
    codes: np.ndarray, targets: list[np.ndarray], profile: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Hand out the count profile so that transactions per demographic value hit `targets`.

    Each customer gets a heaviness score (noise plus one log factor per demographic value); the
    customer of rank r gets the r-th smallest count of the profile. The factors are raked
    (iterative proportional fitting on the realised counts) until every column's transactions per
    value match. Counts stay a permutation of the profile, so min, quantiles, max and the total
    are exact.
    """
    noise = rng.normal(0.0, HEAVINESS_NOISE, len(profile))
    log_factors = [np.zeros(len(target)) for target in targets]
    counts = np.empty_like(profile)
    for _ in range(RAKING_ITERATIONS):
        score = noise + sum(f[codes[:, j]] for j, f in enumerate(log_factors))
        counts[np.argsort(score, kind="stable")] = profile
        for j, target in enumerate(targets):
            realised = np.bincount(codes[:, j], weights=counts, minlength=len(target))
            log_factors[j] += RAKING_STEP * np.log(target / realised)
    return counts


def _fit_counts(counts: np.ndarray, total: int, low: int, high: int) -> np.ndarray:
    """Rescale integer `counts` to sum to `total` while staying within [low, high]."""
    total = int(np.clip(total, low * len(counts), high * len(counts)))
    scaled = counts.astype(float)
    for _ in range(50):  # clipping moves the sum: alternate until both hold
        scaled = np.clip(scaled * (total / scaled.sum()), low, high)
    return apportion(scaled, total)
