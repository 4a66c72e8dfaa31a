"""The blocking Great Expectations check on `customer_segments`."""

import time

import dagster as dg

from segmentation_pipeline.defs.check_results import check_result
from segmentation_pipeline.defs.resources import ModelStore, Warehouse
from segmentation_pipeline.defs.segments.assets import customer_segments
from segmentation_pipeline.lib.quality.suites import customer_segments_suite
from segmentation_pipeline.lib.quality.validation import validate_frame
from segmentation_pipeline.settings import (
    CUSTOMER_FEATURES_TABLE,
    CUSTOMER_SEGMENTS_TABLE,
    WAREHOUSE_POOL,
)


@dg.asset_check(
    asset=customer_segments,
    blocking=True,
    pool=WAREHOUSE_POOL,
    description="GE suite: every featurised customer segmented exactly once, finite distances.",
)
def customer_segments_contract(
    warehouse: Warehouse, model_store: ModelStore
) -> dg.AssetCheckResult:
    """Validate `marts.customer_segments` against `marts.customer_features` and the model's K."""
    started = time.perf_counter()
    frame = warehouse.read_df(f"SELECT * FROM {CUSTOMER_SEGMENTS_TABLE}")
    (customers,) = warehouse.read_df(
        f"SELECT count(*) AS customers FROM {CUSTOMER_FEATURES_TABLE}"
    )["customers"]
    card = model_store.load_card()
    outcome = validate_frame(
        frame,
        "customer_segments",
        lambda: customer_segments_suite(
            list(frame.columns), int(customers), sorted(map(int, card["segment_names"]))
        ),
    )
    return check_result(
        outcome,
        {
            "customers_featurised": int(customers),
            "model_version": card["version"],
            "k": int(card["k"]),
            "seconds": round(time.perf_counter() - started, 3),
        },
    )
