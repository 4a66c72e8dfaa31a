"""Stream a seeded synthetic stand-in for Walmart's Black Friday file into daily landing CSVs.

Customers are generated in blocks of BLOCK_CUSTOMERS; a block's rows are appended to the open
day files and dropped, so peak memory does not grow with `scale`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TextIO

import numpy as np

from segmentation_pipeline.lib.ingest.facts import load_facts
from segmentation_pipeline.lib.ingest.landing import (
    DEFAULT_FIRST_DAY,
    DEFAULT_LAST_DAY,
    day_files,
    day_weights,
    landing_days,
    landing_file,
)
from segmentation_pipeline.lib.sample.catalog import Catalog, build_catalog
from segmentation_pipeline.lib.sample.population import build_population, plan_copies

BLOCK_CUSTOMERS = 500
# Concentration of each customer's Dirichlet category preferences around the global mix: low
# enough that per-customer average spend varies as in the real data (std ~1,890).
PREFERENCE_CONCENTRATION = 4.5
# Plenty: 20 rounds bring a block's expected category mix to the global one within 1e-9.
PREFERENCE_RAKING_ITERATIONS = 20
# Independent random streams per purpose, so that e.g. the catalog does not change with scale.
_POPULATION_STREAM, _CATALOG_STREAM, _COPIES_STREAM, _BLOCK_STREAM = range(4)


@dataclass(frozen=True)
class SampleSummary:
    """What `write_sample` wrote."""

    rows: int
    customers: int
    products: int  # distinct products sold
    files: list[Path]  # one per day, oldest first
    first_day: date
    last_day: date


def write_sample(
    landing_dir: Path,
    *,
    seed: int = 42,
    scale: float = 1.0,
    first_day: date = DEFAULT_FIRST_DAY,
    last_day: date = DEFAULT_LAST_DAY,
    progress: Callable[[int], None] | None = None,
) -> SampleSummary:
    """Write `landing_dir/YYYY-MM-DD.csv` for every day from `first_day` to `last_day`.

    At scale 1 the files hold 550,068 rows of 5,891 customers, matching the published facts;
    `scale` multiplies customers and rows (see `plan_copies` for how). The same seed gives
    byte-identical files. Existing files of those days are replaced only once all are written.
    `progress`, if given, is called with the rows written so far after each block of customers.
    """
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    facts = load_facts()
    if round(facts["n_users"] * scale) == 0:
        raise ValueError(f"scale {scale} is too small to hold a single customer")
    population = build_population(facts, _rng(seed, _POPULATION_STREAM))
    catalog = build_catalog(facts, _rng(seed, _CATALOG_STREAM))
    days = landing_days(first_day, last_day)
    weights = day_weights(len(days))

    landing_dir = Path(landing_dir)
    landing_dir.mkdir(parents=True, exist_ok=True)
    files = [landing_file(landing_dir, day) for day in days]
    demographics = population.demographic_text()
    sold = np.zeros(len(catalog.product_ids), dtype=bool)
    rows = customers = 0
    with day_files(files) as outs:
        for copy in plan_copies(population, scale, _rng(seed, _COPIES_STREAM)):
            for block, start in enumerate(range(0, len(copy.members), BLOCK_CUSTOMERS)):
                rng = _rng(seed, _BLOCK_STREAM, copy.index, block)
                window = slice(start, start + BLOCK_CUSTOMERS)
                customer, product, purchase = _block_rows(copy.txn_counts[window], catalog, rng)
                day = rng.choice(len(days), size=len(product), p=weights)
                if copy.index == 0 and block == 0 and len(day) >= len(days):
                    # Every day file gets rows, however small the sample.
                    day[rng.choice(len(day), len(days), replace=False)] = np.arange(len(days))
                lines = _csv_lines(
                    copy.user_ids[window].tolist(),
                    [demographics[member] for member in copy.members[window]],
                    catalog,
                    customer,
                    product,
                    purchase,
                )
                _append_by_day(outs, lines, day, rng)
                sold[product] = True
                rows += len(product)
                customers += len(copy.members[window])
                if progress:
                    progress(rows)
    return SampleSummary(
        rows=rows,
        customers=customers,
        products=int(sold.sum()),
        files=files,
        first_day=first_day,
        last_day=last_day,
    )


def _rng(seed: int, *stream: int) -> np.random.Generator:
    """The generator of one random stream of `seed`."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=stream))


