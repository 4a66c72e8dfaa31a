"""The `segmentation` console script as a user runs it: a real process, a temporary data dir."""

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from segmentation_pipeline.cli import expected_error_message
from segmentation_pipeline_tests.support import REPO_ROOT


def segmentation(*args: str, data: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "SEGMENTATION_DATA_DIR": str(data),
        "DAGSTER_HOME": str(cwd / ".dagster"),
    }
    return subprocess.run(
        [str(Path(sys.executable).with_name("segmentation")), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_sample_then_run_prints_the_segment_summary(tmp_path: Path) -> None:
    data = tmp_path / "data"
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
    line = one_line_error(segmentation("run", data=data, cwd=tmp_path))
    assert "2025-11-03.csv: the header is not comma-separated" in line


def one_line_error(result: subprocess.CompletedProcess) -> str:
    """An expected error: non-zero exit, one line on stderr, no traceback."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    (line,) = lines
    assert line.startswith("segmentation: ")
    return line


@pytest.mark.parametrize("command", [["run"], ["summary"]])
def test_nothing_landed_is_a_clear_error(tmp_path: Path, command: list[str]) -> None:
    line = one_line_error(segmentation(*command, data=tmp_path / "data", cwd=tmp_path))
    assert "segmentation sample" in line


def test_misnamed_files_are_named_and_not_replaced_by_the_sample(tmp_path: Path) -> None:
    """A drop named `2025-11-8.csv` is the user's data: `make run`'s `sample --if-empty` leaves
    it alone, and `run` names it instead of loading nothing silently."""
    data = tmp_path / "data"
    landing = data / "landing" / "transactions"
    landing.mkdir(parents=True)
    for name in ("2025-11-8.csv", "2025-13-45.csv"):
        (landing / name).write_text("User_ID\n1\n")
    (landing / "2025-11-09.csv").mkdir()  # a folder is not a day file either
    sample = segmentation("sample", "--if-empty", data=data, cwd=tmp_path)
    assert "sample not written" in sample.stdout
    assert sorted(path.name for path in landing.iterdir() if path.is_file()) == [
        "2025-11-8.csv",
        "2025-13-45.csv",
    ]
    line = one_line_error(segmentation("run", data=data, cwd=tmp_path))
    assert (
        "2 file(s) not named after a calendar day (YYYY-MM-DD.csv), so not loaded: "
        "2025-11-8.csv, 2025-13-45.csv" in line
    )


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("SEGMENTATION_PARTITION_START=garbage", "expected a date, YYYY-MM-DD"),
        ("SEGMENTATION_WAREHOUSE_LOCK_WAIT_SECONDS=abc", "expected seconds, >= 0"),
        ("SEGMENTATION_WAREHOUSE_LOCK_WAIT_SECONDS=nan", "expected seconds, >= 0"),
        ("SEGMENTATION_ENGINE=foo", "expected one of duckdb, spark"),
        ("SEGMENTATION_SCHEDULE_TIMEZONE=Mars/Olympus", "expected an IANA time zone"),
        ("SEGMENTATION_MODEL_THREADS=0", "expected a whole number of threads"),
        (
            "SEGMENTATION_DUCKDB_MEMORY_LIMIT=lots",
            "expected a size DuckDB reads, e.g. 1GB, 512MB or 50% (of RAM)",
        ),
    ],
)
def test_a_setting_the_product_cannot_use_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str, expected: str
) -> None:
    name, value = setting.split("=")
    monkeypatch.setenv(name, value)
    line = one_line_error(segmentation("run", data=tmp_path / "data", cwd=tmp_path))
    assert line == f"segmentation: {name}={value!r}: {expected}"


@pytest.mark.parametrize(
    ("argument", "problem"),
    [
        *[(f"--scale={scale}", "is not a positive number") for scale in ("0", "-1", "nan", "big")],
        *[(f"--seed={seed}", "is not a whole number >= 0") for seed in ("-1", "1.5")],
    ],
)
def test_a_sample_argument_out_of_range_is_refused_by_the_parser(
    tmp_path: Path, argument: str, problem: str
) -> None:
    result = segmentation("sample", argument, data=tmp_path / "data", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    name, value = argument.split("=")
    assert f"argument {name}: {value!r} {problem}" in result.stderr
    assert not (tmp_path / "data").exists()


def test_a_damaged_warehouse_is_one_line_saying_how_to_recover(tmp_path: Path) -> None:
    data = tmp_path / "data"
    sample = segmentation("sample", "--scale", "0.002", data=data, cwd=tmp_path)
    assert sample.returncode == 0, sample.stderr
    (data / "warehouse.duckdb").write_text("a copy cut short: not a DuckDB file\n")
    recovery = "move it aside: `segmentation run` rebuilds it from the landing files"
    damaged = f"The warehouse {data / 'warehouse.duckdb'} cannot be opened"
    for command, prefix in (("run", "segmentation: run failed: "), ("summary", "segmentation: ")):
        line = one_line_error(segmentation(command, data=data, cwd=tmp_path))
        assert line.startswith(prefix + damaged)
        assert "not a valid DuckDB database file" in line and recovery in line


def test_a_new_dagster_home_gets_the_projects_instance(tmp_path: Path) -> None:
    """Not Dagster's defaults (telemetry on, no warehouse pool): the project's instance."""
    segmentation("run", data=tmp_path / "data", cwd=tmp_path)
    written = (tmp_path / ".dagster" / "dagster.yaml").read_text()
    assert written == (REPO_ROOT / ".dagster" / "dagster.yaml").read_text()
    assert "telemetry:\n  enabled: false" in written and "default_limit: 1" in written


def test_importing_a_missing_file_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "walmart_data.csv"
    line = one_line_error(segmentation("import", str(missing), data=tmp_path, cwd=tmp_path))
    assert f"{missing}: the file does not exist" in line


def test_importing_a_file_without_the_columns_is_one_line(tmp_path: Path) -> None:
    other = tmp_path / "orders.csv"
    other.write_text("order,amount\n1,20\n")
    line = one_line_error(segmentation("import", str(other), data=tmp_path, cwd=tmp_path))
    assert "required columns are missing: User_ID" in line


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = segmentation("import", "--debug", str(tmp_path / "x.csv"), data=tmp_path, cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "LandingFileError" in result.stderr


def test_summary_before_the_marts_exist_is_a_clear_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with duckdb.connect(str(data / "warehouse.duckdb")) as con:
        con.execute("CREATE SCHEMA raw; CREATE TABLE raw.transactions (User_ID BIGINT)")
    assert "Nothing published" in one_line_error(segmentation("summary", data=data, cwd=tmp_path))


def test_a_step_failing_after_its_retries_is_one_line_naming_the_cause() -> None:
    """Dagster's error after the last retry holds every attempt's stack; the user gets the
    last attempt's root cause (the run's log in the instance keeps the rest)."""
    from dagster._core.errors import DagsterMaxRetriesExceededError
    from dagster._utils.error import serializable_error_info_from_exc_info

    try:
        try:
            Path("/nonexistent/model_card.json").read_text()
        except OSError as cause:
            raise RuntimeError("step failed") from cause
    except RuntimeError:
        attempt = serializable_error_info_from_exc_info(sys.exc_info())
    message = expected_error_message(DagsterMaxRetriesExceededError.from_error_info(attempt))
    assert message == (
        "run failed after its retries: FileNotFoundError: [Errno 2] No such file or directory: "
        "'/nonexistent/model_card.json'"
    )
