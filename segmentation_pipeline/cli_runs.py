"""Runs started by `segmentation run`: tagged with their process, cleaned up when that process
is gone, and never waiting silently for the warehouse pool.

A run executes inside the CLI's own process (`execute_in_process`). If that process is killed
(OOM killer, reboot, container stop) the run stays "started" in the Dagster instance and keeps
its `duckdb_warehouse` pool slot, so every later run would wait for it forever. Each CLI run
therefore carries its process's identity (host, PID and the PID's start time, since PIDs are
reused), and the next `segmentation run` marks runs whose process is gone as failed and frees
their slots before it starts.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import dagster as dg
from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES

from segmentation_pipeline.settings import WAREHOUSE_POOL

HOST_TAG = "segmentation/host"
PID_TAG = "segmentation/pid"
PROCESS_START_TAG = "segmentation/process_start"
# How often a waiting run checks who holds the pool, and repeats that it is still waiting.
SLOT_POLL_SECONDS = 2.0
SLOT_REMINDER_SECONDS = 60.0


def process_start_ticks(pid: int) -> str | None:
    """When `pid` started (clock ticks since boot, from /proc), or None if there is no such PID.

    With the PID it identifies a process: a PID reused by a later process has another start.
    """
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return fields[19]  # field 22 of stat(5); fields[0] here is field 3


def process_tags() -> dict[str, str]:
    """This process's identity, as tags of the runs it executes."""
    pid = os.getpid()
    return {
        HOST_TAG: socket.gethostname(),
        PID_TAG: str(pid),
        PROCESS_START_TAG: process_start_ticks(pid) or "unknown",
    }


def process_is_gone(run: dg.DagsterRun) -> bool:
    """Whether the CLI process that executes `run` no longer exists on this host.

    Runs without our tags (launched by the daemon or the UI) and runs of another host are never
    judged here: the daemon's run monitoring looks after the former.
    """
    tags = run.tags
    if PID_TAG not in tags or tags.get(HOST_TAG) != socket.gethostname():
        return False
    return process_start_ticks(int(tags[PID_TAG])) != tags.get(PROCESS_START_TAG)


@dataclass(frozen=True)
class CleanedRun:
    run_id: str
    job_name: str
    reason: str

    def __str__(self) -> str:
        return f"run {self.run_id} ({self.job_name}): {self.reason}"


def clean_up_dead_runs(instance: dg.DagsterInstance) -> list[CleanedRun]:
    """Mark in-progress CLI runs whose process is gone as failed and free the pool slots held
    by runs that are no longer running. Returns what was cleaned up."""
    cleaned: list[CleanedRun] = []
    for record in instance.get_run_records(dg.RunsFilter(statuses=IN_PROGRESS_RUN_STATUSES)):
        run = record.dagster_run
        if not process_is_gone(run):
            continue
        reason = (
            f"its process (PID {run.tags[PID_TAG]} on {run.tags[HOST_TAG]}) is gone; "
            "marked failed, pool slots freed"
        )
        instance.report_run_failed(run, f"Run process is gone: {reason}")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        cleaned.append(CleanedRun(run.run_id, run.job_name, reason))
    # Slots (or queued claims) left by runs that finished or were deleted: nobody will free them.
    info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
    holders = {slot.run_id for slot in info.claimed_slots} | {
        step.run_id for step in info.pending_steps
    }
    for run_id in sorted(holders - {run.run_id for run in cleaned}):
        run = instance.get_run_by_id(run_id)
        if run is not None and not run.is_finished:
            continue
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)
        status = run.status.value if run is not None else "deleted"
        cleaned.append(
            CleanedRun(run_id, run.job_name if run else "?", f"{status} but held pool slots; freed")
        )
    return cleaned


def describe_holder(instance: dg.DagsterInstance, run_id: str, step_key: str | None) -> str:
    run = instance.get_run_by_id(run_id)
    if run is None:
        return f"run {run_id} (deleted)"
    step = f", step {step_key}" if step_key else ""
    if PID_TAG in run.tags:
        where = f"`segmentation run` PID {run.tags[PID_TAG]} on {run.tags[HOST_TAG]}"
    else:
        where = "launched from the UI or the daemon: terminate it there if its process is gone"
    return f"run {run_id} ({run.job_name}{step}, {run.status.value}, {where})"


def slot_wait_message(instance: dg.DagsterInstance, our_run_ids: set[str]) -> str | None:
    """Who holds the warehouse pool while one of our runs waits for it; None when not waiting."""
    info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
    waiting = [
        step
        for step in info.pending_steps
        if step.run_id in our_run_ids and step.assigned_timestamp is None
    ]
    holders = [slot for slot in info.claimed_slots if slot.run_id not in our_run_ids]
    if not waiting or not holders:
        return None
    held_by = "; ".join(describe_holder(instance, slot.run_id, slot.step_key) for slot in holders)
    return (
        f"Waiting for the {WAREHOUSE_POOL} pool ({info.slot_count} slot(s)), "
        f"held by {held_by}. A run whose process is gone is cleaned up by the next "
        "`segmentation run`."
    )


@contextmanager
def report_slot_waits(
    instance: dg.DagsterInstance, say: Callable[[str], None] | None = None
) -> Iterator[None]:
    """While the block runs, say (and repeat every minute) when this process's run waits for
    the warehouse pool, naming the run that holds it."""
    tags = process_tags()
    stop = threading.Event()
    say = say or (lambda message: print(message, flush=True))

    def our_run_ids() -> set[str]:
        runs = instance.get_runs(dg.RunsFilter(statuses=IN_PROGRESS_RUN_STATUSES, tags=tags))
        return {run.run_id for run in runs}

    def watch() -> None:
        last_message, last_said = None, 0.0
        started = time.monotonic()
        while not stop.wait(SLOT_POLL_SECONDS):
            message = slot_wait_message(instance, our_run_ids())
            now = time.monotonic()
            if message is None:
                last_message, started = None, now
            elif message != last_message or now - last_said >= SLOT_REMINDER_SECONDS:
                waited = f" (waiting {now - started:.0f} s)" if message == last_message else ""
                say(message + waited)
                last_message, last_said = message, now

    watcher = threading.Thread(target=watch, name="slot-wait-reporter", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()
