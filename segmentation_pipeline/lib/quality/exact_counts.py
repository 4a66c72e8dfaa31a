"""Exact counts behind the raw contract, computed in the engine over every row of a run's days.

Great Expectations validates a bounded sample of the rows (see `checks.py`); these counts cover
all of them, with the same rules (`lib/ingest/contract.py`), in one scan plus a duplicate search
that groups on a row hash first (a spillable GROUP BY of one integer) and confirms candidate
duplicates on the full rows, so hash collisions cannot be miscounted.
"""

from __future__ import annotations

import duckdb

from segmentation_pipeline.lib.ingest.contract import (
    ALLOWED_VALUES,
    INTEGER_RANGES,
    PRODUCT_ID_PATTERN,
)
from segmentation_pipeline.lib.quality.suites import RAW_COLUMNS
from segmentation_pipeline.settings import RAW_TRANSACTIONS_TABLE

# Keys: (GE expectation type, column label as `validation._expectation_label` renders it).
ExactCounts = dict[tuple[str, str], int]


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _violation_predicates() -> dict[tuple[str, str], str]:
    predicates = {
        ("expect_column_values_to_not_be_null", column): f"{column} IS NULL"
        for column in RAW_COLUMNS
    }
    for column, allowed in ALLOWED_VALUES.items():
        values = ", ".join(_sql_text(value) for value in allowed)
        predicates[("expect_column_values_to_be_in_set", column)] = f"{column} NOT IN ({values})"
    for column, (low, high) in INTEGER_RANGES.items():
        predicates[("expect_column_values_to_be_between", column)] = (
            f"{column} NOT BETWEEN {low} AND {high}"
        )
    predicates[("expect_column_values_to_match_regex", "Product_ID")] = (
        f"NOT regexp_full_match(Product_ID, {_sql_text(PRODUCT_ID_PATTERN)})"
    )
    return predicates


def raw_contract_exact_counts(
    con: duckdb.DuckDBPyConnection, first_day: str, last_day: str
) -> tuple[int, ExactCounts]:
    """Rows in the days and, per expectation, how many of them break it (0 = met on all rows)."""
    predicates = _violation_predicates()
    where = f"transaction_date BETWEEN DATE '{first_day}' AND DATE '{last_day}'"
    rows, *violations = con.execute(
        "SELECT count(*), "
        + ", ".join(f"count(*) FILTER (WHERE {predicate})" for predicate in predicates.values())
        + f" FROM {RAW_TRANSACTIONS_TABLE} WHERE {where}"
    ).fetchone()
    columns = ", ".join(RAW_COLUMNS)
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
    counts = {key: int(count) for key, count in zip(predicates, violations, strict=True)}
    counts[("expect_compound_columns_to_be_unique", ", ".join(RAW_COLUMNS))] = int(duplicated_rows)
    return int(rows), counts
