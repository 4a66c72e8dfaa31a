"""The warehouse's SQL (DuckDB dialect) as Spark SQL, transpiled by sqlglot.

The feature and scoring SQL stay written once, for DuckDB; sqlglot rewrites it for Spark, and
warehouse table names (`raw.transactions`) become the temp views the Spark job registers
(`raw__transactions`). sqlglot does not check that Spark accepts the result: the tests run both
engines on the same data and compare the tables row for row.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp


def view_name(table: str) -> str:
    """The Spark temp view standing for warehouse table `schema.table`."""
    return table.replace(".", "__")


def tables_read(duckdb_sql: str) -> list[str]:
    """The warehouse tables (`schema.table`) that a query reads, CTE names excluded."""
    tree = sqlglot.parse_one(duckdb_sql, read="duckdb")
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    tables = {
        f"{table.db}.{table.name}" if table.db else table.name
        for table in tree.find_all(exp.Table)
        if table.db or table.name not in ctes
    }
    return sorted(tables)


def to_spark_sql(duckdb_sql: str) -> str:
    """`duckdb_sql` in Spark's dialect, reading each warehouse table from its temp view."""
    tree = sqlglot.parse_one(duckdb_sql, read="duckdb")
    for table in tree.find_all(exp.Table):
        if table.db:
            alias = table.alias or table.name
            table.replace(
                exp.Table(
                    this=exp.to_identifier(view_name(f"{table.db}.{table.name}")),
                    alias=exp.TableAlias(this=exp.to_identifier(alias)),
                )
            )
    return tree.sql(dialect="spark", pretty=True)


def spark_type(duckdb_type: str) -> str:
    """A DuckDB column type as Spark DDL (VARCHAR becomes STRING)."""
    return exp.DataType.build(duckdb_type, dialect="duckdb").sql(dialect="spark")
