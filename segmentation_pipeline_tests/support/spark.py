"""A local Spark session for tests: loopback only, no UI, few shuffle partitions."""

# Tests bind to loopback and start no web UI (ports clash when sessions run side by side).
SPARK_TEST_ENV = {"SPARK_LOCAL_IP": "127.0.0.1", "PYTHONWARNINGS": "ignore::FutureWarning"}

SPARK_TEST_CONF = {"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "4"}
