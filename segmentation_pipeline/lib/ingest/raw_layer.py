"""The raw layer as files: each loaded day's valid rows as one Parquet file Spark can read.

    <data>/raw/transactions/transaction_date=YYYY-MM-DD/part-0.parquet

`raw.transactions` stays a DuckDB table (the DuckDB engine's input, and the truth the ledger
describes); the Parquet files hold the same rows. Only Spark reads them, so with the Spark
engine they are written in the same step as the load, and with DuckDB only when a Spark job
first needs them (`sync_raw_layer`):

1. once the load has filled `raw.transactions`, each loaded day's rows are written to a hidden
   temp file beside its final name, tagged (Parquet key-value metadata) with the landing
   file's SHA-256 and row count, inside the load transaction;
2. the transaction commits (rows, quarantine and ledger together);
3. each temp file is renamed over the day's file (atomic on one filesystem), so a reader sees
   the old day or the new day, never a mix, and re-loading a day replaces exactly its file.

A kill between 2 and 3, or a load with the DuckDB engine, leaves a day whose file does not
match the ledger: `sync_raw_layer` (run before every Spark job, and before every load with the
Spark engine) re-exports exactly those days from the table, and removes files of days the
ledger no longer has and temp files of failed loads.
The partition folder carries the date, so the files hold the ten source columns only.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from segmentation_pipeline.lib.ingest.contract import RAW_COLUMN_TYPES
from segmentation_pipeline.settings import RAW_TRANSACTIONS_TABLE

DAY_FILE = "part-0.parquet"
PARTITION_COLUMN = "transaction_date"
# Hidden (Spark skips it) and not `*.parquet` (DuckDB's glob would match it).
TEMP_PREFIX = ".loading-"
SHA256_KEY = "file_sha256"
ROWS_KEY = "rows_loaded"
# The raw layer's schema for readers that need it stated (Spark), partition column last.
RAW_LAYER_SCHEMA: dict[str, str] = {**RAW_COLUMN_TYPES, PARTITION_COLUMN: "DATE"}


@dataclass(frozen=True)
class StagedDay:
    """A day's Parquet file written under a temp name, waiting for its transaction to commit."""

    day: str
    temp: Path
    final: Path


def day_file(root: Path, day: str) -> Path:
    return root / f"{PARTITION_COLUMN}={day}" / DAY_FILE


def temp_path(folder: Path, kind: str) -> Path:
    """A fresh hidden temp file name in `folder` (removed by `sync_raw_layer` if left behind)."""
    return folder / f"{TEMP_PREFIX}{uuid.uuid4().hex}.{kind}"


def stage_day(
    con: duckdb.DuckDBPyConnection, root: Path, day: str, rows_sql: str, sha256: str, rows: int
) -> StagedDay:
    """Write the rows of `rows_sql` (the raw columns) as the day's file under a temp name,
    tagged with the landing file's SHA-256 and the row count; `publish` renames it into place."""
    final = day_file(root, day)
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path(final.parent, "tmp")
    try:
        con.execute(
            f"COPY ({rows_sql}) TO '{temp}' (FORMAT parquet, "
            f"KV_METADATA {{{SHA256_KEY}: '{sha256}', {ROWS_KEY}: '{int(rows)}'}})"
        )
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return StagedDay(day=day, temp=temp, final=final)


def export_day(
    con: duckdb.DuckDBPyConnection, root: Path, day: str, sha256: str, rows: int
) -> StagedDay:
    """Stage the day's rows of `raw.transactions` as its file (see `stage_day`)."""
    rows_sql = (
        f"SELECT {', '.join(RAW_COLUMN_TYPES)} FROM {RAW_TRANSACTIONS_TABLE} "
        f"WHERE {PARTITION_COLUMN} = DATE '{day}'"
    )
    return stage_day(con, root, day, rows_sql, sha256, rows)


def publish(staged: Iterable[StagedDay]) -> None:
    """Rename each temp file over its day's file: call after the transaction commits."""
    for day in staged:
        day.temp.replace(day.final)


def discard(staged: Iterable[StagedDay]) -> None:
    """Remove temp files of a load that did not commit."""
    for day in staged:
        day.temp.unlink(missing_ok=True)


def _file_tags(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[str | None, int | None]:
    """(SHA-256 tag, row count) of a day file, or Nones when it is missing or unreadable."""
    if not path.exists():
        return None, None
    try:
        tags = dict(
            con.execute(
                "SELECT decode(key), decode(value) FROM parquet_kv_metadata(?)", [str(path)]
            ).fetchall()
        )
        (rows,) = con.execute(
            "SELECT sum(num_rows) FROM parquet_file_metadata(?)", [str(path)]
        ).fetchone()
    except duckdb.Error:  # a truncated or foreign file: export the day again
        return None, None
    return tags.get(SHA256_KEY), int(rows)


def sync_raw_layer(con: duckdb.DuckDBPyConnection, root: Path) -> list[str]:
    """Make the files match the ledger (`raw.landing_loads`); returns the days re-exported.

    A day's file matches when it carries the ledger's SHA-256 and row count. Days without a
    ledger row lose their folder; temp files of loads that never committed are removed.
    """
    ledger = {
        str(day): (sha256, int(rows))
        for day, sha256, rows in con.execute(
            "SELECT CAST(transaction_date AS VARCHAR), file_sha256, rows_loaded "
            "FROM raw.landing_loads"
        ).fetchall()
    }
    if root.is_dir():
        for temp in root.glob(f"*/{TEMP_PREFIX}*"):
            temp.unlink(missing_ok=True)
        for folder in root.glob(f"{PARTITION_COLUMN}=*"):
            if folder.name.split("=", 1)[1] not in ledger:
                shutil.rmtree(folder)
    stale = [
        (day, sha256, rows)
        for day, (sha256, rows) in sorted(ledger.items())
        if _file_tags(con, day_file(root, day)) != (sha256, rows)
    ]
    for day, sha256, rows in stale:
        publish([export_day(con, root, day, sha256, rows)])
    return [day for day, _, _ in stale]
