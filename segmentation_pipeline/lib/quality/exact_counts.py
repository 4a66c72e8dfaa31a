"""Exact counts behind the raw contract, computed in the engine over every row of a run's days.

Great Expectations validates a bounded sample of the rows (see `checks.py`); these counts cover
all of them, with the same rules (`lib/ingest/contract.py`): one scan for the rules on a row's
own values, one grouping of each text column's distinct values for the domain rules, and a
duplicate search on a row hash.
"""

from __future__ import annotations

import duckdb

from segmentation_pipeline.lib.ingest.contract import (
    ALLOWED_VALUES,
    INTEGER_RANGES,
    PRODUCT_ID_PATTERN,
    sql_text,
)
from segmentation_pipeline.lib.quality.suites import RAW_COLUMNS
from segmentation_pipeline.settings import RAW_TRANSACTIONS_TABLE

# Keys: (GE expectation type, column label as `validation._expectation_label` renders it).
ExactCounts = dict[tuple[str, str], int]


def _row_predicates() -> dict[tuple[str, str], str]:
    """Rules on a row's own values: cheap on every row (null masks, integer comparisons)."""
    predicates = {
        ("expect_column_values_to_not_be_null", column): f"{column} IS NULL"
        for column in RAW_COLUMNS
    }
    for column, (low, high) in INTEGER_RANGES.items():
        predicates[("expect_column_values_to_be_between", column)] = (
            f"{column} NOT BETWEEN {low} AND {high}"
        )
    return predicates


def _value_predicates() -> dict[tuple[str, str], tuple[str, str]]:
    """Rules on a text column's values, as (column, predicate): tested once per distinct value
    and weighted by its rows, instead of a set lookup or a regex on every row."""
    predicates = {}
    for column, allowed in ALLOWED_VALUES.items():
        values = ", ".join(sql_text(value) for value in allowed)
        predicates[("expect_column_values_to_be_in_set", column)] = (
            column,
            f"{column} NOT IN ({values})",
        )
    predicates[("expect_column_values_to_match_regex", "Product_ID")] = (
        "Product_ID",
        f"NOT regexp_full_match(Product_ID, {sql_text(PRODUCT_ID_PATTERN)})",
    )
    return predicates


def _duplicated_rows(con: duckdb.DuckDBPyConnection, where: str) -> int:
    """Rows that have a copy in the days: counted on a row hash first (one distinct count, which
    spills), then, only when some hash repeats, confirmed on the full rows, so hash collisions
    cannot be miscounted."""
    columns = ", ".join(RAW_COLUMNS)
    (repeats,) = con.execute(
        f"SELECT count(*) - count(DISTINCT hash({columns})) FROM {RAW_TRANSACTIONS_TABLE} "
        f"WHERE {where}"
    ).fetchone()
    if not repeats:
        return 0
    (duplicated_rows,) = con.execute(
        f"""
        WITH candidates AS (
            SELECT hash({columns}) AS row_hash FROM {RAW_TRANSACTIONS_TABLE} WHERE {where}
            GROUP BY row_hash HAVING count(*) > 1
        ), confirmed AS (
            SELECT {columns}, count(*) AS copies FROM {RAW_TRANSACTIONS_TABLE}
            WHERE {where} AND hash({columns}) IN (SELECT row_hash FROM candidates)
            GROUP BY ALL HAVING count(*) > 1
        )
        SELECT coalesce(sum(copies), 0) FROM confirmed
        """
    ).fetchone()
    return int(duplicated_rows)


def raw_contract_exact_counts(
    con: duckdb.DuckDBPyConnection, first_day: str, last_day: str
) -> tuple[int, ExactCounts]:
    """Rows in the days and, per expectation, how many of them break it (0 = met on all rows)."""
    where = f"transaction_date BETWEEN DATE '{first_day}' AND DATE '{last_day}'"
    row_rules, value_rules = _row_predicates(), _value_predicates()
    rows, *row_violations = con.execute(
        "SELECT count(*), "
        + ", ".join(f"count(*) FILTER (WHERE {predicate})" for predicate in row_rules.values())
        + f" FROM {RAW_TRANSACTIONS_TABLE} WHERE {where}"
    ).fetchone()
    columns = sorted({column for column, _ in value_rules.values()})
    value_violations = con.execute(
        f"WITH value_rows AS (SELECT {', '.join(columns)}, count(*) AS rows "
        f"FROM {RAW_TRANSACTIONS_TABLE} WHERE {where} "
        f"GROUP BY GROUPING SETS ({', '.join(f'({column})' for column in columns)})) SELECT "
        + ", ".join(
            f"coalesce(sum(rows) FILTER (WHERE {predicate}), 0)"
            for _, predicate in value_rules.values()
        )
        + " FROM value_rows"
    ).fetchone()
    counts = {
        key: int(count)
        for key, count in zip(
            [*row_rules, *value_rules], [*row_violations, *value_violations], strict=True
        )
    }
    counts[("expect_compound_columns_to_be_unique", ", ".join(RAW_COLUMNS))] = _duplicated_rows(
        con, where
    )
    return int(rows), counts