def _block_rows(
    txn_counts: np.ndarray, catalog: Catalog, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of one block of customers: (customer position in block, product, purchase).

    Each customer splits its transactions over categories by its own Dirichlet preferences, then
    picks that many distinct products per category, weighted by popularity.
    """
    share = catalog.category_share
    # Floored so that raking can reach every category even where the Dirichlet underflows to 0.
    preferences = np.maximum(
        rng.dirichlet(PREFERENCE_CONCENTRATION * share, len(txn_counts)), 1e-12
    )
    # Rake the block's preferences so its expected transactions per category follow the global
    # mix: tastes vary per customer, yet the heaviest customers' tastes cannot skew the total.
    for _ in range(PREFERENCE_RAKING_ITERATIONS):
        preferences *= share * txn_counts.sum() / (txn_counts @ preferences)
        preferences /= preferences.sum(axis=1, keepdims=True)
    per_category = _cap_to_catalog(
        rng.multinomial(txn_counts, preferences), catalog.sizes, share, rng
    )
    customers, products = [], []
    spans = zip(catalog.starts[:-1], catalog.starts[1:], strict=True)
    for category, (first, end) in enumerate(spans):
        buyers = np.flatnonzero(per_category[:, category])
        if buyers.size == 0:
            continue
        wanted = per_category[buyers, category]
        # Efraimidis-Spirakis: the k smallest Exp(1) / weight keys are a weighted sample of k
        # distinct products.
        keys = rng.standard_exponential((buyers.size, end - first)) / catalog.popularity[first:end]
        ranked = np.argsort(keys, axis=1)[:, : wanted.max()]
        customers.append(np.repeat(buyers, wanted))
        products.append(first + ranked[np.arange(ranked.shape[1]) < wanted[:, None]])
    product = np.concatenate(products)
    return np.concatenate(customers), product, catalog.draw_purchases(product, rng)


def _cap_to_catalog(
    per_category: np.ndarray, sizes: np.ndarray, share: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Move purchases beyond a category's product count (a product is bought once) elsewhere."""
    excess = np.maximum(per_category - sizes, 0).sum(axis=1)
    per_category = np.minimum(per_category, sizes)
    for customer in np.flatnonzero(excess):
        while excess[customer]:
            spare = sizes - per_category[customer]
            # Spread like the global mix over the categories with products left.
            weights = share * (spare > 0)
            moved = np.minimum(rng.multinomial(excess[customer], weights / weights.sum()), spare)
            per_category[customer] += moved
            excess[customer] -= moved.sum()
    return per_category


def _csv_lines(
    user_ids: list[int],
    demographics: list[str],
    catalog: Catalog,
    customer: np.ndarray,
    product: np.ndarray,
    purchase: np.ndarray,
) -> list[str]:
    """One CSV line per row, in SOURCE_COLUMNS order, from per-customer and per-product text."""
    product_ids, categories = catalog.product_ids, catalog.product_category_labels
    return [
        f"{user_ids[c]},{product_ids[p]},{demographics[c]},{categories[p]},{v}\n"
        for c, p, v in zip(customer.tolist(), product.tolist(), purchase.tolist(), strict=True)
    ]


def _append_by_day(
    outs: list[TextIO], lines: list[str], day: np.ndarray, rng: np.random.Generator
) -> None:
    """Append each line to its day's file, shuffled within the day like a transaction log."""
    order = np.lexsort((rng.random(len(day)), day))
    bounds = np.searchsorted(day[order], np.arange(len(outs) + 1))
    ordered = np.asarray(lines, dtype=object)[order]
    for out, low, high in zip(outs, bounds[:-1], bounds[1:], strict=True):
        out.write("".join(ordered[low:high]))
