"""The K rule on archetypes the project's generator did not make: a second planted generator.

`lib/sample/planted.py` made the draws the K rule was designed on. This script plants customer
archetypes with other mechanics, written apart from it, so that a rule tuned to that generator
shows here:
- each archetype favours 2-4 of 20 categories (weights 3-8 against 0.2 for the others);
- a price level per category, scaled by the archetype (0.7-1.4x), times lognormal noise;
- transactions per customer Poisson around the archetype's level (6, 12, 25, 50 or 90);
- demographics as probabilities per archetype: a share of men and of married customers
  (0.1-0.9), an age bracket give or take one, a city mix, 3 usual occupations (80%), the years
  in the city at random;
- 800-4,000 customers over 21 days, archetype sizes Dirichlet(4).
Mode "all": archetypes differ in every family (3-8 archetypes); "basket": only in the basket
(3-7). For each draw it runs the product's sweep (`sweep_k` on the product's feature SQL) and
fits the model at the true K (the oracle ARI: draws below 0.8 there are not recoverable by
K-Means on these features). It prints, per draw, the true K, the product's K, the K of the rule
before (not raised while reproducible, as `k_rule_study.py` applies it), and the exact-K hits on
recoverable draws.

Usage: python benchmarks/independent_archetypes.py [--seeds 40]
"""

from __future__ import annotations

import argparse
from multiprocessing import Pool

import numpy as np
import pandas as pd
from k_rule_study import RULE_BEFORE, RULES
from sklearn.metrics import adjusted_rand_score

from segmentation_pipeline.lib.features.sql import customer_features_of
from segmentation_pipeline.lib.model import k_selection
from segmentation_pipeline.lib.model.training import fit_model
from segmentation_pipeline.lib.sample.planted import DEMOGRAPHIC_VALUES
from segmentation_pipeline.settings import MIN_SEGMENT_SHARE, RANDOM_STATE

CATEGORIES = 20
DAYS = 21


def archetypes(rng: np.random.Generator, k: int, mode: str) -> list[dict]:
    drawn = []
    for _ in range(k):
        weights = np.full(CATEGORIES, 0.2)
        favourites = rng.choice(CATEGORIES, size=rng.integers(2, 5), replace=False)
        weights[favourites] = rng.uniform(3, 8, len(favourites))
        drawn.append(
            {
                "basket": weights / weights.sum(),
                "age": int(rng.integers(len(DEMOGRAPHIC_VALUES["Age"]))),
                "men": rng.uniform(0.1, 0.9),
                "city": rng.dirichlet(np.full(3, 0.7)),
                "occupations": rng.choice(21, 3, replace=False),
                "married": rng.uniform(0.1, 0.9),
                "transactions": float(rng.choice([6, 12, 25, 50, 90])),
                "price_scale": rng.uniform(0.7, 1.4),
            }
        )
    if mode == "basket":
        # Everything but the basket as the first archetype's.
        drawn = [{**drawn[0], "basket": a["basket"]} for a in drawn]
    return drawn


def planted(seed: int, k: int, mode: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(transactions with `transaction_date`, truth: user_id -> archetype)."""
    rng = np.random.default_rng([seed, 77])
    customers = int(rng.integers(800, 4000))
    prices = rng.uniform(2000, 18000, CATEGORIES)
    kinds = archetypes(rng, k, mode)
    label = rng.choice(k, customers, p=rng.dirichlet(np.full(k, 4.0)))
    label[:k] = np.arange(k)
    user_ids = 2_000_000 + rng.permutation(customers * 2)[:customers]
    pick = {name: np.array([a[name] for a in kinds])[label] for name in kinds[0]}
    ages = DEMOGRAPHIC_VALUES["Age"]
    age = np.clip(pick["age"] + rng.choice([-1, 0, 0, 0, 1], customers), 0, len(ages) - 1)
    city = [rng.choice(3, p=mix) for mix in pick["city"]]
    usual = pick["occupations"][np.arange(customers), rng.integers(0, 3, customers)]
    occupation = np.where(rng.random(customers) < 0.8, usual, rng.integers(0, 21, customers))
    people = pd.DataFrame(
        {
            "User_ID": user_ids,
            "Gender": np.where(rng.random(customers) < pick["men"], "M", "F"),
            "Age": np.asarray(ages)[age],
            "Occupation": occupation,
            "City_Category": np.asarray(DEMOGRAPHIC_VALUES["City_Category"])[city],
            "Stay_In_Current_City_Years": rng.choice(
                DEMOGRAPHIC_VALUES["Stay_In_Current_City_Years"], customers
            ),
            "Marital_Status": (rng.random(customers) < pick["married"]).astype(int),
        }
    )
    counts = np.maximum(1, rng.poisson(pick["transactions"]))
    owner = np.repeat(np.arange(customers), counts)
    category = np.concatenate(
        [
            rng.choice(CATEGORIES, count, p=kinds[archetype]["basket"])
            for archetype, count in zip(label, counts, strict=True)
        ]
    )
    amount = prices[category] * pick["price_scale"][owner] * rng.lognormal(0, 0.3, len(owner))
    rows = people.iloc[owner].reset_index(drop=True)
    rows["Product_Category"] = category + 1
    rows["Product_ID"] = [
        f"P{(c + 1) * 1000 + int(p):08d}"
        for c, p in zip(category, rng.integers(0, 200, len(owner)), strict=True)
    ]
    rows["Purchase"] = np.clip(np.round(amount), 12, 23961).astype(int)
    rows["transaction_date"] = pd.Timestamp("2025-11-01") + pd.to_timedelta(
        rng.integers(0, DAYS, len(owner)), "D"
    )
    return rows, pd.DataFrame({"user_id": user_ids, "archetype": label})


def evaluate(job: tuple[int, int, str]) -> dict:
    seed, k, mode = job
    rows, truth = planted(seed, k, mode)
    features = customer_features_of(rows)
    table = k_selection.sweep_k(features, range(2, 11), RANDOM_STATE, 3000, MIN_SEGMENT_SHARE)
    segments, _ = fit_model(features, k, RANDOM_STATE).assign(features)
    archetype = truth.set_index("user_id").loc[features["user_id"], "archetype"]
    return {
        "seed": seed,
        "mode": mode,
        "customers": len(features),
        "true_k": k,
        "chosen_k": k_selection.chosen_k(table),
        "unraised_k": RULES[RULE_BEFORE](table),
        "oracle_ari": round(adjusted_rand_score(archetype, segments), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=40)
    args = parser.parse_args()
    jobs = [
        job
        for seed in range(args.seeds)
        for job in ((seed, 3 + seed % 6, "all"), (seed, 3 + (seed + 2) % 5, "basket"))
    ]
    with Pool(2) as pool:
        results = pd.DataFrame(pool.map(evaluate, jobs))
    print(results.to_string(index=False))
    recoverable = results[results["oracle_ari"] >= 0.8]
    print()
    for mode, draws in [("every mode", recoverable), *recoverable.groupby("mode")]:
        print(
            f"{mode}: {len(draws)} recoverable draws; exact K: product "
            f"{(draws['chosen_k'] == draws['true_k']).sum()}, not raised (before) "
            f"{(draws['unraised_k'] == draws['true_k']).sum()}"
        )


if __name__ == "__main__":
    main()
