"""The nightly schedule and the landing sensor, evaluated against a real instance and warehouse."""

import json
import os
from datetime import UTC, datetime, timedelta

import dagster as dg
import duckdb
import pytest

from segmentation_pipeline.definitions import defs
from segmentation_pipeline.defs.automation import (
    PARTITION_RANGE_END_TAG,
    PARTITION_RANGE_START_TAG,
    drop_key,
    landing_sensor,
    nightly_refresh,
)
from segmentation_pipeline.lib.ingest.landing import landed_days, landing_file
from segmentation_pipeline.lib.ingest.landing_file import file_sha256
from segmentation_pipeline.settings import Settings

# What the schedule and the sensor get from the code location: the landing zone and the warehouse.
RESOURCES = {key: defs.resources[key] for key in ("landing", "warehouse")}


def schedule_at(instance: dg.DagsterInstance, when: datetime):
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=when, resources=RESOURCES
    )
    return nightly_refresh(context)


def sensor_tick(instance: dg.DagsterInstance, cursor: str | None) -> dg.SensorResult:
    return landing_sensor(
        dg.build_sensor_context(instance=instance, cursor=cursor, resources=RESOURCES)
    )


def run_request(instance: dg.DagsterInstance, request: dg.RunRequest) -> None:
    job = defs.resolve_job_def("refresh_job")
    result = job.execute_in_process(
        instance=instance, partition_key=request.partition_key, tags=request.tags
    )
    assert result.success


def days_in_raw(settings: Settings) -> dict[str, int]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return dict(
            con.execute(
                "SELECT CAST(transaction_date AS VARCHAR), count(*) FROM raw.transactions "
                "GROUP BY ALL"
            ).fetchall()
        )


def test_schedule_requests_yesterday_then_skips_it_once_loaded(
    landed: Settings, instance: dg.DagsterInstance
) -> None:
    request = schedule_at(instance, datetime(2025, 11, 4, 2, tzinfo=UTC))
    assert isinstance(request, dg.RunRequest)
    assert request.partition_key == "2025-11-03"
    run_request(instance, request)
    assert set(days_in_raw(landed)) == {"2025-11-03"}

    again = schedule_at(instance, datetime(2025, 11, 4, 2, tzinfo=UTC))
    assert isinstance(again, dg.SkipReason)
    assert "already loaded" in again.skip_message


def test_schedule_skips_a_day_without_landing_file(
    landed: Settings, instance: dg.DagsterInstance
) -> None:
    landing_file(landed.landing_dir, "2025-11-10").unlink()
    skip = schedule_at(instance, datetime(2025, 11, 11, 2, tzinfo=UTC))
    assert isinstance(skip, dg.SkipReason)
    assert "No landing file for 2025-11-10" in skip.skip_message


def test_sensor_requests_each_drop_once_and_follows_changes(
    landed: Settings, instance: dg.DagsterInstance
) -> None:
    days = landed_days(landed.landing_dir)
    first = sensor_tick(instance, None)
    (request,) = first.run_requests
    assert request.tags[PARTITION_RANGE_START_TAG] == days[0]
    assert request.tags[PARTITION_RANGE_END_TAG] == days[-1]
    cursor = json.loads(first.cursor)
    assert set(cursor["files"]) == {f"{day}.csv" for day in days}
    assert cursor["ledger"]["days"] == {}  # the warehouse ledger, as read at this tick

    run = defs.resolve_job_def("refresh_job").execute_in_process(
        instance=instance, tags=request.tags
    )
    assert run.success
    quiet = sensor_tick(instance, first.cursor)
    assert not quiet.run_requests
    assert "already loaded" in quiet.skip_reason.skip_message

    # A re-exported day: same name, new content -> only that day is requested.
    changed = landing_file(landed.landing_dir, days[5])
    lines = changed.read_text().splitlines()
    changed.write_text("\n".join(lines[:-1]) + "\n")
    os.utime(changed, ns=(1, 1))
    after = sensor_tick(instance, quiet.cursor)
    (only,) = after.run_requests
    assert (only.tags[PARTITION_RANGE_START_TAG], only.tags[PARTITION_RANGE_END_TAG]) == (
        days[5],
        days[5],
    )
    assert only.run_key != request.run_key


