"""One local[2] Spark session for the Spark tests (starting a JVM costs seconds: share it)."""

import os
import shutil
from collections.abc import Iterator

import pytest

from segmentation_pipeline_tests.support.spark import SPARK_TEST_CONF, SPARK_TEST_ENV


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
