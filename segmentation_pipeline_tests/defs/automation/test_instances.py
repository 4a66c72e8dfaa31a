"""Both instances (local .dagster/ and production deploy/) look after runs whose process died."""

import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml

from segmentation_pipeline_tests.support import REPO_ROOT

INSTANCES = [REPO_ROOT / ".dagster" / "dagster.yaml", REPO_ROOT / "deploy" / "dagster.yaml"]


@pytest.mark.parametrize("path", INSTANCES, ids=["local", "production"])
def test_run_monitoring_frees_the_slots_of_dead_runs(path: Path) -> None:
    monitoring = yaml.safe_load(path.read_text())["run_monitoring"]
    assert monitoring["enabled"] is True
    assert 0 < monitoring["free_slots_after_run_end_seconds"] <= 60
    assert monitoring["max_runtime_seconds"] > 0  # the catch-all when the whole host went down
    # The default run launcher cannot resume a run: resuming must stay off, or Dagster refuses.
    assert monitoring["max_resume_run_attempts"] == 0


def test_the_local_instance_runs_the_monitoring_daemon(tmp_path: Path) -> None:
    shutil.copy(INSTANCES[0], tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.run_monitoring_enabled
        assert "MONITORING" in instance.get_required_daemon_types()
        assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] == 30
