"""Running the pipeline: in process (`segmentation_job`), as a `segmentation run` process, and on
a landed day made to drift."""

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pandas as pd

from segmentation_pipeline.definitions import defs
from segmentation_pipeline.lib.ingest.landing import landed_days, landing_file
from segmentation_pipeline.settings import WAREHOUSE_POOL, Settings
from segmentation_pipeline_tests.support import REPO_ROOT


def run_segmentation(
    instance: dg.DagsterInstance, assets: list[str] | None = None, **config: object
) -> dg.ExecuteInProcessResult:
    result = defs.resolve_job_def("segmentation_job").execute_in_process(
        instance=instance,
        run_config={"ops": {"segmentation_model": {"config": config}}},
        asset_selection=[dg.AssetKey(asset) for asset in assets] if assets else None,
    )
    assert result.success
    return result


SHIFTED_DAY = "2025-11-29"

# Customers with these User_ID remainders shop on the shifted day under a new id: new customers.
NEW_CUSTOMER_OFFSET = 10_000_000


def land_shifted_day(settings: Settings) -> None:
    """The last day again as a new day, every purchase three times larger; a tenth of its
    customers come under new ids."""
    day = pd.read_csv(
        landing_file(settings.landing_dir, landed_days(settings.landing_dir)[-1]), dtype=str
    )
    day["Purchase"] = (day["Purchase"].astype(int) * 3).astype(str)
    new = day["User_ID"].astype(int) % 10 == 0
    day.loc[new, "User_ID"] = (day.loc[new, "User_ID"].astype(int) + NEW_CUSTOMER_OFFSET).astype(
        str
    )
    day.to_csv(landing_file(settings.landing_dir, SHIFTED_DAY), index=False)


class Project:
    """A data dir with the small sample landed and a DAGSTER_HOME with the project's instance."""

    def __init__(self, root: Path, landing: Path | None = None):
        self.home, self.data = root / "dagster_home", root / "data"
        if landing is not None:
            self.home.mkdir()
            shutil.copy(REPO_ROOT / ".dagster" / "dagster.yaml", self.home / "dagster.yaml")
            shutil.copytree(landing, self.landing)
        self.env = {
            **os.environ,
            "DAGSTER_HOME": str(self.home),
            "SEGMENTATION_DATA_DIR": str(self.data),
        }

    @property
    def landing(self) -> Path:
        return self.data / "landing" / "transactions"

    def command(self, module: str) -> list[str]:
        return [sys.executable, "-m", module, "run"]

    def start_run(self, log: Path) -> subprocess.Popen:
        return subprocess.Popen(
            self.command("segmentation_pipeline"),
            env=self.env,
            cwd=self.home.parent,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )

    def run(
        self,
        timeout: float = 300,
        module: str = "segmentation_pipeline",
        extra_env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.command(module),
            env={**self.env, **(extra_env or {})},
            cwd=self.home.parent,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    @contextmanager
    def instance(self) -> Iterator[dg.DagsterInstance]:
        with dg.DagsterInstance.from_config(str(self.home)) as instance:
            yield instance

    def pool_holders(self) -> set[str]:
        with self.instance() as instance:
            info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
            return {slot.run_id for slot in info.claimed_slots}
