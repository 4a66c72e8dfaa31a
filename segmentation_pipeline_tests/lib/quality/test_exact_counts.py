"""The raw contract's exact counts over every row, on rows written past the loader."""

import duckdb

from segmentation_pipeline.lib.ingest.loader import create_raw_tables
from segmentation_pipeline.lib.quality.exact_counts import raw_contract_exact_counts
from segmentation_pipeline.lib.quality.suites import RAW_COLUMNS

GOOD = (1000001, "P00069042", "F", "0-17", 10, "A", "2", "0", 3, 8370, "2025-11-01")


def test_each_broken_rule_is_counted_on_the_rows_that_break_it() -> None:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw")
    create_raw_tables(con)
    rows = [
        GOOD,
        GOOD,  # a copy: both rows count as duplicated
        (1000002, "P123", "X", "0-17", 10, "A", "2", "0", 3, 8370, "2025-11-01"),
        (1000003, "P00000001", "F", "0-17", 10, "A", "2", "0", 3, 0, "2025-11-01"),
        (1000004, "P00000001", "X", "0-17", 10, "A", "2", "0", 3, 5, "2025-11-02"),
        (1000004, "P00000001", "F", "0-17", 10, "A", "2", "0", 3, 5, "2025-11-03"),  # not asked
    ]
    con.executemany("INSERT INTO raw.transactions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    total, counts = raw_contract_exact_counts(con, "2025-11-01", "2025-11-02")
    assert total == 5
    broken = {key: count for key, count in counts.items() if count}
    assert broken == {
        ("expect_column_values_to_be_in_set", "Gender"): 2,
        ("expect_column_values_to_match_regex", "Product_ID"): 1,
        ("expect_column_values_to_be_between", "Purchase"): 1,
        ("expect_compound_columns_to_be_unique", ", ".join(RAW_COLUMNS)): 2,
    }
