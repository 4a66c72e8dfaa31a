"""Acceptance: `SEGMENTATION_ENGINE=spark segmentation run` gives DuckDB's features and segments.

The real CLI in a subprocess, so definitions.py picks the engine from the setting and Dagster
Pipes launches `spark-submit` for the feature and scoring steps (two short local[2] jobs).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from segmentation_pipeline.settings import (
    CUSTOMER_FEATURES_TABLE,
    CUSTOMER_SEGMENTS_TABLE,
    DATA_DIR_ENV,
    ENGINE_ENV,
    SPARK_CONF_ENV,
)
from segmentation_pipeline_tests.support.spark import SPARK_TEST_CONF, SPARK_TEST_ENV


def tables(data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        return (
            con.execute(f"SELECT * FROM {CUSTOMER_FEATURES_TABLE} ORDER BY user_id").df(),
            con.execute(
                f"SELECT user_id, segment_id, segment_name FROM {CUSTOMER_SEGMENTS_TABLE} "
                "ORDER BY user_id"
            ).df(),
        )


def test_spark_run_gives_the_duckdb_features_and_segment_of_every_customer(
    materialised_template: Path, small_landing: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(small_landing, data / "landing" / "transactions")
    env = {
        **os.environ,
        **SPARK_TEST_ENV,
        DATA_DIR_ENV: str(data),
        ENGINE_ENV: "spark",
        SPARK_CONF_ENV: ",".join(f"{key}={value}" for key, value in SPARK_TEST_CONF.items()),
        "DAGSTER_HOME": str(tmp_path / ".dagster"),
    }
    run = subprocess.run(
        [sys.executable, "-m", "segmentation_pipeline", "run", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-3000:]

    spark_features, spark_segments = tables(data)
    duckdb_features, duckdb_segments = tables(materialised_template)
    pd.testing.assert_frame_equal(
        spark_features, duckdb_features, check_exact=False, rtol=1e-9, atol=0
    )
    pd.testing.assert_frame_equal(spark_segments, duckdb_segments)
    # Spark's own figures came back through Pipes onto both steps' materializations.
    with dg.DagsterInstance.from_config(str(tmp_path / ".dagster")) as instance:
        for asset in ("customer_features", "customer_segments"):
            event = instance.get_latest_materialization_event(dg.AssetKey(asset))
            metadata = event.asset_materialization.metadata
            assert metadata["engine"].value == "spark"
            assert metadata["spark_master"].value == "local[2]"
            assert metadata["spark_rows_written"].value == len(duckdb_features)
