"""Blocking asset checks that run the Great Expectations suites against the warehouse.

The checks on `raw_transactions` validate exactly the days of the run that loaded them
(`context.partition_keys`, one day or a backfilled range) and report figures per day. They are
not declared with a partitions_def: Dagster records a single-run range's check evaluation without
a partition, so per-partition check status would read "not evaluated" for every backfilled day.
"""

import time

import dagster as dg
import pandas as pd

from segmentation_pipeline.features.assets import customer_features
from segmentation_pipeline.features.sql import CATEGORY_SHARE_COLUMNS
from segmentation_pipeline.ingest.assets import raw_transactions
from segmentation_pipeline.metadata import markdown_table
from segmentation_pipeline.quality.exact_counts import raw_contract_exact_counts
from segmentation_pipeline.quality.sampled_validation import validate_relation
from segmentation_pipeline.quality.suites import (
    customer_features_suite,
    customer_segments_suite,
    raw_transactions_suite,
)
from segmentation_pipeline.quality.validation import (
    check_result,
    validate_frame,
    with_exact_counts,
)
from segmentation_pipeline.resources import ModelStore, Warehouse
from segmentation_pipeline.segments.assets import customer_segments
from segmentation_pipeline.settings import (
    CUSTOMER_FEATURES_TABLE,
    CUSTOMER_SEGMENTS_TABLE,
    RANDOM_STATE,
    RAW_TRANSACTIONS_TABLE,
    WAREHOUSE_POOL,
)

# Rows of a run that Great Expectations itself validates (split evenly across the run's days):
# a nightly day of the default sample is validated whole, larger runs by a seeded sample.
GE_SAMPLE_ROWS = 200_000
# Customers GE validates in the customer-level checks; past it, a seeded sample plus exact counts.
GE_SAMPLE_CUSTOMERS = 100_000


@dg.asset_check(
    asset=raw_transactions,
    blocking=True,
    pool=WAREHOUSE_POOL,
    description="GE suite on the days loaded: types, no missing values or duplicates, domains.",
)
def raw_transactions_contract(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """Validate the run's days of `raw.transactions` against the raw data contract.

    GE runs on at most GE_SAMPLE_ROWS rows (a seeded sample, the same share of each day), so its
    memory does not grow with the data; the engine counts each rule's violations over every row
    of those days, and an expectation passes only when both say so.
    """
    started = time.perf_counter()
    days = context.partition_keys
    with warehouse.connect() as con:
        per_day = con.execute(
            f"SELECT CAST(transaction_date AS VARCHAR) AS transaction_date, count(*) AS rows "
            f"FROM {RAW_TRANSACTIONS_TABLE} WHERE transaction_date BETWEEN ? AND ? "
            "GROUP BY ALL ORDER BY ALL",
            [days[0], days[-1]],
        ).df()
        rows, exact = raw_contract_exact_counts(con, days[0], days[-1])
        per_day_sample = max(GE_SAMPLE_ROWS // max(len(per_day), 1), 1)
        frame = pd.concat(
            [
                con.execute(
                    f"SELECT * FROM (SELECT * FROM {RAW_TRANSACTIONS_TABLE} "
                    f"WHERE transaction_date = ?) USING SAMPLE reservoir({per_day_sample} ROWS) "
                    f"REPEATABLE ({RANDOM_STATE})",
                    [day],
                ).df()
                for day in per_day["transaction_date"]
            ]
            or [con.execute(f"SELECT * FROM {RAW_TRANSACTIONS_TABLE} LIMIT 0").df()],
            ignore_index=True,
        )
    # Dates as ISO text: one type for the uniqueness and null checks, whatever the engine returns.
    frame["transaction_date"] = frame["transaction_date"].astype(str)
    outcome = with_exact_counts(
        validate_frame(frame, "raw_transactions", raw_transactions_suite), rows, exact
    )
    return check_result(
        outcome,
        {
            "days": len(days),
            "days_without_rows": sorted(set(days) - set(per_day["transaction_date"])),
            "rows_per_day": markdown_table(per_day, max_rows=len(per_day)),
            "seconds": round(time.perf_counter() - started, 3),
        },
    )


@dg.asset_check(
    asset=raw_transactions,
    blocking=True,
    pool=WAREHOUSE_POOL,
    description="Nothing lost: per file, rows loaded + rows rejected = data lines in the file.",
)
def raw_transactions_accounting(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """Reconcile each of the run's days: the file's data lines (counted apart from the parser)
    against the rows in `raw.transactions` and `raw.rejected_transactions` for that day."""
    days = context.partition_keys
    ledger = warehouse.read_df(
        f"""
        WITH loaded AS (
            SELECT transaction_date, count(*) AS in_raw FROM {RAW_TRANSACTIONS_TABLE}
            WHERE transaction_date BETWEEN ? AND ? GROUP BY ALL
        ), rejected AS (
            SELECT transaction_date, count(*) AS in_quarantine FROM raw.rejected_transactions
            WHERE transaction_date BETWEEN ? AND ? GROUP BY ALL
        )
        SELECT CAST(loads.transaction_date AS VARCHAR) AS day, loads.data_lines,
            loads.rows_loaded, loads.rows_rejected,
            coalesce(loaded.in_raw, 0) AS in_raw,
            coalesce(rejected.in_quarantine, 0) AS in_quarantine
        FROM raw.landing_loads AS loads
        LEFT JOIN loaded USING (transaction_date)
        LEFT JOIN rejected USING (transaction_date)
        WHERE loads.transaction_date BETWEEN ? AND ?
        ORDER BY day
        """,
        [days[0], days[-1]] * 3,
    )
    ledger["balanced"] = (
        (ledger["rows_loaded"] + ledger["rows_rejected"] == ledger["data_lines"])
        & (ledger["in_raw"] == ledger["rows_loaded"])
        & (ledger["in_quarantine"] == ledger["rows_rejected"])
    )
    unrecorded = sorted(set(days) - set(ledger["day"]))
    passed = bool(ledger["balanced"].all()) and not unrecorded
    return dg.AssetCheckResult(
        passed=passed,
        description=(
            f"{len(ledger)} files balanced: every data line loaded or quarantined"
            if passed
            else f"unbalanced days: {list(ledger.loc[~ledger['balanced'], 'day'])}, "
            f"days without a load record: {unrecorded}"
        ),
        metadata={
            "data_lines": int(ledger["data_lines"].sum()),
            "rows_loaded": int(ledger["rows_loaded"].sum()),
            "rows_rejected": int(ledger["rows_rejected"].sum()),
            "days_unbalanced": int((~ledger["balanced"]).sum()),
            "days_without_load_record": unrecorded,
            "ledger": markdown_table(ledger, max_rows=len(ledger)),
        },
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
