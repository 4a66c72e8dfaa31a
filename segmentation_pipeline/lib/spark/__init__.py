"""DuckDB SQL transpiled to Spark SQL, for the Spark engine (defs/spark)."""
