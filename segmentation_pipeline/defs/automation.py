"""Jobs say what runs together; the nightly schedule and the landing sensor say when.

Downstream assets follow through a job over the graph, not declarative automation: `refresh_job`
loads the requested day(s) of `raw_transactions` and rebuilds everything downstream in the same
run, so one drop (one file, or several contiguous days landed together) produces exactly one
refresh of the marts.

Exactly once per drop: a drop is a (day, content hash) pair. Schedule and sensor name their runs
with one run-key scheme built from drops, tag each run with the drops it loads, and request a
drop only when the warehouse's own ledger (`raw.landing_loads`, SHA-256 per file) does not hold
it and no queued or running run carries it. The Dagster instance is only asked what is in
flight, never what is loaded.
"""

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg
import duckdb

from segmentation_pipeline.defs.ingest.assets import raw_transactions
from segmentation_pipeline.defs.load_time import LOAD_TIME_SETTINGS
from segmentation_pipeline.defs.partitions import daily_partitions, day_ranges
from segmentation_pipeline.defs.resources import (
    LandingZone,
    Warehouse,
    held_by_another_process,
    warehouse_unreadable,
)
from segmentation_pipeline.lib.ingest.landing import stray_files_note
from segmentation_pipeline.lib.ingest.landing_file import file_sha256

PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"
# Transient failures (a lock held a moment too long, a slow disk) deserve a second try.
WAREHOUSE_RETRY_POLICY = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL)

ingest_job = dg.define_asset_job(
    name="ingest_job",
    description="Load landing files for a day or a range of days into raw.transactions.",
    selection=dg.AssetSelection.assets(raw_transactions),
)

segmentation_job = dg.define_asset_job(
    name="segmentation_job",
    description="Rebuild features, model, segments and profiles from every loaded day.",
    selection=dg.AssetSelection.assets(raw_transactions).downstream(include_self=False),
    op_retry_policy=WAREHOUSE_RETRY_POLICY,
)

refresh_job = dg.define_asset_job(
    name="refresh_job",
    description="Load a day (or a range of days) and rebuild everything downstream, in one run.",
    selection=dg.AssetSelection.assets(raw_transactions).downstream(include_self=True),
    op_retry_policy=WAREHOUSE_RETRY_POLICY,
)


def range_tags(first: str, last: str) -> dict[str, str]:
    return {PARTITION_RANGE_START_TAG: first, PARTITION_RANGE_END_TAG: last}


# Runs requested for a drop carry one tag per day: segmentation/drop-2025-11-03 = <sha256[:16]>.
DROP_TAG_PREFIX = "segmentation/drop-"
# Statuses of a run that will still load its drops.
IN_FLIGHT_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]
# A run holds the warehouse only while a step writes: the ledger is read between two steps.
LEDGER_WAIT_SECONDS = 20.0
LEDGER_RETRY_SECONDS = 0.5


def drop_key(day: str, sha256: str) -> str:
    """One landing file's content: the unit that is loaded exactly once."""
    return f"{day}:{sha256[:16]}"


def drop_run_key(drops: dict[str, str]) -> str:
    """The run key of a request loading `drops` ({day: sha256}), the same for schedule and sensor.

    One day: its drop key. A range: first..last and a hash of its drop keys.
    """
    days = sorted(drops)
    if len(days) == 1:
        return drop_key(days[0], drops[days[0]])
    keys = ",".join(drop_key(day, drops[day]) for day in days)
    return f"{days[0]}..{days[-1]}:{hashlib.sha256(keys.encode()).hexdigest()[:16]}"


def drop_tags(drops: dict[str, str]) -> dict[str, str]:
    return {f"{DROP_TAG_PREFIX}{day}": sha[:16] for day, sha in drops.items()}


