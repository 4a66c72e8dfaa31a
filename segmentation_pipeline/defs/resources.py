"""Resources: the landing zone, the compute-engine interface, the DuckDB warehouse (itself the
embedded engine) and the model store.

Paths left empty resolve against the data dir at run time (see `settings.get_settings`), so the
same Definitions serve `make run`, `dagster dev` and tests pointed at a temporary folder.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd

from segmentation_pipeline.lib.ingest.landing import landed_days, landing_file, stray_files
from segmentation_pipeline.lib.warehouse import replace_table_from_frame, transaction
from segmentation_pipeline.settings import get_settings

# DuckDB's message when another process holds the file: "... Conflicting lock is held in
# /usr/bin/python3.11 (PID 4242) ...".
LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")
LOCK_RETRY_SECONDS = 1.0


def process_command(pid: int, program: str) -> str:
    """The holder's command line (from /proc), or the program DuckDB named if it is unreadable."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return program
    command = " ".join(raw.replace(b"\0", b" ").decode(errors="replace").split()) or program
    return command if len(command) <= 160 else command[:157] + "..."


def held_by_another_process(error: duckdb.Error) -> bool:
    """Whether DuckDB refused the file because another process holds its lock."""
    return LOCK_HOLDER.search(str(error)) is not None


def warehouse_locked(path: Path, error: duckdb.Error, waited: float) -> dg.Failure | None:
    """A one-line failure naming the process that holds the warehouse; None for other errors."""
    holder = LOCK_HOLDER.search(str(error))
    if holder is None:
        return None
    pid = int(holder["pid"])
    return dg.Failure(
        description=(
            f"The warehouse {path} is held by another process, PID {pid} "
            f"({process_command(pid, holder['program'])}), still after {waited:.0f} s: close "
            "it (read the published marts instead, see README 'Reading the marts'), or raise "
            "SEGMENTATION_WAREHOUSE_LOCK_WAIT_SECONDS."
        ),
        metadata={"warehouse": str(path), "holder_pid": pid},
        allow_retries=False,
    )


def warehouse_unreadable(path: Path, error: duckdb.Error) -> dg.Failure:
    """A one-line failure for a warehouse DuckDB cannot open (e.g. a truncated copy): retrying
    cannot repair it, and the landing files can rebuild it."""
    return dg.Failure(
        description=(
            f"The warehouse {path} cannot be opened ({error}). If it is damaged, restore it from "
            "a backup, or move it aside: `segmentation run` rebuilds it from the landing files "
            "(the segment history starts again)."
        ),
        metadata={"warehouse": str(path)},
        allow_retries=False,
    )


ENGINE_SETTINGS = ("memory_limit", "threads", "temp_directory")


class LandingZone(dg.ConfigurableResource):
    """The folder daily drops land in, one `YYYY-MM-DD.csv` per data day (lib/ingest/landing.py).

    The loader reads its day files, the schedule and the sensor scan it; left empty it resolves
    against the data dir at run time, like the warehouse.
    """

    folder: str = ""

    @property
    def path(self) -> Path:
        return Path(self.folder) if self.folder else get_settings().landing_dir

    def day_file(self, day: str) -> Path:
        return landing_file(self.path, day)

    def landed_days(self) -> list[str]:
        """Days (YYYY-MM-DD) that have a landing file, oldest first."""
        return landed_days(self.path)

    def stray_files(self) -> list[str]:
        """Files of the folder not named as day files (never loaded)."""
        return stray_files(self.path)


class ComputeEngine(dg.ConfigurableResource):
    """Runs the heavy SQL (features, scoring) and leaves its results in the warehouse.

    Two implementations share these methods: the `Warehouse` itself (embedded DuckDB: the SQL
    runs inside the warehouse file, the default) and `spark.engine.SparkComputeEngine`
    (`SEGMENTATION_ENGINE=spark`); definitions.py picks one, and the assets, checks and
    schedules do not change. The SQL is written once, for DuckDB. An engine's `warehouse` is
    where its results land.
    """

    def replace_table(
        self, table: str, select_sql: str, context: dg.AssetExecutionContext | None = None
    ) -> int:
        """Atomically replace `table` with the result of `select_sql`; returns its row count."""
        raise NotImplementedError

    def score_customers(
        self, model: Any, version: str, context: dg.AssetExecutionContext | None = None
    ) -> pd.DataFrame:
        """Every customer's (user_id, segment_id, distance_to_centroid) under `model`, by user_id,
        with `marts.model_columns` / `marts.model_centroids` replaced by the model's."""
        raise NotImplementedError


