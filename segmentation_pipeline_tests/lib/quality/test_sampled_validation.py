"""GE on a sample of a relation, with exact counts in the engine over every row."""

import duckdb
import pytest

from segmentation_pipeline.lib.quality.sampled_validation import validate_relation

RELATION = "SELECT * FROM customers"


def expectations(rows: int) -> list:
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectTableRowCountToEqual(value=rows),
        gxe.ExpectColumnValuesToBeUnique(column="user_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="spend"),
        gxe.ExpectColumnValuesToBeBetween(column="spend", min_value=0, max_value=100),
        gxe.ExpectColumnValuesToBeInSet(column="city", value_set=["A", "B"]),
    ]


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE customers AS SELECT range AS user_id, (range % 50)::DOUBLE AS spend, "
        "CASE WHEN range % 2 = 0 THEN 'A' ELSE 'B' END AS city FROM range(5000)"
    )
    return connection


@pytest.mark.parametrize("sample_rows", [100, 10_000])
def test_a_clean_relation_passes_sampled_or_whole(
    con: duckdb.DuckDBPyConnection, sample_rows: int
) -> None:
    outcome = validate_relation(con, RELATION, "customers", expectations(5000), sample_rows)
    assert outcome.success
    assert outcome.rows == min(sample_rows, 5000)
    assert outcome.rows_counted_exactly == (5000 if sample_rows < 5000 else None)


def test_breaks_outside_the_sample_are_counted_exactly(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "INSERT INTO customers VALUES (7, 10, 'A'), (5001, NULL, 'C'), (5002, 'NaN', 'B'), "
        "(5003, 250, 'B')"
    )
    outcome = validate_relation(con, RELATION, "customers", expectations(5000), 100)
    exact = {(item.expectation, item.column): item for item in outcome.outcomes}
    assert not outcome.success
    assert outcome.rows == 100 and outcome.rows_counted_exactly == 5004
    assert exact[("expect_table_row_count_to_equal", "")].unexpected_in_all_rows == 4
    assert exact[("expect_column_values_to_be_unique", "user_id")].unexpected_in_all_rows == 2
    assert exact[("expect_column_values_to_not_be_null", "spend")].unexpected_in_all_rows == 2
    assert exact[("expect_column_values_to_be_in_set", "city")].unexpected_in_all_rows == 1
    between = exact[("expect_column_values_to_be_between", "spend")]
    assert between.unexpected_in_all_rows >= 1 and not between.success
