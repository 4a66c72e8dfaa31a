"""The feature SQL, read from the package and rendered for the product categories."""

from __future__ import annotations

from importlib import resources

import pandas as pd

from segmentation_pipeline.settings import PRODUCT_CATEGORIES


def category_share_column(category: int) -> str:
    return f"spend_share_cat_{category:02d}"


CATEGORY_SHARE_COLUMNS: tuple[str, ...] = tuple(
    category_share_column(category) for category in PRODUCT_CATEGORIES
)
# The model's basket: each spend share pulled toward the average customer's share by this many
# pseudo-transactions, (transactions x share + prior x average) / (transactions + prior). A basket
# seen over a handful of purchases is mostly chance: raw, an archetype of customers who buy a few
# times each splits by which of its favourite categories they happened to buy (the low-volume
# overcounts of `benchmarks/independent_archetypes.py`; cache v5 of `benchmarks/k_rule_study.py`
# against v4 measures the prior).
BASKET_PRIOR_TRANSACTIONS = 6


def basket_column(category: int) -> str:
    return f"basket_cat_{category:02d}"


BASKET_COLUMNS: tuple[str, ...] = tuple(basket_column(category) for category in PRODUCT_CATEGORIES)


def profiled_feature_columns(alias: str) -> str:
    """Every feature column of `alias` but the model's basket, in DuckDB SQL: profiles and the
    report read the raw shares, and every customer's 20 columns fewer (0.3 GB less at 100x)."""
    return f"{alias}.* EXCLUDE ({', '.join(BASKET_COLUMNS)})"


def customer_features_sql() -> str:
    """The SELECT that builds `marts.customer_features` from `raw.transactions`."""
    template = resources.files(__package__).joinpath("customer_features.sql").read_text()
    shares = ",\n        ".join(
        f"CAST(sum(CASE WHEN Product_Category = {category} THEN Purchase ELSE 0 END) AS DOUBLE)"
        f" / sum(Purchase) AS {category_share_column(category)}"
        for category in PRODUCT_CATEGORIES
    )
    columns = ", ".join(f"behaviour.{column}" for column in CATEGORY_SHARE_COLUMNS)
    bought = " + ".join(
        f"CASE WHEN totals.{column} > 0 THEN 1 ELSE 0 END" for column in CATEGORY_SHARE_COLUMNS
    )
    prior = BASKET_PRIOR_TRANSACTIONS
    baskets = ",\n    ".join(
        f"(behaviour.transactions * behaviour.{category_share_column(category)} + {prior} * "
        f"avg(behaviour.{category_share_column(category)}) OVER ()) / "
        f"(behaviour.transactions + {prior}) AS {basket_column(category)}"
        for category in PRODUCT_CATEGORIES
    )
    return (
        template.replace("{category_spend_shares}", shares)
        .replace("{category_share_columns}", columns)
        .replace("{category_basket_columns}", baskets)
        .replace("{categories_with_spend}", bought)
    )


def customer_features_of(transactions: pd.DataFrame) -> pd.DataFrame:
    """`marts.customer_features` of transactions held in memory (the contract's columns plus
    `transaction_date`), by the same SQL on an in-memory DuckDB: the model's input without a
    warehouse, for studies and tests on generated data."""
    import duckdb

    from segmentation_pipeline.lib.ingest.contract import RAW_COLUMN_TYPES

    casts = ", ".join(
        f"CAST({column} AS {kind}) AS {column}" for column, kind in RAW_COLUMN_TYPES.items()
    )
    with duckdb.connect() as con:
        con.execute("CREATE SCHEMA raw")
        con.register("landed", transactions)
        con.execute(
            f"CREATE TABLE raw.transactions AS SELECT {casts}, "
            "CAST(transaction_date AS DATE) AS transaction_date FROM landed"
        )
        return con.execute(customer_features_sql()).df()
