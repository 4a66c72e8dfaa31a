"""The blocking Great Expectations check on `customer_features`."""

import time

import dagster as dg

from segmentation_pipeline.defs.check_results import check_result
from segmentation_pipeline.defs.features.assets import customer_features
from segmentation_pipeline.defs.resources import Warehouse
from segmentation_pipeline.lib.features.sql import CATEGORY_SHARE_COLUMNS
from segmentation_pipeline.lib.quality.sampled_validation import (
    GE_SAMPLE_CUSTOMERS,
    validate_relation,
)
from segmentation_pipeline.lib.quality.suites import customer_features_suite
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
    """Validate `marts.customer_features` against the customers present in `raw.transactions`
    (GE on at most GE_SAMPLE_CUSTOMERS customers, exact counts in the engine over all)."""
    started = time.perf_counter()
    relation = (
        f"SELECT *, {' + '.join(CATEGORY_SHARE_COLUMNS)} AS share_sum "
        f"FROM {CUSTOMER_FEATURES_TABLE}"
    )
    with warehouse.connect() as con:
        (customers_in_raw,) = con.execute(
            f"SELECT count(DISTINCT User_ID) FROM {RAW_TRANSACTIONS_TABLE}"
        ).fetchone()
        columns = [name for (name, *_) in con.execute(f"DESCRIBE {relation}").fetchall()]
        outcome = validate_relation(
            con,
            relation,
            "customer_features",
            customer_features_suite(columns, int(customers_in_raw)),
            GE_SAMPLE_CUSTOMERS,
        )
    return check_result(
        outcome,
        {
            "customers_in_raw": int(customers_in_raw),
            "seconds": round(time.perf_counter() - started, 3),
        },
    )
