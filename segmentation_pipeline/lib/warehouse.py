"""DuckDB plumbing shared by every stage: transactions, atomic table swaps, warehouse access.

A leaf of `lib`: the `Warehouse` resource (defs/resources.py) implements `WarehouseAccess`, so
plain logic can read the warehouse without importing Dagster.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

import duckdb
import pandas as pd


class WarehouseAccess(Protocol):
    """What logic needs of the warehouse: a configured connection, or a query's rows."""

    def connect(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]: ...

    def read_df(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame: ...


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All statements inside commit together or not at all."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def replace_table_from_frame(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pd.DataFrame,
    statements_before: Sequence[str] = (),
) -> None:
    """Swap `table` for `frame`'s rows in one transaction: readers see old or new only.

    `statements_before` run first in the same transaction (e.g. keeping the outgoing rows
    for comparison); they can read the incoming rows as `incoming_frame`.
    """
    con.register("incoming_frame", frame)
    try:
        with transaction(con):
            for statement in statements_before:
                con.execute(statement)
            con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM incoming_frame")
    finally:
        con.unregister("incoming_frame")
