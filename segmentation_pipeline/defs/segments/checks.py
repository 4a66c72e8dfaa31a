"""The blocking Great Expectations check on `customer_segments`."""

import time

import dagster as dg

from segmentation_pipeline.defs.check_results import check_result
from segmentation_pipeline.defs.resources import ModelStore, Warehouse
from segmentation_pipeline.defs.segments.assets import customer_segments
from segmentation_pipeline.lib.quality.sampled_validation import (
    GE_SAMPLE_CUSTOMERS,
    validate_relation,
)
from segmentation_pipeline.lib.quality.suites import customer_segments_suite
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
    """Validate `marts.customer_segments` against `marts.customer_features` and the model's K
    (GE on at most GE_SAMPLE_CUSTOMERS customers, exact counts in the engine over all)."""
    started = time.perf_counter()
    card = model_store.load_card()
    relation = f"SELECT * FROM {CUSTOMER_SEGMENTS_TABLE}"
    with warehouse.connect() as con:
        (customers,) = con.execute(f"SELECT count(*) FROM {CUSTOMER_FEATURES_TABLE}").fetchone()
        columns = [name for (name, *_) in con.execute(f"DESCRIBE {relation}").fetchall()]
        outcome = validate_relation(
            con,
            relation,
            "customer_segments",
            customer_segments_suite(
                columns, int(customers), sorted(map(int, card["segment_names"]))
            ),
            GE_SAMPLE_CUSTOMERS,
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
