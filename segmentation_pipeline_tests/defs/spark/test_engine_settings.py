"""The engine is a setting: DuckDB by default, Spark with its master and conf passed through."""

from pathlib import Path

import pytest

from segmentation_pipeline.definitions import compute_engine_for, warehouse
from segmentation_pipeline.defs.resources import Warehouse
from segmentation_pipeline.defs.spark.engine import SparkComputeEngine, SparkUnavailableError
from segmentation_pipeline.settings import (
    ENGINE_ENV,
    SPARK_CONF_ENV,
    SPARK_MASTER_ENV,
    get_settings,
)


def test_duckdb_is_the_default_and_spark_takes_master_and_conf(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(ENGINE_ENV, raising=False)
    # One DuckDB resource: the warehouse is the embedded engine.
    assert compute_engine_for(get_settings()) is warehouse

    monkeypatch.setenv(ENGINE_ENV, "spark")
    monkeypatch.setenv(SPARK_MASTER_ENV, "spark://cluster:7077")
    monkeypatch.setenv(SPARK_CONF_ENV, "spark.executor.memory=8g, spark.sql.shuffle.partitions=400")
    engine = compute_engine_for(get_settings())
    assert isinstance(engine, SparkComputeEngine)
    command = engine.command("segmentation-customer_features")
    assert Path(command[0]).name == "spark-submit"
    assert command[command.index("--master") + 1] == "spark://cluster:7077"
    conf = [command[i + 1] for i, arg in enumerate(command) if arg == "--conf"]
    assert conf == [
        "spark.log.level=WARN",
        "spark.executor.memory=8g",
        "spark.sql.shuffle.partitions=400",
    ]
    assert command[-1].endswith("segmentation_pipeline/defs/spark/job.py")

    monkeypatch.setenv(ENGINE_ENV, "snowflake")
    with pytest.raises(ValueError, match="SEGMENTATION_ENGINE='snowflake': expected one of"):
        get_settings()


def test_a_conf_entry_without_a_value_and_a_machine_without_java_fail_clearly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    engine = SparkComputeEngine(warehouse=Warehouse(), conf="x")
    with pytest.raises(ValueError, match="'x' is not key=value"):
        engine.command("app")
    monkeypatch.setenv("PATH", str(tmp_path))  # no java here
    with pytest.raises(SparkUnavailableError, match="needs Java 17"):
        SparkComputeEngine(warehouse=Warehouse()).command("app")
