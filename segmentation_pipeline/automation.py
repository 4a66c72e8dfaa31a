"""Jobs say what runs together; the nightly schedule and the landing sensor say when.

Downstream assets follow through a job over the graph, not declarative automation: `refresh_job`
loads the requested day(s) of `raw_transactions` and rebuilds everything downstream in the same
run, so one drop (one file, or several contiguous days landed together) produces exactly one
refresh of the marts. Schedule and sensor both skip content that is already loaded, judged by
the file hash recorded on the partition's latest materialization, so the two never refresh the
same drop twice.
"""

import hashlib
import json
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from segmentation_pipeline.ingest.assets import LANDING_SHA256_METADATA_KEY, raw_transactions
from segmentation_pipeline.ingest.loader import file_fingerprint
from segmentation_pipeline.partitions import daily_partitions
from segmentation_pipeline.settings import Settings, get_settings

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


def contiguous_ranges(days: Iterable[str]) -> list[tuple[str, str]]:
    """Group sorted ISO days into runs of consecutive days: each becomes one single-run backfill."""
    ranges: list[tuple[str, str]] = []
    for day in days:
        if ranges and date.fromisoformat(day) - date.fromisoformat(ranges[-1][1]) == timedelta(1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def range_tags(first: str, last: str) -> dict[str, str]:
    return {PARTITION_RANGE_START_TAG: first, PARTITION_RANGE_END_TAG: last}


def file_sha256(path: Path) -> str:
    """The landing file's identity, as the loader records it on each load."""
    sha256, _ = file_fingerprint(path)
    return sha256


def loaded_sha256(instance: dg.DagsterInstance, day: str) -> str | None:
    """The content hash the day was last loaded from, per its latest materialization."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=raw_transactions.key, asset_partitions=[day]), limit=1
    ).records
    if not records or records[0].asset_materialization is None:
        return None
    loaded = records[0].asset_materialization.metadata.get(LANDING_SHA256_METADATA_KEY)
    return loaded.value.get(day) if loaded is not None else None


# --- nightly schedule ---------------------------------------------------------------------------

SETTINGS = get_settings()


@dg.schedule(
    name="nightly_refresh",
    cron_schedule=SETTINGS.schedule_cron,
    execution_timezone=SETTINGS.schedule_timezone,
    job=refresh_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every night (02:00 by default), load yesterday's drop and refresh the marts.",
)
def nightly_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    """Yesterday's partition plus everything downstream; skipped, with the reason, when the
    day has no landing file or that exact file is already loaded (e.g. by the landing sensor)."""
    day = (context.scheduled_execution_time.date() - timedelta(days=1)).isoformat()
    path = get_settings().landing_file(day)
    if not path.exists():
        return dg.SkipReason(f"No landing file for {day}: {path} does not exist.")
    sha = file_sha256(path)
    if loaded_sha256(context.instance, day) == sha:
        return dg.SkipReason(f"{path.name} is already loaded with this content ({sha[:12]}).")
    return dg.RunRequest(
        run_key=f"{day}:{sha[:16]}", partition_key=day, tags={"trigger": "nightly_refresh"}
    )


# --- landing sensor -----------------------------------------------------------------------------


def scan_landing(settings: Settings, cursor: dict[str, list]) -> tuple[dict[str, str], dict]:
    """Hash the landing files whose size or mtime changed since the cursor.

    Returns {day: sha256} for every file of a known partition, and the next cursor
    ({file name: [mtime_ns, size, sha256]}); unchanged files are not read again.
    """
    known = set(daily_partitions.get_partition_keys())
    hashes: dict[str, str] = {}
    next_cursor: dict[str, list] = {}
    for day in settings.landed_days():
        if day not in known:
            continue
        path = settings.landing_file(day)
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
def landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """Request one refresh run per contiguous range of new or changed landing files.

    Files are identified by content (SHA-256, re-hashed only when size or mtime change), and
    run keys carry the hashes, so the same content never runs twice.
    """
    cursor = json.loads(context.cursor) if context.cursor else {}
    hashes, next_cursor = scan_landing(get_settings(), cursor)
    pending = sorted(
        day for day, sha in hashes.items() if loaded_sha256(context.instance, day) != sha
    )
    requests = []
    for first, last in contiguous_ranges(pending):
        content = "".join(hashes[day] for day in pending if first <= day <= last)
        requests.append(
            dg.RunRequest(
                run_key=f"{first}..{last}:{hashlib.sha256(content.encode()).hexdigest()[:16]}",
                tags={**range_tags(first, last), "trigger": "landing_sensor"},
            )
        )
    if not requests:
        return dg.SensorResult(
            skip_reason=f"{len(hashes)} landing files, all already loaded.",
            cursor=json.dumps(next_cursor),
        )
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(next_cursor))
