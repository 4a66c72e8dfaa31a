"""Great Expectations on a bounded sample of a warehouse relation, backed by exact counts.

Up to `sample_rows` rows, GE validates every row (as it always did). Past that, GE validates a
seeded sample, so its memory and time do not grow with the customers, and the engine counts, over
every row, the rows that break each column expectation of the same suite; table-level
expectations (the row count) are judged on the whole relation. An expectation passes only when
GE and the exact count both say so (`validation.with_exact_counts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import duckdb

from segmentation_pipeline.lib.quality.exact_counts import ExactCounts
from segmentation_pipeline.lib.quality.validation import (
    ExpectationOutcome,
    SuiteOutcome,
    validate_frame,
    with_exact_counts,
)
from segmentation_pipeline.settings import RANDOM_STATE

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

# Customers GE validates in the customer-level checks; past it, a seeded sample plus exact counts.
GE_SAMPLE_CUSTOMERS = 100_000
TABLE_ROW_COUNT = "expect_table_row_count_to_equal"


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def _violation_sql(expectation: Expectation, column_types: dict[str, str]) -> str:
    """How many rows of `relation` break one column expectation, as a SQL aggregate."""
    kind, column = expectation.expectation_type, expectation.column
    if kind == "expect_column_values_to_not_be_null":
        # pandas (and so GE) reads a NaN as missing; the engine does not: count both.
        nan = f" OR isnan({column})" if column_types[column] in ("DOUBLE", "FLOAT") else ""
        return f"count(*) FILTER (WHERE {column} IS NULL{nan})"
    if kind == "expect_column_values_to_be_between":
        bounds = [
            f"{column} < {_literal(expectation.min_value)}"
            if expectation.min_value is not None
            else None,
            f"{column} > {_literal(expectation.max_value)}"
            if expectation.max_value is not None
            else None,
        ]
        return f"count(*) FILTER (WHERE {' OR '.join(bound for bound in bounds if bound)})"
    if kind == "expect_column_values_to_be_in_set":
        values = ", ".join(_literal(value) for value in expectation.value_set)
        return f"count(*) FILTER (WHERE {column} NOT IN ({values}))"
    if kind == "expect_column_values_to_be_unique":
        # Every copy of a repeated value breaks it, as GE counts them.
        return (
            f"(SELECT coalesce(sum(copies), 0) FROM (SELECT count(*) AS copies FROM relation "
            f"WHERE {column} IS NOT NULL GROUP BY {column} HAVING count(*) > 1))"
        )
    raise ValueError(f"no exact count for {kind} ({column})")


def suite_exact_counts(
    con: duckdb.DuckDBPyConnection, relation: str, expectations: Sequence[Expectation]
) -> tuple[int, ExactCounts]:
    """Rows of `relation` and, per column expectation, how many rows break it (one scan)."""
    column_types = dict(
        con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {relation})").fetchall()
    )
    columns = [item for item in expectations if item.expectation_type != TABLE_ROW_COUNT]
    counts = ", ".join(_violation_sql(item, column_types) for item in columns)
    rows, *violations = con.execute(
        f"WITH relation AS ({relation}) SELECT count(*), {counts} FROM relation"
    ).fetchone()
    exact = {
        (item.expectation_type, item.column): int(count)
        for item, count in zip(columns, violations, strict=True)
    }
    return int(rows), exact


def _row_count_outcome(expectation: Expectation, rows: int) -> ExpectationOutcome:
    return ExpectationOutcome(
        expectation=TABLE_ROW_COUNT,
        column="",
        success=rows == expectation.value,
        unexpected_count=0,
        unexpected_percent=0.0,
        unexpected_examples=[],
        observed_value=rows,
        unexpected_in_all_rows=abs(rows - expectation.value),
    )


def validate_relation(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    suite_name: str,
    expectations: Sequence[Expectation],
    sample_rows: int,
) -> SuiteOutcome:
    """Validate the rows of `relation` (a SELECT) against `expectations`: whole up to
    `sample_rows` rows, else a seeded sample in GE and exact counts in the engine."""
    (rows,) = con.execute(f"SELECT count(*) FROM ({relation})").fetchone()
    if rows <= sample_rows:
        frame = con.execute(relation).df()
        return validate_frame(frame, suite_name, lambda: expectations)
    frame = con.execute(
        f"SELECT * FROM ({relation}) USING SAMPLE reservoir({int(sample_rows)} ROWS) "
        f"REPEATABLE ({RANDOM_STATE})"
    ).df()
    table_level = [item for item in expectations if item.expectation_type == TABLE_ROW_COUNT]
    per_row = [item for item in expectations if item.expectation_type != TABLE_ROW_COUNT]
    counted_rows, exact = suite_exact_counts(con, relation, per_row)
    sampled = with_exact_counts(
        validate_frame(frame, suite_name, lambda: per_row), counted_rows, exact
    )
    outcomes = [_row_count_outcome(item, counted_rows) for item in table_level]
    return SuiteOutcome(
        suite=sampled.suite,
        rows=sampled.rows,
        outcomes=outcomes + sampled.outcomes,
        rows_counted_exactly=counted_rows,
    )
