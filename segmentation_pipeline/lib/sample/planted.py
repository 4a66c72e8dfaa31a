"""Planted-truth data sets: customer archetypes with known labels, as contract landing files.

Each scenario plants K archetypes (K = 1: no structure) that differ in some families of what
the model sees: the basket (spend mix over product categories), the volume (transactions per
customer and ticket) and the demographics. Everything else is drawn at random from the seed, so
that a rule tuned on one draw has to hold on the next: how many product categories the retailer
uses, which ones each archetype favours and how strongly, archetype sizes, demographic profiles,
the number of customers, transactions per customer and days. `random_scenario` draws the
scenario itself too (how many archetypes, which families differ, basket style, imbalance,
overlap, sizes), for the study of the K rule (`benchmarks/k_rule_study.py`).

`write_planted` lands one CSV per day in the contract's format (`SOURCE_COLUMNS`, a header row)
and writes `truth.csv` (user_id, archetype) beside the landing folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from segmentation_pipeline.lib.ingest.contract import ALLOWED_VALUES, INTEGER_RANGES
from segmentation_pipeline.lib.ingest.landing import landing_file
from segmentation_pipeline.settings import PRODUCT_CATEGORIES, SOURCE_COLUMNS

TRUTH_FILE = "truth.csv"
FAMILIES = ("basket", "volume", "demographics")
DEMOGRAPHIC_VALUES: dict[str, tuple[str, ...]] = {
    "Gender": ALLOWED_VALUES["Gender"],
    "Age": ALLOWED_VALUES["Age"],
    "Occupation": tuple(str(value) for value in range(INTEGER_RANGES["Occupation"][1] + 1)),
    "City_Category": ALLOWED_VALUES["City_Category"],
    "Stay_In_Current_City_Years": ALLOWED_VALUES["Stay_In_Current_City_Years"],
    "Marital_Status": ALLOWED_VALUES["Marital_Status"],
}
FIRST_DAY = date(2025, 11, 1)


@dataclass(frozen=True)
class Scenario:
    """What is planted: how many archetypes, how they differ and how much they overlap.

    `separation` 1.0 is well separated; lower values pull every archetype towards the common
    profile (0.0 would make them identical). `smallest_share` fixes the smallest archetype's share
    of customers (the others split the rest at random) when set.
    """

    name: str
    archetypes: int
    differ_in: tuple[str, ...] = FAMILIES
    separation: float = 1.0
    smallest_share: float | None = None
    customers: tuple[int, int] = (1200, 2400)
    transactions: tuple[float, float] = (15, 60)  # median transactions per customer, drawn
    days: tuple[int, int] = (5, 28)
    # How many demographic attributes differ between archetypes (drawn in this range).
    differing_attributes: tuple[int, int] = (3, 6)
    # "focused": each archetype favours 1-3 categories; "spread": each has its own mix over
    # every category (Dirichlet), as a retailer whose customers all buy a bit of everything.
    basket_style: str = "focused"
    categories: tuple[int, int] | None = None  # categories in use; default max(4, K)..all
    tags: dict[str, str] = field(default_factory=dict)


SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario("separated_3", 3),
        Scenario("separated_4", 4),
        Scenario("separated_6", 6),
        Scenario("separated_8", 8, customers=(2400, 3600)),
        Scenario("imbalanced_5", 5, smallest_share=0.04, customers=(2400, 3600)),
        Scenario("basket_only_4", 4, differ_in=("basket",)),
        # Each archetype its own mix over all 20 categories (none dominant), plus demographics
        # and volume: the shape of issue #8's example.
        Scenario("spread_basket_4", 4, basket_style="spread", categories=(20, 20)),
        Scenario("demographics_volume_only_4", 4, differ_in=("volume", "demographics")),
        Scenario("moderate_overlap_4", 4, separation=0.5),
        Scenario("no_structure", 1),
    )
}
# Scenarios whose target is chosen K == truth and ARI >= 0.9; the overlap one targets ARI >= 0.8.
WELL_SEPARATED = tuple(
    name for name, s in SCENARIOS.items() if s.archetypes > 1 and s.separation == 1.0
)


@dataclass(frozen=True)
class Archetype:
    share: float
    basket: np.ndarray  # mean spend mix over the categories in use
    log_transactions: float
    log_ticket: float
    demographics: dict[str, np.ndarray]  # probabilities over DEMOGRAPHIC_VALUES


def _basket(rng: np.random.Generator, categories: int, favourite: int) -> np.ndarray:
    """A spend mix focused on `favourite` and up to 2 other categories, the rest spread thinly."""
    others = rng.choice(
        np.delete(np.arange(categories), favourite), size=rng.integers(0, 3), replace=False
    )
    mix = rng.dirichlet(np.full(categories, 0.6)) * rng.uniform(0.15, 0.35)
    focus_weights = rng.dirichlet(np.full(1 + len(others), 2.0)) * 0.5
    focus_weights[0] += 0.5  # the favourite holds at least half of the focused spend
    mix[np.concatenate([[favourite], others]).astype(int)] += focus_weights * (1 - mix.sum())
    return mix / mix.sum()


def _spread_basket(rng: np.random.Generator, categories: int) -> np.ndarray:
    """A spend mix over every category, none dominant (Dirichlet with concentration 1)."""
    return rng.dirichlet(np.ones(categories))


def _demographic_profile(rng: np.random.Generator, values: int, dominant: int) -> np.ndarray:
    """Mostly `dominant` (60-90%), the rest spread at random."""
    profile = rng.dirichlet(np.ones(values)) * rng.uniform(0.1, 0.4)
    profile[dominant] += 1 - profile.sum()
    return profile


def _archetypes(scenario: Scenario, rng: np.random.Generator, categories: int) -> list[Archetype]:
    k = scenario.archetypes
    if scenario.smallest_share is not None and k > 1:
        rest = rng.dirichlet(np.full(k - 1, 8.0)) * (1 - scenario.smallest_share)
        shares = np.concatenate([[scenario.smallest_share], rest])
    else:
        shares = rng.dirichlet(np.full(k, 6.0))
    common = Archetype(
        share=1.0,
        basket=rng.dirichlet(np.full(categories, 2.0)),
        log_transactions=np.log(rng.uniform(*scenario.transactions)),
        log_ticket=np.log(rng.uniform(3000, 12000)),
        demographics={
            name: rng.dirichlet(np.full(len(values), 3.0))
            for name, values in DEMOGRAPHIC_VALUES.items()
        },
    )
    # Volume levels spread over a range so that archetypes differ by >= ~0.5 in log units.
    volume_levels = rng.permutation(np.linspace(-1.0, 1.0, k)) * (0.4 + 0.15 * k)
    ticket_levels = rng.permutation(np.linspace(-0.6, 0.6, k))
    # Attributes that differ: every archetype gets its own profile of 3-6 attributes.
    low, high = scenario.differing_attributes
    differing = rng.choice(
        list(DEMOGRAPHIC_VALUES), size=rng.integers(low, high, endpoint=True), replace=False
    )
    # Distinct favourite categories and, attribute by attribute, distinct dominant values as far
    # as the values go: archetypes differ in every family they are meant to differ in.
    favourites = rng.permutation(categories)
    dominants = {name: rng.permutation(len(DEMOGRAPHIC_VALUES[name])) for name in differing}
    s = scenario.separation
    archetypes = []
    for index in range(k):
        if k == 1:
            archetypes.append(common)
            continue
        basket, demographics = common.basket, dict(common.demographics)
        log_transactions, log_ticket = common.log_transactions, common.log_ticket
        if "basket" in scenario.differ_in:
            own_basket = (
                _spread_basket(rng, categories)
                if scenario.basket_style == "spread"
                else _basket(rng, categories, favourites[index % categories])
            )
            basket = s * own_basket + (1 - s) * common.basket
        if "volume" in scenario.differ_in:
            log_transactions += s * volume_levels[index]
            log_ticket += s * ticket_levels[index]
        if "demographics" in scenario.differ_in:
            for name in differing:
                values = len(DEMOGRAPHIC_VALUES[name])
                own = _demographic_profile(rng, values, dominants[name][index % values])
                demographics[name] = s * own + (1 - s) * common.demographics[name]
        archetypes.append(
            Archetype(float(shares[index]), basket, log_transactions, log_ticket, demographics)
        )
    return archetypes


def random_scenario(seed: int) -> Scenario:
    """A scenario drawn at random, wider than SCENARIOS, for studying the K rule (see
    `benchmarks/k_rule_study.py`): 2-9 archetypes differing in a random non-empty subset of the
    families (1-6 demographic attributes), focused or spread baskets over 4-20 categories,
    smallest archetype 3-10% or sizes at random, 300-6,000 customers, from a handful of
    transactions each to dozens, and overlap from none (1.0) to strong (0.5)."""
    rng = np.random.default_rng([seed, 8])
    k = int(rng.integers(2, 10))
    families = ()
    while not families:
        families = tuple(family for family in FAMILIES if rng.random() < 0.6)
    customers = int(rng.integers(300, 6000))
    transactions = float(rng.choice([4.0, 8.0, 20.0, 50.0]))
    categories = [(4, 6), (6, 12), (12, 20)][int(rng.integers(3))]
    return Scenario(
        name=f"random_{seed}",
        archetypes=k,
        differ_in=families,
        separation=float(rng.choice([1.0, 1.0, rng.uniform(0.5, 1.0)])),
        smallest_share=float(rng.uniform(0.03, 0.10)) if rng.random() < 0.5 else None,
        customers=(customers, customers),
        transactions=(transactions, transactions * 1.5),
        days=(int(rng.integers(1, 8)), 28),
        differing_attributes=(1, int(rng.integers(1, len(DEMOGRAPHIC_VALUES) + 1))),
        basket_style=str(rng.choice(["focused", "spread"])),
        # Focused baskets need a favourite category per archetype.
        categories=(max(k, categories[0]), max(k, categories[1])),
    )


def planted_transactions(scenario: Scenario, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(transactions in SOURCE_COLUMNS plus `day`, truth: user_id -> archetype) for one draw."""
    rng = np.random.default_rng(seed)
    low, high = scenario.categories or (max(4, scenario.archetypes), len(PRODUCT_CATEGORIES))
    size = rng.integers(low, high, endpoint=True)
    used = np.sort(rng.choice(PRODUCT_CATEGORIES, size=size, replace=False))
    archetypes = _archetypes(scenario, rng, len(used))
    customers = int(rng.integers(*scenario.customers, endpoint=True))
    days = int(rng.integers(*scenario.days, endpoint=True))
    label = rng.choice(len(archetypes), customers, p=[a.share for a in archetypes])
    # Every archetype present, however small: the truth has exactly `archetypes` groups.
    label[: len(archetypes)] = np.arange(len(archetypes))
    user_ids = 1_000_001 + rng.permutation(customers * 3)[:customers]

    counts = np.maximum(
        1,
        np.exp(rng.normal([archetypes[a].log_transactions for a in label], 0.35)).round(),
    ).astype(int)
    owner = np.repeat(np.arange(customers), counts)
    # Each customer's own mix varies around the archetype's (Dirichlet, concentration 30).
    category = np.concatenate(
        [
            rng.choice(used, count, p=rng.dirichlet(archetypes[a].basket * 30 + 0.01))
            for a, count in zip(label, counts, strict=True)
        ]
    )
    log_ticket = np.array([archetypes[a].log_ticket for a in label])[owner]
    rows = pd.DataFrame(
        {
            "User_ID": user_ids[owner],
            "category": category,
            "Purchase": np.exp(rng.normal(log_ticket, 0.45)),
            "day": rng.integers(0, days, len(owner)),
        }
    )
    for name, values in DEMOGRAPHIC_VALUES.items():
        drawn = [rng.choice(len(values), p=archetypes[a].demographics[name]) for a in label]
        rows[name] = np.asarray(values, dtype=object)[np.asarray(drawn)][owner]
    low, high = INTEGER_RANGES["Purchase"]
    rows["Purchase"] = rows["Purchase"].round().clip(low, high).astype(int)
    rows["Product_Category"] = rows.pop("category")
    # A catalogue of up to 300 products per category; a repeated product is a repeat purchase.
    product = rows["Product_Category"] * 10_000 + rng.integers(0, 300, len(rows))
    rows["Product_ID"] = [f"P{number:08d}" for number in product]
    # Identical lines are duplicates to the contract: make each line unique by its ticket.
    duplicated = rows.duplicated([*SOURCE_COLUMNS, "day"], keep="first")
    rows.loc[duplicated, "Purchase"] = np.minimum(rows.loc[duplicated, "Purchase"] + 1, high)
    rows = rows.drop_duplicates([*SOURCE_COLUMNS, "day"])
    truth = pd.DataFrame({"user_id": user_ids, "archetype": label})
    return rows[[*SOURCE_COLUMNS, "day"]], truth


def dated(rows: pd.DataFrame, first_day: date = FIRST_DAY) -> pd.DataFrame:
    """The rows with their `transaction_date` (day offset `day` after `first_day`)."""
    return rows.assign(transaction_date=pd.Timestamp(first_day) + pd.to_timedelta(rows["day"], "D"))


def write_landing(rows: pd.DataFrame, landing_dir: Path, first_day: date = FIRST_DAY) -> list[Path]:
    """One contract CSV per `day` offset (a header row, SOURCE_COLUMNS), named by its date."""
    landing_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for offset, day_rows in rows.groupby("day"):
        path = landing_file(landing_dir, first_day + timedelta(days=int(offset)))
        day_rows[list(SOURCE_COLUMNS)].to_csv(path, index=False)
        paths.append(path)
    return paths


def write_planted(scenario: Scenario, data_dir: Path, seed: int) -> Path:
    """Land the scenario's draw under `data_dir/landing/transactions`; return the truth file."""
    rows, truth = planted_transactions(scenario, seed)
    write_landing(rows, data_dir / "landing" / "transactions")
    path = data_dir / TRUTH_FILE
    truth.to_csv(path, index=False)
    return path