def queue(instance: dg.DagsterInstance, request: dg.RunRequest) -> dg.DagsterRun:
    """A run created for the request that has not started (as while the warehouse is busy);
    the daemon's queued runs are exercised in test_production_instance."""
    return instance.create_run_for_job(
        job_def=defs.resolve_job_def("refresh_job"),
        tags={**request.tags, "dagster/run_key": request.run_key},
        status=dg.DagsterRunStatus.NOT_STARTED,
    )


def test_a_day_landing_while_a_range_run_is_queued_gets_its_own_run(
    landed: Settings, instance: dg.DagsterInstance
) -> None:
    days = landed_days(landed.landing_dir)
    late = landing_file(landed.landing_dir, days[-1])
    held_back = late.read_bytes()
    late.unlink()
    (first,) = sensor_tick(instance, None).run_requests
    queued = queue(instance, first)

    late.write_bytes(held_back)
    tick = sensor_tick(instance, None)
    (only,) = tick.run_requests
    assert (only.tags[PARTITION_RANGE_START_TAG], only.tags[PARTITION_RANGE_END_TAG]) == (
        days[-1],
        days[-1],
    )
    sha = file_sha256(late)
    assert only.run_key == drop_key(days[-1], sha)
    # The schedule names the same drop with the same key, and the queued run's days are skipped.
    at = datetime.fromisoformat(days[-1]).replace(tzinfo=UTC) + timedelta(days=1, hours=2)
    assert schedule_at(instance, at).run_key == only.run_key
    queue(instance, only)
    assert not sensor_tick(instance, None).run_requests
    skip = schedule_at(instance, at)
    assert isinstance(skip, dg.SkipReason)
    assert "already requested" in skip.skip_message
    earlier = schedule_at(instance, at - timedelta(days=1))
    assert f"already requested (run {queued.run_id})" in earlier.skip_message


def test_already_loaded_is_read_from_the_warehouse_ledger_not_the_instance(
    landed: Settings, instance: dg.DagsterInstance
) -> None:
    (request,) = sensor_tick(instance, None).run_requests
    run = defs.resolve_job_def("refresh_job").execute_in_process(
        instance=instance, tags=request.tags
    )
    assert run.success
    # Another, empty instance (a wiped one, or a second data dir under one DAGSTER_HOME) agrees.
    with dg.instance_for_test() as fresh:
        quiet = sensor_tick(fresh, None)
        assert not quiet.run_requests
        assert "all already loaded" in quiet.skip_reason.skip_message
        day = landed_days(landed.landing_dir)[3]
        at = datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(days=1, hours=2)
        assert "already loaded" in schedule_at(fresh, at).skip_message
    # The ledger, not the instance: a day deleted from the warehouse is requested again.
    with duckdb.connect(str(landed.warehouse_path)) as con:
        con.execute("DELETE FROM raw.landing_loads WHERE transaction_date = ?", [day])
    (again,) = sensor_tick(instance, None).run_requests
    assert again.run_key == drop_key(day, file_sha256(landing_file(landed.landing_dir, day)))


def test_a_misnamed_drop_is_named_at_every_tick(
    landed: Settings, instance: dg.DagsterInstance
) -> None:
    """`2025-11-8.csv` is not a day file, so it is never loaded: the sensor says so."""
    days = landed_days(landed.landing_dir)
    misnamed = landed.landing_dir / "2025-11-8.csv"
    misnamed.write_bytes(landing_file(landed.landing_dir, days[0]).read_bytes())
    (request,) = sensor_tick(instance, None).run_requests
    queue(instance, request)
    skip = sensor_tick(instance, None).skip_reason.skip_message
    assert "all already loaded or requested" in skip
    assert "not named after a calendar day (YYYY-MM-DD.csv), so not loaded: 2025-11-8.csv" in skip


def test_a_damaged_warehouse_fails_the_tick_saying_so_not_locked(
    landed: Settings, instance: dg.DagsterInstance
) -> None:
    landed.warehouse_path.write_text("a copy cut short: not a DuckDB file\n")
    with pytest.raises(dg.Failure, match=r"duckdb cannot be opened .*not a valid DuckDB"):
        sensor_tick(instance, None)
