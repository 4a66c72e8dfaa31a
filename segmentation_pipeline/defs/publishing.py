"""The `published_marts` asset: what people and tools read, without the writer's lock.

DuckDB lets one process write a database file, or any number read it, never both: a notebook or
a BI tool holding `warehouse.duckdb` open would stop the nightly run. So each night's marts are
exported to Parquet files under `<data dir>/published/` and swapped in with atomic renames, and a
small `published.duckdb` holds one view per file. Readers open those; a reader holding them open
during a run keeps working and sees the new night once it is published.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from segmentation_pipeline.defs.features.assets import customer_features
from segmentation_pipeline.defs.metadata import markdown_table
from segmentation_pipeline.defs.resources import Warehouse
from segmentation_pipeline.defs.segments.assets import customer_segments, segment_profiles
from segmentation_pipeline.settings import WAREHOUSE_POOL, get_settings

MARTS_SCHEMA = "marts"
PUBLISHED_DATABASE = "published.duckdb"
PARTIAL_SUFFIX = ".partial"


def published_dir() -> Path:
    return get_settings().data_dir / "published"


def mart_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every table of the marts schema: new marts are published without a change here."""
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = ? AND table_type = 'BASE TABLE' ORDER BY table_name",
        [MARTS_SCHEMA],
    ).fetchall()
    return [name for (name,) in rows]


def sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def write_views(database: Path, files: dict[str, Path]) -> None:
    """A fresh DuckDB file with one view per Parquet file, swapped in whole."""
    partial = database.with_name(database.name + PARTIAL_SUFFIX)
    partial.unlink(missing_ok=True)
    with duckdb.connect(str(partial)) as con:
        for table, path in files.items():
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet({sql_path(path)})")
    os.replace(partial, database)


def publish_marts(con: duckdb.DuckDBPyConnection, target: Path) -> dict[str, int]:
    """Export every mart table to `target/<table>.parquet` and refresh the views over them.

    All files are written under temporary names first and renamed only when every export has
    succeeded, so a failed or killed run leaves the previous night's files in place, and a
    reader never sees a half-written file. Returns each table's row count.
    """
    target.mkdir(parents=True, exist_ok=True)
    tables = mart_tables(con)
    rows: dict[str, int] = {}
    for table in tables:
        partial = target / f"{table}.parquet{PARTIAL_SUFFIX}"
        con.execute(
            f"COPY (SELECT * FROM {MARTS_SCHEMA}.{table}) TO {sql_path(partial)} "
            "(FORMAT parquet, COMPRESSION zstd)"
        )
        (rows[table],) = con.execute(f"SELECT count(*) FROM {MARTS_SCHEMA}.{table}").fetchone()
    files = {table: target / f"{table}.parquet" for table in tables}
    for table, path in files.items():
        os.replace(target / f"{table}.parquet{PARTIAL_SUFFIX}", path)
    for stale in set(target.glob("*.parquet")) - set(files.values()):
        stale.unlink()  # a mart that no longer exists is no longer published
    write_views(target / PUBLISHED_DATABASE, files)
    return rows


@dg.asset(
    deps=[customer_features, customer_segments, segment_profiles],
    group_name="publishing",
    kinds={"parquet", "duckdb"},
    owners=["team:data-engineering"],
    pool=WAREHOUSE_POOL,
    tags={"layer": "published"},
)
def published_marts(warehouse: Warehouse) -> dg.MaterializeResult:
    """Tonight's marts for readers: `published/<table>.parquet` plus `published/published.duckdb`.

    Every table of the `marts` schema is exported to Parquet (zstd) and swapped in by atomic
    rename once all exports succeeded; `published.duckdb` holds one view per file. Notebooks, BI
    tools, pandas and Spark read these without taking the warehouse's lock, so reading never
    blocks the nightly run, and a reader connected during the run sees the new night after it.
    """
    started = time.perf_counter()
    target = published_dir()
    with warehouse.connect() as con:
        rows = publish_marts(con, target)
    tables = pd.DataFrame(
        [
            {"table": table, "rows": count, "file": f"published/{table}.parquet"}
            for table, count in rows.items()
        ]
    )
    return dg.MaterializeResult(
        metadata={
            "published_dir": dg.MetadataValue.path(str(target)),
            "database": dg.MetadataValue.path(str(target / PUBLISHED_DATABASE)),
            "tables": markdown_table(tables, max_rows=len(tables)),
            "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "example_query": dg.MetadataValue.md(
                f"`duckdb -readonly {target / PUBLISHED_DATABASE} "
                '"SELECT segment_name, customers FROM segment_profiles"`'
            ),
            "seconds": round(time.perf_counter() - started, 3),
        }
    )
