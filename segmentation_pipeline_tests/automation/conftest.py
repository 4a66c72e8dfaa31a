"""Fixtures for the operations tests: a six-day landing folder and a Dagster process env."""

import os
import shutil
from datetime import date
from pathlib import Path

import pytest

from segmentation_pipeline.sample import write_sample

SIX_DAYS = [f"2025-11-0{day}" for day in range(1, 7)]


@pytest.fixture(scope="session")
def six_day_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    landing = tmp_path_factory.mktemp("six_days") / "landing" / "transactions"
    write_sample(landing, seed=11, scale=0.02, last_day=date(2025, 11, 6))
    return landing


def deployment_dirs(root: Path, landing: Path, instance_yaml: Path) -> dict[str, str]:
    """A data dir holding a copy of `landing`, and a DAGSTER_HOME with `instance_yaml`."""
    home, data = root / "dagster_home", root / "data"
    home.mkdir(parents=True)
    shutil.copy(instance_yaml, home / "dagster.yaml")
    shutil.copytree(landing, data / "landing" / "transactions")
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "SEGMENTATION_DATA_DIR": str(data),
    }


def data_lines(landing: Path, day: str) -> int:
    return len((landing / f"{day}.csv").read_text().splitlines()) - 1
