"""Fixtures for the operations tests: a six-day landing folder and a Dagster process env."""

from datetime import date
from pathlib import Path

import pytest

from segmentation_pipeline.lib.sample import write_sample


@pytest.fixture(scope="session")
def six_day_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    landing = tmp_path_factory.mktemp("six_days") / "landing" / "transactions"
    write_sample(landing, seed=11, scale=0.02, last_day=date(2025, 11, 6))
    return landing
