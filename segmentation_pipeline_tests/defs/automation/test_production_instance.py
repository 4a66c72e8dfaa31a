"""The production instance for real: PostgreSQL storage, `dagster-daemon run` and
`dagster-webserver` as separate processes (deploy/dagster.yaml), with the landing sensor, the
nightly schedule, and overlapping backfills and partition runs going through the run queue."""

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import psycopg2
import pytest

from segmentation_pipeline.defs.automation import DROP_TAG_PREFIX
from segmentation_pipeline.lib.ingest.landing_file import file_sha256
from segmentation_pipeline_tests.defs.automation.deployment import (
    SIX_DAYS,
    Dagster,
    Service,
    data_lines,
    deployment_dirs,
    free_port,
    postgres_server,
    tag,
)
from segmentation_pipeline_tests.support import BIN, REPO_ROOT, wait_until

STOP_SENSOR = """
mutation($id: String!) { stopSensor(id: $id) { __typename } }
"""
START_SENSOR = """
mutation($selector: SensorSelector!) { startSensor(sensorSelector: $selector) { __typename } }
"""


class Deployment:
    def __init__(self, client: Dagster, data_dir: Path, postgres_url: str, landing: Path):
        self.client, self.data_dir, self.postgres_url = client, data_dir, postgres_url
        self.source_landing = landing

    @property
    def landing(self) -> Path:
        return self.data_dir / "landing" / "transactions"

    def rows_per_day(self) -> dict[str, int]:
        with duckdb.connect(str(self.data_dir / "warehouse.duckdb"), read_only=True) as con:
            return dict(
                con.execute(
                    "SELECT CAST(transaction_date AS VARCHAR), count(*) FROM raw.transactions "
                    "GROUP BY ALL"
                ).fetchall()
            )

    def load_records_per_day(self) -> dict[str, int]:
        with duckdb.connect(str(self.data_dir / "warehouse.duckdb"), read_only=True) as con:
            return dict(
                con.execute(
                    "SELECT CAST(transaction_date AS VARCHAR), count(*) FROM raw.landing_loads "
                    "GROUP BY ALL"
                ).fetchall()
            )

    def raw_materializations(self, run_ids: set[str]) -> dict[str, int]:
        """How many times each day of raw_transactions was materialised by these runs."""
        with psycopg2.connect(self.postgres_url) as con, con.cursor() as cursor:
            cursor.execute(
                "SELECT partition, count(*) FROM event_logs WHERE dagster_event_type = "
                "'ASSET_MATERIALIZATION' AND asset_key LIKE %s AND run_id = ANY(%s) "
                "GROUP BY partition",
                ['%"raw_transactions"%', list(run_ids)],
            )
            return dict(cursor.fetchall())

    def run_records(self) -> dict[str, int]:
        with psycopg2.connect(self.postgres_url) as con, con.cursor() as cursor:
            cursor.execute("SELECT status, count(*) FROM runs GROUP BY status")
            return dict(cursor.fetchall())


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, six_day_landing: Path
) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("production")
    with postgres_server() as postgres_url:
        env = deployment_dirs(root, six_day_landing, REPO_ROOT / "deploy" / "dagster.yaml")
        # Every minute, so the test sees the schedule fire through the daemon.
        env.update(
            DAGSTER_POSTGRES_URL=postgres_url.replace("postgresql://", "postgresql+psycopg2://"),
            SEGMENTATION_SCHEDULE_CRON="* * * * *",
            # Runs wait for a warehouse held by a test's reader instead of failing.
            SEGMENTATION_WAREHOUSE_LOCK_WAIT_SECONDS="900",
        )
        port = free_port()
        workspace = str(REPO_ROOT / "workspace.yaml")
        daemon = Service("daemon", [str(BIN / "dagster-daemon"), "run", "-w", workspace], env, root)
        webserver = Service(
            "webserver",
            [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", workspace],
            env,
            root,
        )
        client = Dagster(port)
        try:
            wait_until(client.ready, 120, lambda: f"the webserver\n{webserver.log()[-3000:]}")
            yield Deployment(
                client, Path(env["SEGMENTATION_DATA_DIR"]), postgres_url, six_day_landing
            )
        finally:
            webserver.stop()
            daemon.stop()
            assert not webserver.group_alive() and not daemon.group_alive()


def test_landing_sensor_loads_the_drop_through_the_daemon(deployment: Deployment) -> None:
    client = deployment.client

    def sensor_run() -> dict | None:
        runs = [run for run in client.runs() if tag(run, "trigger") == "landing_sensor"]
        return runs[0] if runs and runs[0]["status"] in {"SUCCESS", "FAILURE"} else None

    run = wait_until(sensor_run, 300, "the landing sensor's refresh run")
    assert run["status"] == "SUCCESS" and run["jobName"] == "refresh_job"
    assert deployment.rows_per_day() == {
        day: data_lines(deployment.landing, day) for day in SIX_DAYS
    }


def test_overlapping_backfills_and_partition_runs_queue_and_load_each_day_once(
    deployment: Deployment,
) -> None:
    client = deployment.client
    client.wait_for_quiet(300)
    before = {run["runId"] for run in client.runs()}
    backfills = [
        client.launch_backfill("raw_transactions", SIX_DAYS[0:4]),
        client.launch_backfill("raw_transactions", SIX_DAYS[2:6]),
    ]
    launched = [
        client.launch_run("ingest_job", {"dagster/partition": SIX_DAYS[1]}),
        client.launch_run("ingest_job", {"dagster/partition": SIX_DAYS[4]}),
    ]

    def backfills_done() -> bool:
        return all(
            client.backfill(backfill)["status"] in {"COMPLETED", "COMPLETED_SUCCESS", "FAILED"}
            for backfill in backfills
        )

    wait_until(backfills_done, 600, "both backfills to complete", every=3)
    runs = client.wait_for_quiet(600)
    new_runs = [run for run in runs if run["runId"] not in before]
    assert set(launched) <= {run["runId"] for run in new_runs}
    assert len(new_runs) >= 4  # two single-run backfills and two partition runs
    client.assert_succeeded(new_runs)
    for backfill in backfills:
        (backfill_run,) = client.backfill(backfill)["runs"]  # a range is one run
        assert backfill_run["status"] == "SUCCESS"
    # Each day exactly once, however many times it was loaded.
    assert deployment.rows_per_day() == {
        day: data_lines(deployment.landing, day) for day in SIX_DAYS
    }
    assert deployment.load_records_per_day() == dict.fromkeys(SIX_DAYS, 1)
    records = deployment.run_records()
    assert records.get("SUCCESS", 0) >= len(new_runs) + 1
    assert "FAILURE" not in records


def test_nightly_schedule_refreshes_yesterday_through_the_daemon(deployment: Deployment) -> None:
    client = deployment.client
    client.wait_for_quiet(300)
    sensor_state = client.instigators()["landing_sensor"]["sensorState"]
    # Only the schedule may pick up this drop.
    client(STOP_SENSOR, id=sensor_state["id"])
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    shutil.copy(
        deployment.source_landing / f"{SIX_DAYS[0]}.csv", deployment.landing / f"{yesterday}.csv"
    )

    def scheduled_run() -> dict | None:
        runs = [run for run in client.runs() if tag(run, "dagster/schedule_name")]
        done = [run for run in runs if tag(run, "dagster/partition") == yesterday]
        return done[0] if done and done[0]["status"] in {"SUCCESS", "FAILURE"} else None

    run = wait_until(scheduled_run, 240, f"the nightly schedule's run for {yesterday}", every=3)
    assert run["status"] == "SUCCESS" and run["jobName"] == "refresh_job"
    assert deployment.rows_per_day()[yesterday] == data_lines(deployment.landing, yesterday)

    # The sensor, started again, sees that this content is already loaded: no second refresh.
    client(
        START_SENSOR,
        selector={
            "repositoryLocationName": "segmentation_pipeline",
            "repositoryName": "__repository__",
            "sensorName": "landing_sensor",
        },
    )

    def sensor_skipped() -> str | None:
        ticks = client.instigators()["landing_sensor"]["sensorState"]["ticks"]
        return next((t["skipReason"] for t in ticks if t["status"] == "SKIPPED"), None)

    reason = wait_until(sensor_skipped, 120, "a skipped sensor tick", every=3)
    assert "already loaded" in reason
    runs_for_day = [
        run
        for run in client.runs()
        if yesterday
        in {tag(run, "dagster/partition"), tag(run, "dagster/asset_partition_range_start")}
    ]
    assert len(runs_for_day) == 1


def test_drops_landing_while_runs_wait_are_each_loaded_and_refreshed_once(
    deployment: Deployment,
) -> None:
    """Three days land one after another while the warehouse is held (runs wait in the queue
    for it), the last one being yesterday's so the every-minute schedule fires on a file the
    sensor already requested: one run, one load and one refresh per drop."""
    client = deployment.client
    client.wait_for_quiet(300)
    before = {run["runId"] for run in client.runs()}
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    drops = {"2025-11-07": SIX_DAYS[3], "2025-11-08": SIX_DAYS[4], yesterday: SIX_DAYS[5]}

    def runs_carrying(day: str) -> list[dict]:
        return [
            run
            for run in client.runs()
            if run["runId"] not in before and tag(run, f"{DROP_TAG_PREFIX}{day}")
        ]

    # A reader holds the warehouse: every run waits for it (and for the pool) meanwhile.
    reader = duckdb.connect(str(deployment.data_dir / "warehouse.duckdb"), read_only=True)
    try:
        for day, source in drops.items():
            source_file = deployment.source_landing / f"{source}.csv"
            shutil.copy(source_file, deployment.landing / f"{day}.csv")
            wait_until(lambda day=day: runs_carrying(day), 180, f"a run for {day}", every=3)

        def schedule_skipped_the_sensed_file() -> str | None:
            ticks = client.instigators()["nightly_refresh"]["scheduleState"]["ticks"]
            reasons = [t["skipReason"] or "" for t in ticks if t["status"] == "SKIPPED"]
            return next((r for r in reasons if f"{yesterday}.csv is already requested" in r), None)

        wait_until(schedule_skipped_the_sensed_file, 180, "the schedule to skip", every=3)
        waiting = [run for run in client.runs() if run["runId"] not in before]
        assert all(run["status"] in {"QUEUED", "STARTING", "STARTED"} for run in waiting)
    finally:
        reader.close()

    runs = client.wait_for_quiet(900)
    new_runs = [run for run in runs if run["runId"] not in before]
    client.assert_succeeded(new_runs)
    assert sorted(run["jobName"] for run in new_runs) == ["refresh_job"] * 3  # three refreshes
    assert all(len(runs_carrying(day)) == 1 for day in drops)  # one run per drop
    assert deployment.raw_materializations({run["runId"] for run in new_runs}) == dict.fromkeys(
        drops, 1
    )
    loads = deployment.load_records_per_day()
    assert all(loads[day] == 1 for day in drops)
    with duckdb.connect(str(deployment.data_dir / "warehouse.duckdb"), read_only=True) as con:
        ledger = dict(
            con.execute(
                "SELECT CAST(transaction_date AS VARCHAR), file_sha256 FROM raw.landing_loads"
            ).fetchall()
        )
    for day in drops:
        assert ledger[day] == file_sha256(deployment.landing / f"{day}.csv")
