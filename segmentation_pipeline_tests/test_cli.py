"""The `segmentation` command as a user runs it: a real process, a temporary data dir."""

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest


def segmentation(*args: str, data: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "SEGMENTATION_DATA_DIR": str(data),
        "DAGSTER_HOME": str(cwd / ".dagster"),
    }
    return subprocess.run(
        [sys.executable, "-m", "segmentation_pipeline", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_sample_then_run_prints_the_segment_summary(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (tmp_path / ".dagster").mkdir()
    (tmp_path / ".dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    sample = segmentation("sample", "--scale", "0.02", data=data, cwd=tmp_path)
    assert sample.returncode == 0, sample.stderr
    assert "in 28 daily files (2025-11-01..2025-11-28)" in sample.stdout
    again = segmentation("sample", "--if-empty", data=data, cwd=tmp_path)
    assert "sample not written" in again.stdout

    run = segmentation("run", data=data, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "marts.customer_segments" in run.stdout
    assert "segment_name" in run.stdout and "revenue_share_pct" in run.stdout
    assert "buyers, " in run.stdout
    assert (data / "warehouse.duckdb").exists()
    assert (data / "models" / "current.json").exists()


def test_a_bad_file_fails_with_its_name_and_problem(tmp_path: Path) -> None:
    data = tmp_path / "data"
    landing = data / "landing" / "transactions"
    landing.mkdir(parents=True)
    (landing / "2025-11-03.csv").write_text("User_ID;Product_ID;Gender\n1;P00000001;F\n")
    run = segmentation("run", data=data, cwd=tmp_path)
    assert run.returncode != 0
    assert "2025-11-03.csv: the header is not comma-separated" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("command", [["run"], ["summary"]])
def test_nothing_landed_is_a_clear_error(tmp_path: Path, command: list[str]) -> None:
    result = segmentation(*command, data=tmp_path / "data", cwd=tmp_path)
    assert result.returncode != 0
    assert "segmentation sample" in result.stderr


def test_summary_before_the_marts_exist_is_a_clear_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with duckdb.connect(str(data / "warehouse.duckdb")) as con:
        con.execute("CREATE SCHEMA raw; CREATE TABLE raw.transactions (User_ID BIGINT)")
    result = segmentation("summary", data=data, cwd=tmp_path)
    assert result.returncode != 0
    assert "Nothing published" in result.stderr and "Traceback" not in result.stderr
