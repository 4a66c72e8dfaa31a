"""One local[2] Spark session for the Spark tests (starting a JVM costs seconds: share it)."""

import os
import shutil
from collections.abc import Iterator

import pytest

# Tests bind to loopback and start no web UI (ports clash when sessions run side by side).
SPARK_TEST_ENV = {"SPARK_LOCAL_IP": "127.0.0.1", "PYTHONWARNINGS": "ignore::FutureWarning"}
SPARK_TEST_CONF = {"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "4"}


@pytest.fixture(scope="session")
def spark() -> Iterator:
    if shutil.which("java") is None:
        pytest.fail("The Spark tests need Java 17 on PATH: apt-get install openjdk-17-jre-headless")
    from pyspark.sql import SparkSession

    os.environ.update(SPARK_TEST_ENV)
    builder = SparkSession.builder.master("local[2]").appName("segmentation-tests")
    for key, value in SPARK_TEST_CONF.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    yield session
    session.stop()
