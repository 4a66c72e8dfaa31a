"""The blocking Great Expectations check on `customer_features`."""

import time

import dagster as dg

from segmentation_pipeline.defs.check_results import check_result
from segmentation_pipeline.defs.features.assets import customer_features
from segmentation_pipeline.defs.resources import Warehouse
from segmentation_pipeline.lib.features.sql import CATEGORY_SHARE_COLUMNS
from segmentation_pipeline.lib.quality.suites import customer_features_suite
from segmentation_pipeline.lib.quality.validation import validate_frame
from segmentation_pipeline.settings import (
    CUSTOMER_FEATURES_TABLE,
    RAW_TRANSACTIONS_TABLE,
    WAREHOUSE_POOL,
)


@dg.asset_check(
    asset=customer_features,
    blocking=True,
    pool=WAREHOUSE_POOL,
    description="GE suite: one row per customer in raw, no missing values, shares sum to 1.",
)
def customer_features_contract(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Validate `marts.customer_features` against the customers present in `raw.transactions`."""
    started = time.perf_counter()
    frame = warehouse.read_df(
        f"SELECT *, {' + '.join(CATEGORY_SHARE_COLUMNS)} AS share_sum "
        f"FROM {CUSTOMER_FEATURES_TABLE}"
    )
    (customers_in_raw,) = warehouse.read_df(
        f"SELECT count(DISTINCT User_ID) AS customers FROM {RAW_TRANSACTIONS_TABLE}"
    )["customers"]
    outcome = validate_frame(
        frame,
        "customer_features",
        lambda: customer_features_suite(list(frame.columns), int(customers_in_raw)),
    )
    return check_result(
        outcome,
        {
            "customers_in_raw": int(customers_in_raw),
            "seconds": round(time.perf_counter() - started, 3),
        },
    )
