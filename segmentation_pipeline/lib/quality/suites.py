"""The expectation suites, as code. Each builder is called after GE is imported."""

from __future__ import annotations

from typing import TYPE_CHECKING

from segmentation_pipeline.lib.features.sql import CATEGORY_SHARE_COLUMNS
from segmentation_pipeline.lib.ingest.contract import (
    ALLOWED_VALUES,
    INTEGER_RANGES,
    PRODUCT_ID_PATTERN,
    RAW_COLUMN_TYPES,
)

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

INTEGER_TYPES = ["int64", "Int64", "int32", "Int32"]
TEXT_TYPES = ["StringDtype"]
RAW_COLUMNS = [*RAW_COLUMN_TYPES, "transaction_date"]


def _not_null(columns: list[str]) -> list[Expectation]:
    import great_expectations.expectations as gxe

    return [gxe.ExpectColumnValuesToNotBeNull(column=column) for column in columns]


def raw_transactions_suite() -> list[Expectation]:
    """The raw data contract: columns and types, no missing values, no duplicates, domains."""
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectTableColumnsToMatchSet(column_set=RAW_COLUMNS, exact_match=True),
        *[
            gxe.ExpectColumnValuesToBeInTypeList(
                column=column, type_list=INTEGER_TYPES if kind == "BIGINT" else TEXT_TYPES
            )
            for column, kind in RAW_COLUMN_TYPES.items()
        ],
        *_not_null(RAW_COLUMNS),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=RAW_COLUMNS),
        *[
            gxe.ExpectColumnValuesToBeInSet(column=column, value_set=list(allowed))
            for column, allowed in ALLOWED_VALUES.items()
        ],
        *[
            gxe.ExpectColumnValuesToBeBetween(column=column, min_value=low, max_value=high)
            for column, (low, high) in INTEGER_RANGES.items()
        ],
        gxe.ExpectColumnValuesToMatchRegex(column="Product_ID", regex=PRODUCT_ID_PATTERN),
    ]


def customer_features_suite(columns: list[str], customers_in_raw: int) -> list[Expectation]:
    """One row per customer seen in raw, no missing values, category spend shares sum to 1."""
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectTableRowCountToEqual(value=customers_in_raw),
        gxe.ExpectColumnValuesToBeUnique(column="user_id"),
        *_not_null(columns),
        gxe.ExpectColumnValuesToBeBetween(column="transactions", min_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="total_spend", min_value=1),
        gxe.ExpectColumnValuesToBeBetween(
            column="share_sum", min_value=0.999999, max_value=1.000001
        ),
        *[
            gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0, max_value=1)
            for column in CATEGORY_SHARE_COLUMNS
        ],
    ]


def customer_segments_suite(
    columns: list[str], customers_featurised: int, segment_ids: list[int]
) -> list[Expectation]:
    """Every customer segmented exactly once, into a known segment, at a finite distance."""
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectTableRowCountToEqual(value=customers_featurised),
        gxe.ExpectColumnValuesToBeUnique(column="user_id"),
        *_not_null(columns),
        # Ids carry over between model versions, so the model's ids are not always 0..K-1.
        gxe.ExpectColumnValuesToBeInSet(column="segment_id", value_set=segment_ids),
        # Finite: NaN and infinity fall outside any bounded range.
        gxe.ExpectColumnValuesToBeBetween(
            column="distance_to_centroid", min_value=0, max_value=1e9
        ),
    ]
