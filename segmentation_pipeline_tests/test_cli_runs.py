"""A dead or terminated `segmentation run` never blocks the next one, and a waiting run says what
it waits for.

Real `segmentation run` processes on a real instance (the project's .dagster/dagster.yaml, with
the one-slot warehouse pool); runs are killed with SIGKILL, as the OOM killer would.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from segmentation_pipeline.cli_runs import PID_TAG, SIGTERM_GRACE_SECONDS
from segmentation_pipeline.settings import WAREHOUSE_LOCK_WAIT_ENV, WAREHOUSE_POOL
from segmentation_pipeline_tests.support import wait_until
from segmentation_pipeline_tests.support.runs import Project


def cpu_seconds_over(pid: int, seconds: float) -> float:
    """CPU time (user + system) the process uses during the next `seconds`."""

    def used() -> int:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat(5))

    before = used()
    time.sleep(seconds)
    return (used() - before) / os.sysconf("SC_CLK_TCK")


def hold_warehouse(warehouse: Path, read_only: bool, seconds: float) -> subprocess.Popen:
    """Another process holding the DuckDB file (reading or writing) for `seconds`, once open."""
    code = (
        f"import duckdb, time; con = duckdb.connect({str(warehouse)!r}, read_only={read_only}); "
        f"print('holding', flush=True); time.sleep({seconds}); con.close()"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding"
    return holder


@pytest.fixture
def project(tmp_path: Path, small_landing: Path) -> Project:
    return Project(tmp_path, small_landing)


def test_a_killed_run_is_cleaned_up_and_the_next_run_completes(
    project: Project, tmp_path: Path
) -> None:
    killed = project.start_run(tmp_path / "killed.log")
    try:
        (dead_run,) = wait_until(project.pool_holders, 120, "the run to claim the pool", 0.1)
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait(30)
    # The dead run still holds the warehouse slot and still reads as in progress.
    assert project.pool_holders() == {dead_run}
    with project.instance() as instance:
        run = instance.get_run_by_id(dead_run)
        assert run.status == dg.DagsterRunStatus.STARTED
        assert run.tags[PID_TAG] == str(killed.pid)

    # Before the fix this waited forever (SIGKILLed by the timeout).
    after = project.run(timeout=300)
    assert after.returncode == 0, after.stdout + after.stderr
    assert f"Cleaned up run {dead_run} (refresh_job): its process (PID {killed.pid}" in after.stdout
    assert "marts.segment_profiles" in after.stdout
    with project.instance() as instance:
        assert instance.get_run_by_id(dead_run).status == dg.DagsterRunStatus.FAILURE
    assert project.pool_holders() == set()


def test_a_run_waiting_for_the_pool_names_the_run_holding_it(
    project: Project, tmp_path: Path
) -> None:
    holder = project.start_run(tmp_path / "holder.log")
    try:
        (holder_run,) = wait_until(project.pool_holders, 120, "the run to claim the pool", 0.1)
        holder.send_signal(signal.SIGSTOP)  # alive, but holding the slot
        waiting = project.start_run(tmp_path / "waiting.log")
        wanted = f"Waiting for the {WAREHOUSE_POOL} pool (1 slot(s)), held by run {holder_run}"
        line = wait_until(
            lambda: next(
                (x for x in (tmp_path / "waiting.log").read_text().splitlines() if wanted in x),
                None,
            ),
            120,
            lambda: "the waiting message\n" + (tmp_path / "waiting.log").read_text(),
            0.5,
        )
        assert f"`segmentation run` PID {holder.pid}" in line
        # It sleeps while it waits: under a tenth of a core, where it used to spin a whole one.
        assert cpu_seconds_over(waiting.pid, 10) < 1.0
        holder.send_signal(signal.SIGCONT)
        assert holder.wait(300) == 0
        assert waiting.wait(300) == 0, (tmp_path / "waiting.log").read_text()
    finally:
        for process in (holder, locals().get("waiting")):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.kill()
                process.wait(30)


def test_a_warehouse_held_by_another_process_fails_in_one_line_after_the_wait(
    project: Project,
) -> None:
    warehouse = project.data / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()
    holder = hold_warehouse(warehouse, read_only=True, seconds=120)
    try:
        project.env[WAREHOUSE_LOCK_WAIT_ENV] = "3"
        started = time.monotonic()
        run = project.run(timeout=300)
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait(30)
    assert run.returncode != 0
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith("segmentation: run failed")
    assert f"The warehouse {warehouse} is held by another process" in line
    assert f"PID {holder.pid} ({sys.executable} -c import duckdb, time;" in line
    assert "still after 3 s" in line or "still after 4 s" in line
    assert "Reading the marts" in line and WAREHOUSE_LOCK_WAIT_ENV in line
    assert elapsed < 120  # bounded: no retries of the wait


def test_sigterm_ends_the_run_and_frees_the_pool(project: Project, tmp_path: Path) -> None:
    # Dagster records a SIGTERM that comes between steps and could lose it: the run went on
    # to the end. Now it ends within the grace period, canceled, its pool slot freed.
    log = tmp_path / "terminated.log"
    process = project.start_run(log)
    try:
        (run_id,) = wait_until(project.pool_holders, 120, "the run to claim the pool", 0.1)
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        returncode = process.wait(120)
        elapsed = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)
    output = log.read_text()
    assert returncode != 0, output
    assert elapsed < SIGTERM_GRACE_SECONDS + 15, output
    assert "Traceback" not in output
    assert output.splitlines()[-1].startswith("segmentation: "), output
    with project.instance() as instance:
        # Canceled; failed when Dagster's own interrupt ended it first.
        assert instance.get_run_by_id(run_id).status in {
            dg.DagsterRunStatus.CANCELED,
            dg.DagsterRunStatus.FAILURE,
        }
    # Freed, unless the run's next step claimed it in the instant before the process exited:
    # then it is a canceled run's slot, which the next run frees.
    left = project.pool_holders()
    assert left <= {run_id}
    after = project.run(timeout=300)
    assert after.returncode == 0, after.stdout + after.stderr
    if left:
        assert f"Cleaned up run {run_id}" in after.stdout
    assert project.pool_holders() == set()


def test_the_summary_waits_while_another_process_writes(project: Project) -> None:
    # After its run, `segmentation run` reads the marts for its summary; by then a second run may
    # hold the warehouse for writing. The summary waited for nobody and failed with a traceback.
    assert project.run(timeout=300).returncode == 0
    writer = hold_warehouse(project.data / "warehouse.duckdb", read_only=False, seconds=4)
    try:
        summary = subprocess.run(
            [sys.executable, "-m", "segmentation_pipeline", "summary"],
            env=project.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        writer.wait(30)
    assert summary.returncode == 0, summary.stderr
    assert "marts.segment_profiles" in summary.stdout
