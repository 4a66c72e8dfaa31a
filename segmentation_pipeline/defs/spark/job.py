"""The Spark job: one SQL query over Parquet inputs, its result written as Parquet.

Launched by `SparkComputeEngine` through Dagster Pipes (`spark-submit job.py`, the master and
conf on the command line); the query, its inputs and the output folder arrive as Pipes extras,
and the figures go back as the asset's materialization metadata. The result never comes to the
driver: Spark writes it from the executors, and only its row count is read back.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def run_query(spark: SparkSession, sql: str, inputs: dict[str, dict[str, Any]], output: str) -> int:
    """Register each input folder as a temp view, run `sql`, write it to `output`; rows written.

    An input may state its schema (DDL): the raw layer does, so its `transaction_date=` folders
    read as a DATE column and a day with no valid rows still has the source columns.
    """
    for view, source in inputs.items():
        reader = spark.read.schema(source["schema"]) if source.get("schema") else spark.read
        reader.parquet(source["path"]).createOrReplaceTempView(view)
    spark.sql(sql).write.mode("overwrite").parquet(output)
    return spark.read.parquet(output).count()


def main() -> None:
    from dagster_pipes import open_dagster_pipes
    from pyspark.sql import SparkSession

    with open_dagster_pipes() as pipes:
        extras = pipes.extras
        started = time.perf_counter()
        spark = SparkSession.builder.appName(extras["app_name"]).getOrCreate()
        try:
            session_seconds = time.perf_counter() - started
            rows = run_query(spark, extras["sql"], extras["inputs"], extras["output"])
            pipes.log.info(f"Spark {spark.version} on {spark.sparkContext.master}: {rows} rows")
            pipes.report_asset_materialization(
                metadata={
                    "spark_rows_written": rows,
                    "spark_master": spark.sparkContext.master,
                    "spark_version": spark.version,
                    "spark_session_seconds": round(session_seconds, 3),
                    "spark_job_seconds": round(time.perf_counter() - started, 3),
                    "spark_sql": {"raw_value": extras["sql"], "type": "text"},
                }
            )
        finally:
            spark.stop()


if __name__ == "__main__":
    main()
