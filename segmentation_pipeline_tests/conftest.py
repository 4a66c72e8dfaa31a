"""Shared fixtures: a temporary data dir and Dagster instance, and a small landed sample."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from segmentation_pipeline.lib.sample import write_sample
from segmentation_pipeline.settings import DATA_DIR_ENV, Settings, get_settings

SMALL_SCALE = 0.02  # ~11,000 rows, ~118 customers: the whole pipeline in seconds


@pytest.fixture(scope="session")
def small_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample at a small scale, written once per test session."""
    landing = tmp_path_factory.mktemp("small_sample") / "landing" / "transactions"
    write_sample(landing, seed=7, scale=SMALL_SCALE)
    return landing


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """An empty data dir that the pipeline's resources resolve to, via SEGMENTATION_DATA_DIR."""
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))
    settings = get_settings()
    settings.landing_dir.mkdir(parents=True)
    return settings


@pytest.fixture
def landed(data_dir: Settings, small_landing: Path) -> Settings:
    """A data dir whose landing folder holds the small sample."""
    shutil.copytree(small_landing, data_dir.landing_dir, dirs_exist_ok=True)
    return data_dir


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance


@pytest.fixture(scope="session")
def materialised_template(
    tmp_path_factory: pytest.TempPathFactory, small_landing: Path
) -> Iterator[Path]:
    """A data dir after one full `run_pipeline` of the small sample, built once per session."""
    from segmentation_pipeline.cli import run_pipeline

    data = tmp_path_factory.mktemp("materialised") / "data"
    shutil.copytree(small_landing, data / "landing" / "transactions")
    with pytest.MonkeyPatch.context() as patch, dg.instance_for_test() as test_instance:
        patch.setenv(DATA_DIR_ENV, str(data))
        results = run_pipeline(get_settings(), test_instance)
        assert all(result.success for result in results)
    yield data


@pytest.fixture
def materialised(data_dir: Settings, materialised_template: Path) -> Settings:
    """A private copy of the fully materialised data dir (warehouse, models, landing files)."""
    shutil.copytree(materialised_template, data_dir.data_dir, dirs_exist_ok=True)
    return data_dir
