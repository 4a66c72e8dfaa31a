"""One place for the knobs: data layout, partitions, table names, model and quality thresholds.

Values are read once from the environment so that the CLI, `dagster dev` and tests all agree.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

T = TypeVar("T")

DATA_DIR_ENV = "SEGMENTATION_DATA_DIR"
PARTITION_START_ENV = "SEGMENTATION_PARTITION_START"
SCHEDULE_CRON_ENV = "SEGMENTATION_SCHEDULE_CRON"
SCHEDULE_TIMEZONE_ENV = "SEGMENTATION_SCHEDULE_TIMEZONE"
HISTORY_RETENTION_ENV = "SEGMENTATION_HISTORY_RETENTION_DAYS"
WAREHOUSE_LOCK_WAIT_ENV = "SEGMENTATION_WAREHOUSE_LOCK_WAIT_SECONDS"
DUCKDB_MEMORY_LIMIT_ENV = "SEGMENTATION_DUCKDB_MEMORY_LIMIT"
DUCKDB_THREADS_ENV = "SEGMENTATION_DUCKDB_THREADS"
MODEL_THREADS_ENV = "SEGMENTATION_MODEL_THREADS"
# Which engine runs the heavy SQL (features, scoring): the embedded DuckDB, or Apache Spark.
ENGINE_ENV = "SEGMENTATION_ENGINE"
SPARK_MASTER_ENV = "SEGMENTATION_SPARK_MASTER"
SPARK_CONF_ENV = "SEGMENTATION_SPARK_CONF"  # "key=value,key=value", passed to spark-submit
ENGINES = ("duckdb", "spark")
# The engine's share of the machine: beyond it DuckDB spills to `duckdb_temp_dir`, so memory
# stays flat however many rows land (the Python process around it needs ~1 GB more at 100x).
DEFAULT_DUCKDB_MEMORY_LIMIT = "1GB"

DEFAULT_PARTITION_START = "2025-11-01"

# The ten columns of the published Black Friday file, in its order.
SOURCE_COLUMNS: tuple[str, ...] = (
    "User_ID",
    "Product_ID",
    "Gender",
    "Age",
    "Occupation",
    "City_Category",
    "Stay_In_Current_City_Years",
    "Marital_Status",
    "Product_Category",
    "Purchase",
)
DEMOGRAPHIC_COLUMNS: tuple[str, ...] = (
    "Gender",
    "Age",
    "Occupation",
    "City_Category",
    "Stay_In_Current_City_Years",
    "Marital_Status",
)
AGE_BANDS: tuple[str, ...] = ("0-17", "18-25", "26-35", "36-45", "46-50", "51-55", "55+")
PRODUCT_CATEGORIES: tuple[int, ...] = tuple(range(1, 21))

# Warehouse tables: the contract between assets.
RAW_TRANSACTIONS_TABLE = "raw.transactions"
CUSTOMER_FEATURES_TABLE = "marts.customer_features"
CUSTOMER_SEGMENTS_TABLE = "marts.customer_segments"
SEGMENT_PROFILES_TABLE = "marts.segment_profiles"
SEGMENT_HISTORY_TABLE = "marts.segment_history"
SEGMENT_MIGRATION_TABLE = "marts.segment_migration"

# Segmentation model defaults (overridable through run config).
K_MIN = 2
K_MAX = 10
RANDOM_STATE = 42
SILHOUETTE_SAMPLE_SIZE = 3000
# A K whose smallest segment holds less than this share of customers is not actionable.
MIN_SEGMENT_SHARE = 0.02
# A segment is high-value when its customers spend this many times the average customer.
HIGH_VALUE_SPEND_RATIO = 1.25

# Data days of segment history kept; the 7-day migration needs at least a week and a day.
DEFAULT_HISTORY_RETENTION_DAYS = 90
MIN_HISTORY_RETENTION_DAYS = 8

# DuckDB allows a single writer process: every asset that touches the warehouse claims this pool.
WAREHOUSE_POOL = "duckdb_warehouse"


@dataclass(frozen=True)
class Settings:
    """Where the product keeps its files, which days exist, and when the nightly run starts."""

    data_dir: Path
    partition_start: date
    schedule_cron: str = "0 2 * * *"
    schedule_timezone: str = "UTC"
    history_retention_days: int = DEFAULT_HISTORY_RETENTION_DAYS
    # How long a run waits for another process to release the warehouse before it fails.
    warehouse_lock_wait_seconds: float = 300.0
    duckdb_memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT
    duckdb_threads: int = 0  # 0: one per core
    # K-Means' OpenMP and BLAS threads spin while they wait: on a busy 2-core machine, two
    # threads made the K sweep 20x slower than one (measured on 10,000 customers).
    model_threads: int = 1
    engine: str = "duckdb"
    spark_master: str = "local[2]"
    spark_conf: str = ""

    @property
    def raw_transactions_dir(self) -> Path:
        """The raw layer as Parquet, one `transaction_date=YYYY-MM-DD/` folder per loaded day."""
        return self.data_dir / "raw" / "transactions"

    @property
    def staging_dir(self) -> Path:
        """Where files checked row by row wait to enter the warehouse (temp Parquet)."""
        return self.data_dir / "staging"

    @property
    def spark_work_dir(self) -> Path:
        """Where the Spark engine exchanges tables with the warehouse (Parquet, per step)."""
        return self.data_dir / "spark"

    @property
    def landing_dir(self) -> Path:
        """The default landing folder (the `LandingZone` resource; files named in lib/ingest)."""
        return self.data_dir / "landing" / "transactions"

    @property
    def warehouse_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def duckdb_temp_dir(self) -> Path:
        return self.data_dir / "duckdb_tmp"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"


class SettingsError(ValueError):
    """An environment variable with a value the product cannot use: names it and what it takes."""


def _setting(name: str, default: object, parse: Callable[[str], T], expected: str) -> T:
    raw = os.environ.get(name, str(default))
    try:
        return parse(raw)
    except ValueError as error:
        raise SettingsError(f"{name}={raw!r}: expected {expected}") from error


def _at_least(minimum: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        if not raw.isdigit() or int(raw) < minimum:
            raise ValueError(raw)
        return int(raw)

    return parse


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in choices:
            raise ValueError(raw)
        return raw

    return parse


def get_settings() -> Settings:
    """Settings from the environment; the data dir defaults to `data/` under the working dir."""
    return Settings(
        data_dir=Path(os.environ.get(DATA_DIR_ENV, "data")).resolve(),
        partition_start=_setting(
            PARTITION_START_ENV, DEFAULT_PARTITION_START, date.fromisoformat, "a date, YYYY-MM-DD"
        ),
        schedule_cron=os.environ.get(SCHEDULE_CRON_ENV, Settings.schedule_cron),
        schedule_timezone=_setting(
            SCHEDULE_TIMEZONE_ENV, Settings.schedule_timezone, _time_zone, "an IANA time zone"
        ),
        history_retention_days=_setting(
            HISTORY_RETENTION_ENV,
            DEFAULT_HISTORY_RETENTION_DAYS,
            _at_least(MIN_HISTORY_RETENTION_DAYS),
            f"a whole number of days, at least {MIN_HISTORY_RETENTION_DAYS} (the 7-day "
            "migration compares with a week ago)",
        ),
        warehouse_lock_wait_seconds=_setting(
            WAREHOUSE_LOCK_WAIT_ENV, Settings.warehouse_lock_wait_seconds, _seconds, "seconds, >= 0"
        ),
        duckdb_memory_limit=_setting(
            DUCKDB_MEMORY_LIMIT_ENV,
            DEFAULT_DUCKDB_MEMORY_LIMIT,
            _memory_limit,
            "a size DuckDB reads, e.g. 1GB, 512MB or 50% (of RAM)",
        ),
        duckdb_threads=_setting(
            DUCKDB_THREADS_ENV, 0, _at_least(0), "a whole number of threads (0: DuckDB's default)"
        ),
        model_threads=_setting(
            MODEL_THREADS_ENV, Settings.model_threads, _at_least(1), "a whole number of threads"
        ),
        engine=_setting(
            ENGINE_ENV, Settings.engine, _one_of(ENGINES), f"one of {', '.join(ENGINES)}"
        ),
        spark_master=os.environ.get(SPARK_MASTER_ENV, Settings.spark_master),
        spark_conf=os.environ.get(SPARK_CONF_ENV, ""),
    )


def _seconds(raw: str) -> float:
    seconds = float(raw)
    if not 0 <= seconds < float("inf"):  # NaN too: a wait that would never end
        raise ValueError(raw)
    return seconds


@functools.cache  # settings are read often, and a value needs checking once
def _memory_limit(raw: str) -> str:
    import duckdb  # its own parser decides; a bad value would otherwise fail every step

    with duckdb.connect() as con:
        try:
            con.execute(f"SET memory_limit = '{raw.replace(chr(39), chr(39) * 2)}'")
        except duckdb.Error as error:
            raise ValueError(raw) from error
    return raw


def _time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(name) from error
    return name
