"""The Spark engine: the warehouse's SQL transpiled to Spark SQL, run by a job Dagster launches
through Pipes over the Parquet raw layer (needs the `[spark]` extra and Java 17)."""