class Warehouse(ComputeEngine):
    """The DuckDB file that holds the `raw` and `marts` schemas, and the embedded compute engine:
    the heavy SQL runs inside the file itself (one resource, bound as `warehouse` and, unless
    Spark is chosen, as `compute_engine`).

    Every connection gets the engine limits from settings (`SEGMENTATION_DUCKDB_MEMORY_LIMIT`,
    `SEGMENTATION_DUCKDB_THREADS`) and a temp directory under the data dir, so work larger than
    the limit spills to disk instead of growing the process.
    """

    database: str = ""

    @property
    def path(self) -> Path:
        return Path(self.database) if self.database else get_settings().warehouse_path

    def _open(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """Open the file (for writing, unless `read_only`); while another process holds it,
        wait up to the configured time (DuckDB allows one writer, or readers only), then fail
        naming the holder."""
        wait = get_settings().warehouse_lock_wait_seconds
        started = time.monotonic()
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.IOException as error:
                waited = time.monotonic() - started
                failure = warehouse_locked(self.path, error, waited)
                if failure is None:
                    raise warehouse_unreadable(self.path, error) from error
                if waited >= wait:
                    raise failure from None
                time.sleep(LOCK_RETRY_SECONDS)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        settings = get_settings()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = self._open()
        try:
            con.execute("SET memory_limit = ?", [settings.duckdb_memory_limit])
            con.execute("SET temp_directory = ?", [str(settings.duckdb_temp_dir)])
            if settings.duckdb_threads:
                con.execute(f"SET threads = {int(settings.duckdb_threads)}")
            con.execute("CREATE SCHEMA IF NOT EXISTS raw; CREATE SCHEMA IF NOT EXISTS marts;")
            yield con
        finally:
            con.close()

    @contextmanager
    def reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection, opened after the same wait as `connect` while another
        process writes (e.g. the summary of `segmentation run` while a later run loads)."""
        con = self._open(read_only=True)
        try:
            yield con
        finally:
            con.close()

    @staticmethod
    def engine_settings(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
        """The engine limits in force on `con`, for asset metadata."""
        return {
            name: str(con.execute(f"SELECT current_setting('{name}')").fetchone()[0])
            for name in ENGINE_SETTINGS
        }

    def read_df(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        with self.connect() as con:
            return con.execute(sql, params or []).df()

    # Kept as a method so assets holding the resource need no second import.
    replace_table_from_frame = staticmethod(replace_table_from_frame)

    @property
    def warehouse(self) -> Warehouse:
        """Where this engine leaves its results: the embedded engine is the warehouse itself."""
        return self

    def replace_table(
        self, table: str, select_sql: str, context: dg.AssetExecutionContext | None = None
    ) -> int:
        with self.connect() as con, transaction(con):
            con.execute(f"CREATE OR REPLACE TABLE {table} AS {select_sql}")
            (rows,) = con.execute(f"SELECT count(*) FROM {table}").fetchone()
        return int(rows)

    def score_customers(
        self, model: Any, version: str, context: dg.AssetExecutionContext | None = None
    ) -> pd.DataFrame:
        from segmentation_pipeline.lib.segments.scoring import score_in_engine

        with self.connect() as con:
            return score_in_engine(con, model, version)


class ModelStoreError(ValueError):
    """A damaged model store (e.g. `current.json` naming a version that is gone)."""


def _read_json(path: Path) -> dict[str, Any]:
    """A file of the model store; a damaged one (e.g. cut short by a full disk) is named."""
    try:
        return json.loads(path.read_text())
    except ValueError as error:
        raise ModelStoreError(
            f"{path} is unreadable ({error}): restore it from a backup, or move its version "
            "folder aside"
        ) from error


class ModelStore(dg.ConfigurableResource):
    """Versioned model folders `models/<version>/` and a `current.json` pointer.

    A version folder holds `model.joblib` and `model_card.json`, written once and never
    overwritten, plus JSON sidecars computed later for that version (e.g. `stability.json`).
    Every version is kept, so the pointer can be moved back to any of them (`restore`).
    """

    root: str = ""

    @property
    def path(self) -> Path:
        return Path(self.root) if self.root else get_settings().models_dir

    @property
    def _pointer(self) -> Path:
        return self.path / "current.json"

    def version_dir(self, version: str) -> Path:
        return self.path / version

    def has_version(self, version: str) -> bool:
        return (self.version_dir(version) / "model_card.json").exists()

    def save(self, version: str, model: Any, card: dict[str, Any]) -> Path:
        """Write a new version and make it current."""
        import joblib  # sklearn's own persistence; imported here to keep module load light

        folder = self.version_dir(version)
        folder.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed, like every file here: a killed run leaves no torn file.
        partial = folder / "model.joblib.partial"
        joblib.dump(model, partial)
        partial.replace(folder / "model.joblib")
        self.save_json(version, "model_card", card)
        # Move the pointer last so readers never see a half-written version.
        self._point_to(version)
        return folder

    def _point_to(self, version: str) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self._pointer.with_suffix(".tmp")
        tmp.write_text(json.dumps({"version": version}))
        tmp.replace(self._pointer)

    def pointed_version(self) -> str | None:
        """The version `current.json` names, kept or not; None when it is missing or unreadable."""
        try:
            return str(json.loads(self._pointer.read_text())["version"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def current_version_or_none(self) -> str | None:
        """The current version; None before the first fit. A pointer that is unreadable or
        names a version that is gone is an error saying how to repair it: refitting in its
        place would silently change every customer's segment."""
        if not self._pointer.exists():
            return None
        version = self.pointed_version()
        if version is None or not self.has_version(version):
            kept = ", ".join(card["version"] for card in self.list_cards()) or "none"
            found = f"names version {version}, which is not kept" if version else "is unreadable"
            raise ModelStoreError(
                f"{self._pointer} {found}: restore a kept version with `segmentation model "
                f"restore VERSION` (kept: {kept}), or delete the file to fit a new model"
            )
        return version

    def current_version(self) -> str:
        version = self.current_version_or_none()
        if version is None:
            raise FileNotFoundError(
                f"No model has been fitted yet ({self._pointer} is missing): "
                "materialise `segmentation_model` first."
            )
        return version

    def restore(self, version: str) -> str | None:
        """Make an existing `version` current again; returns the version it replaces."""
        if not self.has_version(version):
            known = ", ".join(card["version"] for card in self.list_cards()) or "none"
            raise ValueError(f"No model version {version!r} in {self.path} (known: {known})")
        previous = self.pointed_version()  # restoring also repairs a damaged pointer
        self._point_to(version)
        return previous

    def list_cards(self) -> list[dict[str, Any]]:
        """Every kept version's card, oldest data window first (then fitting time)."""
        cards = [_read_json(path) for path in self.path.glob("*/model_card.json")]
        return sorted(
            cards, key=lambda card: (card["data_window"]["last_day"], card.get("fitted_at", ""))
        )

    def save_json(self, version: str, name: str, payload: dict[str, Any]) -> None:
        path = self.version_dir(version) / f"{name}.json"
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(payload, indent=2, sort_keys=True))
        partial.replace(path)

    def load_json(self, version: str, name: str) -> dict[str, Any] | None:
        path = self.version_dir(version) / f"{name}.json"
        return _read_json(path) if path.exists() else None

    def load_card(self, version: str | None = None) -> dict[str, Any]:
        version = version or self.current_version()
        card = self.load_json(version, "model_card")
        if card is None:
            raise FileNotFoundError(f"No model card for version {version} in {self.path}")
        return card

    def load(self, version: str | None = None) -> tuple[Any, dict[str, Any]]:
        import joblib

        card = self.load_card(version)
        return joblib.load(self.version_dir(card["version"]) / "model.joblib"), card