def in_flight_drops(
    instance: dg.DagsterInstance, succeeded_since: datetime | None = None
) -> dict[str, str]:
    """Drop keys of queued or running runs (and of runs that succeeded since
    `succeeded_since`, when given), each with the run that loads it."""
    runs = list(instance.get_runs(dg.RunsFilter(statuses=IN_FLIGHT_STATUSES)))
    if succeeded_since is not None:
        runs += instance.get_runs(
            dg.RunsFilter(statuses=[dg.DagsterRunStatus.SUCCESS], updated_after=succeeded_since)
        )
    in_flight: dict[str, str] = {}
    for run in runs:
        for key, value in run.tags.items():
            if key.startswith(DROP_TAG_PREFIX):
                in_flight[f"{key.removeprefix(DROP_TAG_PREFIX)}:{value}"] = run.run_id
    return in_flight


def loaded_drops(warehouse: Warehouse) -> dict[str, str] | None:
    """The warehouse ledger: {day: sha256 of the file it was loaded from}.

    Opened read-only; while a run writes, retried for a short while (the lock is released
    between steps). None when the warehouse stays locked.
    """
    if not warehouse.path.exists():
        return {}
    deadline = time.monotonic() + LEDGER_WAIT_SECONDS
    while True:
        try:
            with duckdb.connect(str(warehouse.path), read_only=True) as con:
                rows = con.execute(
                    "SELECT CAST(transaction_date AS VARCHAR), file_sha256 FROM raw.landing_loads"
                ).fetchall()
            return dict(rows)
        except duckdb.CatalogException:
            return {}  # no day loaded yet
        except duckdb.IOException as error:
            if not held_by_another_process(error):  # damaged, not busy
                raise warehouse_unreadable(warehouse.path, error) from error
            if time.monotonic() >= deadline:
                return None
            time.sleep(LEDGER_RETRY_SECONDS)


@dataclass(frozen=True)
class LedgerSnapshot:
    """The ledger as last read, kept in the sensor's cursor for when the warehouse is locked."""

    read_at: datetime
    days: dict[str, str]

    def to_json(self) -> dict:
        return {"read_at": self.read_at.isoformat(), "days": self.days}

    @classmethod
    def from_json(cls, value: dict | None) -> "LedgerSnapshot | None":
        if not value:
            return None
        return cls(datetime.fromisoformat(value["read_at"]), value["days"])


@dataclass(frozen=True)
class DropDecision:
    pending: dict[str, str]  # {day: sha256} to load
    reasons: list[str]  # why each other drop is not requested
    ledger: LedgerSnapshot


def pending_drops(
    instance: dg.DagsterInstance,
    warehouse: Warehouse,
    landed: dict[str, str],
    last_ledger: LedgerSnapshot | None = None,
) -> DropDecision | None:
    """The landed drops ({day: sha256}) that must still be loaded, and why the others are not.

    In-flight runs are read before the ledger, so a run finishing in between is seen in the
    ledger. While the warehouse is locked, the ledger's last snapshot stands in for it, with
    the runs that succeeded since then; with no snapshot, None: nobody can tell.
    """
    now = datetime.now(UTC)
    in_flight = in_flight_drops(instance)
    days = loaded_drops(warehouse)
    if days is not None:
        ledger = LedgerSnapshot(now, days)
    elif last_ledger is not None:
        ledger = last_ledger
        in_flight = in_flight_drops(instance, succeeded_since=last_ledger.read_at)
    else:
        return None
    pending, reasons = {}, []
    for day, sha in sorted(landed.items()):
        key = drop_key(day, sha)
        if ledger.days.get(day) == sha:
            reasons.append(f"{day}.csv is already loaded with this content ({sha[:12]})")
        elif key in in_flight:
            reasons.append(f"{day}.csv is already requested (run {in_flight[key]})")
        else:
            pending[day] = sha
    return DropDecision(pending, reasons, ledger)


# --- nightly schedule ---------------------------------------------------------------------------


