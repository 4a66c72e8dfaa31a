"""`SparkComputeEngine`: the compute engine resource when `SEGMENTATION_ENGINE=spark`.

Each step is one Spark job that Dagster launches with Pipes (`PipesSubprocessClient` running
`spark-submit` from pyspark's install, master and conf from settings): the job reads the
Parquet raw layer (and any mart it needs, exported from the warehouse as Parquet), runs the
warehouse's SQL transpiled to Spark SQL, and writes its result as Parquet; DuckDB then loads
that Parquet into the mart, cast to the types DuckDB itself would give the same query, so the
marts are the same table whichever engine ran. Only this module's caller changes with the
engine: the asset graph, checks, partitions, schedule and sensor stay as they are.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import uuid
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from segmentation_pipeline.defs.resources import ComputeEngine, Warehouse
from segmentation_pipeline.defs.spark import job
from segmentation_pipeline.lib.ingest.loader import create_raw_tables
from segmentation_pipeline.lib.ingest.raw_layer import RAW_LAYER_SCHEMA, sync_raw_layer
from segmentation_pipeline.lib.spark.dialect import spark_type, tables_read, to_spark_sql, view_name
from segmentation_pipeline.lib.warehouse import transaction
from segmentation_pipeline.settings import RAW_TRANSACTIONS_TABLE, get_settings

# Quiet by default (Spark logs INFO to the run's stderr otherwise); any key can be overridden.
DEFAULT_CONF = {"spark.log.level": "WARN"}


class SparkUnavailableError(RuntimeError):
    """The Spark engine was chosen, but this machine cannot start Spark."""


def parse_conf(text: str) -> dict[str, str]:
    """`key=value,key=value` (the `SEGMENTATION_SPARK_CONF` setting) as a dict."""
    conf = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"Spark conf entry {item!r} is not key=value")
        conf[key.strip()] = value.strip()
    return conf


def spark_submit() -> Path:
    """pyspark's own `spark-submit`, after checking that the extra and Java are installed."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or spec.origin is None:
        raise SparkUnavailableError(
            "SEGMENTATION_ENGINE=spark needs pyspark: pip install -e '.[spark]' "
            "(or set SEGMENTATION_ENGINE=duckdb)"
        )
    if shutil.which("java") is None:
        raise SparkUnavailableError(
            "SEGMENTATION_ENGINE=spark needs Java 17 or later on PATH (e.g. apt-get install "
            "openjdk-17-jre-headless), or set SEGMENTATION_ENGINE=duckdb"
        )
    return Path(spec.origin).parent / "bin" / "spark-submit"


