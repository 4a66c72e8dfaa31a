"""One feature definition, two engines: the same landing files give the same features and the
same scores on DuckDB and on Spark (shared local[2] session; the job's own code path)."""

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd

from segmentation_pipeline.defs.automation import range_tags
from segmentation_pipeline.defs.ingest.assets import raw_transactions
from segmentation_pipeline.defs.resources import LandingZone, Warehouse
from segmentation_pipeline.defs.spark.engine import SparkComputeEngine
from segmentation_pipeline.defs.spark.job import run_query
from segmentation_pipeline.lib.features.sql import customer_features_sql
from segmentation_pipeline.lib.ingest.landing import landed_days, landing_file
from segmentation_pipeline.lib.model.training import SegmentationModel
from segmentation_pipeline.lib.segments.scoring import published_scoring_sql
from segmentation_pipeline.settings import CUSTOMER_FEATURES_TABLE, Settings
from segmentation_pipeline_tests.support.customers import (
    customers,
    generic_pipeline,
    sklearn_scores,
)

SPARK_FEATURES_TABLE = "marts.customer_features_from_spark"
QUARANTINED_USER = 999_999_001


def run_on_spark(spark, engine: SparkComputeEngine, duckdb_sql: str, exchange: Path) -> Path:
    """What the Pipes job does with its extras, on the shared session."""
    extras = engine.job_extras(duckdb_sql, exchange, "segmentation-tests")
    run_query(spark, extras["sql"], extras["inputs"], extras["output"])
    return Path(extras["output"])


def test_features_are_identical_on_both_engines_and_a_quarantined_row_reaches_neither(
    spark, data_dir: Settings, small_landing: Path, tmp_path: Path
) -> None:
    shutil.copytree(small_landing, data_dir.landing_dir, dirs_exist_ok=True)
    days = landed_days(data_dir.landing_dir)
    with landing_file(data_dir.landing_dir, days[3]).open("a") as landing:
        landing.write(f"{QUARANTINED_USER},P00069042,F,0-17,10,A,2,0,3,not-a-number\n")
    warehouse = Warehouse()
    with dg.instance_for_test() as instance:
        loaded = dg.materialize(
            [raw_transactions],
            instance=instance,
            resources={"warehouse": warehouse, "landing": LandingZone()},
            tags=range_tags(days[0], days[-1]),
        )
    assert loaded.success
    sql = customer_features_sql()
    warehouse.replace_table(CUSTOMER_FEATURES_TABLE, sql)
    engine = SparkComputeEngine(warehouse=warehouse)
    output = run_on_spark(spark, engine, sql, tmp_path / "exchange")
    rows = engine.load_output(SPARK_FEATURES_TABLE, sql, output)

    with duckdb.connect(str(warehouse.path), read_only=True) as con:
        on_duckdb = con.execute(f"SELECT * FROM {CUSTOMER_FEATURES_TABLE} ORDER BY user_id").df()
        on_spark = con.execute(f"SELECT * FROM {SPARK_FEATURES_TABLE} ORDER BY user_id").df()
        schemas = [
            con.execute(columns_sql(table)).fetchall()
            for table in (CUSTOMER_FEATURES_TABLE, SPARK_FEATURES_TABLE)
        ]
        (quarantined,) = con.execute(
            "SELECT count(*) FROM raw.rejected_transactions WHERE User_ID = ?",
            [str(QUARANTINED_USER)],
        ).fetchone()
    assert rows == len(on_duckdb) > 100
    assert schemas[0] == schemas[1]
    pd.testing.assert_frame_equal(on_spark, on_duckdb, check_exact=False, rtol=1e-9, atol=0)
    assert quarantined == 1
    assert QUARANTINED_USER not in set(on_duckdb["user_id"]) | set(on_spark["user_id"])


def columns_sql(table: str) -> str:
    schema, name = table.split(".")
    return (
        "SELECT column_name, data_type FROM information_schema.columns "
        f"WHERE table_schema = '{schema}' AND table_name = '{name}' ORDER BY ordinal_position"
    )


def test_spark_scores_every_customer_as_scikit_learn_does(
    spark, data_dir: Settings, tmp_path: Path
) -> None:
    pipeline = generic_pipeline(k=4).fit(customers(seed=1).drop(columns="user_id"))
    model = SegmentationModel(pipeline=pipeline, segment_of_label={0: 7, 1: 3, 2: 0, 3: 5})
    scored = customers(seed=2, cities=("A", "B", "C", "Z"))  # "Z" was not seen at fit
    warehouse = Warehouse()
    with warehouse.connect() as con:
        warehouse.replace_table_from_frame(con, CUSTOMER_FEATURES_TABLE, scored)
        sql = published_scoring_sql(con, model, "v1")
    engine = SparkComputeEngine(warehouse=warehouse)
    on_spark = engine.read_scores(run_on_spark(spark, engine, sql, tmp_path / "exchange"))

    segments, distances = sklearn_scores(model, scored.drop(columns="user_id"))
    assert on_spark["user_id"].tolist() == scored["user_id"].tolist()
    assert on_spark["segment_id"].tolist() == segments.tolist()
    np.testing.assert_allclose(on_spark["distance_to_centroid"], distances, rtol=0, atol=1e-9)