@dg.schedule(
    name="nightly_refresh",
    cron_schedule=LOAD_TIME_SETTINGS.schedule_cron,
    execution_timezone=LOAD_TIME_SETTINGS.schedule_timezone,
    job=refresh_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every night (02:00 by default), load yesterday's drop and refresh the marts.",
)
def nightly_refresh(
    context: dg.ScheduleEvaluationContext, landing: LandingZone, warehouse: Warehouse
) -> dg.RunRequest | dg.SkipReason:
    """Yesterday's partition plus everything downstream; skipped, with the reason, when the
    day has no landing file, or that exact file is already loaded or requested (e.g. by the
    landing sensor)."""
    day = (context.scheduled_execution_time.date() - timedelta(days=1)).isoformat()
    path = landing.day_file(day)
    if not path.exists():
        return dg.SkipReason(f"No landing file for {day}: {path} does not exist.")
    drops = {day: file_sha256(path)}
    decided = pending_drops(context.instance, warehouse, drops)
    if decided is not None and not decided.pending:
        return dg.SkipReason(decided.reasons[0] + ".")
    # A warehouse locked for long cannot say; loading a day replaces it, so the night is not lost.
    return dg.RunRequest(
        run_key=drop_run_key(drops),
        partition_key=day,
        tags={**drop_tags(drops), "trigger": "nightly_refresh"},
    )


# --- landing sensor -----------------------------------------------------------------------------


def scan_landing(landing: LandingZone, cursor: dict[str, list]) -> tuple[dict[str, str], dict]:
    """Hash the landing files whose size or mtime changed since the cursor.

    Returns {day: sha256} for every file of a known partition, and the next cursor
    ({file name: [mtime_ns, size, sha256]}); unchanged files are not read again.
    """
    known = set(daily_partitions.get_partition_keys())
    hashes: dict[str, str] = {}
    next_cursor: dict[str, list] = {}
    for day in landing.landed_days():
        if day not in known:
            continue
        path = landing.day_file(day)
        stat = path.stat()
        previous = cursor.get(path.name)
        if previous and previous[:2] == [stat.st_mtime_ns, stat.st_size]:
            sha = previous[2]
        else:
            sha = file_sha256(path)
        hashes[day] = sha
        next_cursor[path.name] = [stat.st_mtime_ns, stat.st_size, sha]
    return hashes, next_cursor


@dg.sensor(
    name="landing_sensor",
    job=refresh_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Load new or changed landing files, then refresh the marts, once per drop.",
)
def landing_sensor(
    context: dg.SensorEvaluationContext, landing: LandingZone, warehouse: Warehouse
) -> dg.SensorResult:
    """Request one refresh run per contiguous range of new or changed landing files.

    Files are identified by content (SHA-256, re-hashed only when size or mtime change). A file
    already in the warehouse ledger, or carried by a queued or running run, is not requested
    again, so a day landing while a range run waits in the queue gets a run of its own.
    """
    cursor = json.loads(context.cursor) if context.cursor else {}
    hashes, files = scan_landing(landing, cursor.get("files", {}))
    decided = pending_drops(
        context.instance, warehouse, hashes, LedgerSnapshot.from_json(cursor.get("ledger"))
    )
    if decided is None:
        return dg.SensorResult(
            skip_reason="The warehouse is locked and its ledger was never read; next tick.",
            cursor=json.dumps({"files": files}),
        )
    next_cursor = json.dumps({"files": files, "ledger": decided.ledger.to_json()})
    requests = []
    for key_range in day_ranges(decided.pending):
        drops = {
            day: decided.pending[day]
            for day in daily_partitions.get_partition_keys_in_range(key_range)
        }
        requests.append(
            dg.RunRequest(
                run_key=drop_run_key(drops),
                tags={
                    **range_tags(key_range.start, key_range.end),
                    **drop_tags(drops),
                    "trigger": "landing_sensor",
                },
            )
        )
    # Misnamed drops (e.g. 2025-11-8.csv) would otherwise go unnoticed: said at every tick.
    stray = landing.stray_files()
    stray_note = f" {stray_files_note(stray)}." if stray else ""
    if not requests:
        return dg.SensorResult(
            skip_reason=f"{len(hashes)} landing files, all already loaded or requested."
            + stray_note,
            cursor=next_cursor,
        )
    if stray:
        context.log.warning(stray_note.strip())
    return dg.SensorResult(run_requests=requests, cursor=next_cursor)
