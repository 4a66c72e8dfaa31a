"""The `raw_transactions` asset: one daily partition per landing file."""

import time
from collections import Counter

import dagster as dg
import pandas as pd

from segmentation_pipeline.defs.metadata import markdown_table, table_metadata
from segmentation_pipeline.defs.partitions import daily_partitions
from segmentation_pipeline.defs.resources import LandingZone, Warehouse
from segmentation_pipeline.lib.ingest import raw_layer
from segmentation_pipeline.lib.ingest.landing_file import LandingFileError
from segmentation_pipeline.lib.ingest.loader import FileLoad, create_raw_tables, load_days
from segmentation_pipeline.lib.quality.validation import prefetch_great_expectations
from segmentation_pipeline.settings import (
    RAW_TRANSACTIONS_TABLE,
    WAREHOUSE_POOL,
    get_settings,
)

LANDING_SHA256_METADATA_KEY = "landing_file_sha256"


class RawTransactionsConfig(dg.Config):
    """How much breakage a file may carry before the whole day is refused."""

    max_rejected_share: float = 0.05


def files_table(loads: list[FileLoad]) -> pd.DataFrame:
    """One row per loaded file: its day, name, data lines, rows loaded and rejected, and how it
    was checked (in one pass when every line was a plain valid row, else row by row)."""
    return pd.DataFrame(
        [
            {
                "day": load.day,
                "file": load.path.name,
                "data_lines": load.data_lines,
                "loaded": load.rows_loaded,
                "rejected": load.rows_rejected,
                "ignored_columns": ", ".join(load.ignored_columns) or "-",
                "checked": "row by row" if load.checked_row_by_row else "one pass",
            }
            for load in loads
        ]
    )


def rejection_reasons(loads: list[FileLoad]) -> dict[str, int]:
    """Rows rejected per contract rule over every loaded file."""
    return dict(sum((Counter(load.rejection_reasons) for load in loads), Counter()))


@dg.asset(
    group_name="ingest",
    kinds={"duckdb", "csv"},
    owners=["team:data-engineering"],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WAREHOUSE_POOL,
    retry_policy=dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL),
    tags={"layer": "raw"},
)
def raw_transactions(
    context: dg.AssetExecutionContext,
    config: RawTransactionsConfig,
    warehouse: Warehouse,
    landing: LandingZone,
) -> dg.MaterializeResult:
    """Daily transaction drops loaded into `raw.transactions` (10 source columns + date).

    Each day's landing file `landing/transactions/YYYY-MM-DD.csv` replaces that day's rows:
    delete the day, insert, in one transaction, so re-running a day changes nothing. Rows that
    break the data contract go to `raw.rejected_transactions` with their line and reasons. A
    range of days (a backfill) is one run and one transaction: if any day fails, none is written.
    With the Spark engine, each loaded day is also written as Parquet under
    `raw/transactions/transaction_date=DAY/` (the raw layer Spark reads; see
    `lib/ingest/raw_layer.py`), renamed into place after the commit.
    Per-day figures are in the `files` table of the metadata.
    """
    prefetch_great_expectations()  # for the contract check that follows this asset
    settings = get_settings()
    started = time.perf_counter()
    files = {day: landing.day_file(day) for day in context.partition_keys}
    with warehouse.connect() as con:
        create_raw_tables(con)
        # The Parquet raw layer is Spark's input: written with the rows only for that engine.
        raw_root = settings.raw_transactions_dir if settings.engine == "spark" else None
        repaired = raw_layer.sync_raw_layer(con, raw_root) if raw_root else []
        try:
            loads = load_days(con, files, settings.staging_dir, raw_root, config.max_rejected_share)
        except LandingFileError as error:
            # A bad file stays bad: fail now (no retries) and say which file and why.
            raise dg.Failure(
                description=str(error),
                metadata={"file": str(error.path), "problem": error.problem},
                allow_retries=False,
            ) from error
        metadata = table_metadata(
            con,
            RAW_TRANSACTIONS_TABLE,
            preview_sql=(
                f"SELECT * FROM {RAW_TRANSACTIONS_TABLE} "
                f"WHERE transaction_date = DATE '{loads[-1].day}' LIMIT 10"
            ),
        )
        engine_settings = warehouse.engine_settings(con)
    table = files_table(loads)
    loaded, rejected = int(table["loaded"].sum()), int(table["rejected"].sum())
    # One log line for the range, not one per day: each line is an event the run stores.
    context.log.info(f"{len(loads)} days: {loaded} rows loaded, {rejected} rejected")
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "days_loaded": len(loads),
            "rows_loaded": loaded,
            "rows_rejected": rejected,
            "data_lines": int(table["data_lines"].sum()),
            "rejection_reasons": rejection_reasons(loads),
            # Which content each day was loaded from: the landing sensor and the nightly
            # schedule skip a file whose content is already loaded.
            LANDING_SHA256_METADATA_KEY: {load.day: load.file_sha256 for load in loads},
            "files": markdown_table(table, max_rows=len(table)),
            "duckdb_settings": engine_settings,
            "raw_layer": (
                dg.MetadataValue.path(str(raw_root))
                if raw_root
                else "not written by the DuckDB engine (a Spark job exports it first)"
            ),
            "raw_layer_days_repaired": repaired,
            "seconds": round(time.perf_counter() - started, 3),
        }
    )