class SparkComputeEngine(ComputeEngine):
    """Runs the feature and scoring SQL on Apache Spark (`local[N]` or a cluster's master URL)."""

    warehouse: Warehouse
    master: str = "local[2]"
    conf: str = ""  # "key=value,key=value", passed to spark-submit as --conf

    def command(self, app_name: str) -> list[str]:
        conf = {**DEFAULT_CONF, **parse_conf(self.conf)}
        return [
            str(spark_submit()),
            "--master",
            self.master,
            "--name",
            app_name,
            *[arg for key, value in conf.items() for arg in ("--conf", f"{key}={value}")],
            job.__file__,
        ]

    def job_extras(self, duckdb_sql: str, exchange: Path, app_name: str) -> dict[str, Any]:
        """What the job needs (Pipes extras): the Spark SQL, where each table it reads lives,
        and the output folder under `exchange`.

        The raw layer is first made to match the ledger (a load killed before its rename is
        re-exported), so Spark reads exactly the rows the warehouse says are loaded.
        """
        settings = get_settings()
        inputs = {}
        with self.warehouse.connect() as con:
            create_raw_tables(con)
            sync_raw_layer(con, settings.raw_transactions_dir)
            for table in tables_read(duckdb_sql):
                if table == RAW_TRANSACTIONS_TABLE:
                    schema = ", ".join(
                        f"{column} {spark_type(kind)}" for column, kind in RAW_LAYER_SCHEMA.items()
                    )
                    inputs[view_name(table)] = {
                        "path": str(settings.raw_transactions_dir),
                        "schema": schema,
                    }
                    continue
                # Marts are per customer (small next to transactions): the warehouse is the
                # interface between steps, so Spark reads the table as it is now.
                folder = exchange / "inputs" / table
                folder.mkdir(parents=True)
                con.execute(f"COPY {table} TO '{folder / 'part-0.parquet'}' (FORMAT parquet)")
                inputs[view_name(table)] = {"path": str(folder)}
        return {
            "app_name": app_name,
            "sql": to_spark_sql(duckdb_sql),
            "inputs": inputs,
            "output": str(exchange / "output"),
        }

    def _run(
        self, context: dg.AssetExecutionContext | None, duckdb_sql: str, exchange: Path
    ) -> Path:
        """Run `duckdb_sql` on Spark through Pipes; returns the folder of its Parquet result."""
        if context is None:
            raise ValueError("The Spark engine launches its job with Dagster Pipes: pass context")
        app_name = f"segmentation-{context.asset_key.to_user_string()}"
        extras = self.job_extras(duckdb_sql, exchange, app_name)
        invocation = dg.PipesSubprocessClient().run(
            context=context,
            command=self.command(app_name),
            extras=extras,
            env={
                # The job's driver runs in this environment's Python, where the package is.
                "PYSPARK_PYTHON": sys.executable,
                "PYSPARK_DRIVER_PYTHON": sys.executable,
                # pyspark 4.3 warns that pandas 3 is new to it; the job does not use pandas.
                "PYTHONWARNINGS": "ignore::FutureWarning",
            },
        )
        context.add_asset_metadata(
            {**invocation.get_materialize_result().metadata, "engine": "spark"}
        )
        return Path(extras["output"])

    def _exchange(self) -> Path:
        folder = get_settings().spark_work_dir / uuid.uuid4().hex
        folder.mkdir(parents=True)
        return folder

    def load_output(self, table: str, select_sql: str, output: Path) -> int:
        """Replace `table` with the job's Parquet result, typed as DuckDB types `select_sql`
        (e.g. HUGEINT sums), so both engines' marts have one schema; returns its row count."""
        with self.warehouse.connect() as con:
            columns = ", ".join(
                f'CAST("{name}" AS {kind}) AS "{name}"'
                # Binding the query gives its types without running it.
                for name, kind, *_ in con.execute(f"DESCRIBE {select_sql}").fetchall()
            )
            with transaction(con):
                con.execute(
                    f"CREATE OR REPLACE TABLE {table} AS SELECT {columns} "
                    f"FROM read_parquet('{output}/*.parquet')"
                )
                (rows,) = con.execute(f"SELECT count(*) FROM {table}").fetchone()
        return int(rows)

    def read_scores(self, output: Path) -> pd.DataFrame:
        with self.warehouse.connect() as con:
            return con.execute(
                f"SELECT * FROM read_parquet('{output}/*.parquet') ORDER BY user_id"
            ).df()

    def replace_table(
        self, table: str, select_sql: str, context: dg.AssetExecutionContext | None = None
    ) -> int:
        exchange = self._exchange()
        try:
            return self.load_output(table, select_sql, self._run(context, select_sql, exchange))
        finally:
            shutil.rmtree(exchange, ignore_errors=True)

    def score_customers(
        self, model: Any, version: str, context: dg.AssetExecutionContext | None = None
    ) -> pd.DataFrame:
        from segmentation_pipeline.lib.segments.scoring import published_scoring_sql

        exchange = self._exchange()
        try:
            with self.warehouse.connect() as con:
                sql = published_scoring_sql(con, model, version)
            return self.read_scores(self._run(context, sql, exchange))
        finally:
            shutil.rmtree(exchange, ignore_errors=True)
