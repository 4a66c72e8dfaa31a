"""Resources: the DuckDB warehouse, the SQL compute engine and the model store.

Paths left empty resolve against the data dir at run time (see `settings.get_settings`), so the
same Definitions serve `make run`, `dagster dev` and tests pointed at a temporary folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd

from segmentation_pipeline.settings import get_settings


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


class Warehouse(dg.ConfigurableResource):
    """The DuckDB file that holds the `raw` and `marts` schemas."""

    database: str = ""

    @property
    def path(self) -> Path:
        return Path(self.database) if self.database else get_settings().warehouse_path

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(self.path))
        try:
            con.execute("CREATE SCHEMA IF NOT EXISTS raw; CREATE SCHEMA IF NOT EXISTS marts;")
            yield con
        finally:
            con.close()

    def read_df(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        with self.connect() as con:
            return con.execute(sql, params or []).df()

    @staticmethod
    def replace_table_from_frame(
        con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame
    ) -> None:
        """Swap `table` for `frame`'s rows in one transaction: readers see old or new only."""
        con.register("incoming_frame", frame)
        try:
            with transaction(con):
                con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM incoming_frame")
        finally:
            con.unregister("incoming_frame")

    def table_exists(self, table: str) -> bool:
        schema, name = table.split(".")
        with self.connect() as con:
            row = con.execute(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = ? AND table_name = ?",
                [schema, name],
            ).fetchone()
        return bool(row and row[0])


class DuckDBComputeEngine(dg.ConfigurableResource):
    """Runs the SQL transformations. DuckDB here; a bigger engine can implement the same methods.

    The feature logic lives in `.sql` files written for a standard SQL dialect, so swapping this
    resource is the only change needed to run it elsewhere.
    """

    warehouse: Warehouse
    threads: int = 0
    memory_limit: str = ""

    @contextmanager
    def _session(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.warehouse.connect() as con:
            if self.threads:
                con.execute(f"SET threads = {int(self.threads)}")
            if self.memory_limit:
                con.execute("SET memory_limit = ?", [self.memory_limit])
            yield con

    def replace_table(self, table: str, select_sql: str) -> int:
        """Atomically replace `table` with the result of `select_sql`; returns its row count."""
        with self._session() as con, transaction(con):
            con.execute(f"CREATE OR REPLACE TABLE {table} AS {select_sql}")
            (rows,) = con.execute(f"SELECT count(*) FROM {table}").fetchone()
        return int(rows)


class ModelStore(dg.ConfigurableResource):
    """Versioned model folders `models/<version>/` (model + JSON card) and a `current` pointer."""

    root: str = ""

    @property
    def path(self) -> Path:
        return Path(self.root) if self.root else get_settings().models_dir

    def version_dir(self, version: str) -> Path:
        return self.path / version

    def save(self, version: str, model: Any, card: dict[str, Any]) -> Path:
        import joblib  # sklearn's own persistence; imported here to keep module load light

        folder = self.version_dir(version)
        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump(model, folder / "model.joblib")
        (folder / "model_card.json").write_text(json.dumps(card, indent=2, sort_keys=True))
        # Write the pointer last so readers never see a half-written version.
        pointer = self.path / "current.json"
        tmp = pointer.with_suffix(".tmp")
        tmp.write_text(json.dumps({"version": version}))
        tmp.replace(pointer)
        return folder

    def current_version(self) -> str:
        pointer = self.path / "current.json"
        if not pointer.exists():
            raise FileNotFoundError(
                f"No model has been fitted yet ({pointer} is missing): "
                "materialise `segmentation_model` first."
            )
        return json.loads(pointer.read_text())["version"]

    def load_card(self, version: str | None = None) -> dict[str, Any]:
        folder = self.version_dir(version or self.current_version())
        return json.loads((folder / "model_card.json").read_text())

    def load(self, version: str | None = None) -> tuple[Any, dict[str, Any]]:
        import joblib

        card = self.load_card(version)
        return joblib.load(self.version_dir(card["version"]) / "model.joblib"), card
