"""A range backfill from Dagster's own CLI, as the README documents it, is one run."""

import os
import subprocess

import dagster as dg
import duckdb

from segmentation_pipeline.lib.ingest.landing import landed_days
from segmentation_pipeline.settings import Settings
from segmentation_pipeline_tests.support import BIN, REPO_ROOT


def test_cli_partition_range_is_a_single_run(landed: Settings, tmp_path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO_ROOT / ".dagster" / "dagster.yaml").read_text())
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    days = landed_days(landed.landing_dir)[1:4]
    result = subprocess.run(
        [
            str(BIN / "dagster"),
            "asset",
            "materialize",
            "--select",
            "raw_transactions",
            "--partition-range",
            f"{days[0]}...{days[-1]}",
            "-m",
            "segmentation_pipeline.definitions",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with dg.DagsterInstance.local_temp(str(home)) as instance:
        (run,) = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags["dagster/asset_partition_range_start"] == days[0]
        assert run.tags["dagster/asset_partition_range_end"] == days[-1]
    with duckdb.connect(str(landed.warehouse_path), read_only=True) as con:
        loaded = con.execute(
            "SELECT DISTINCT CAST(transaction_date AS VARCHAR) FROM raw.transactions ORDER BY 1"
        ).fetchall()
    assert [day for (day,) in loaded] == days
