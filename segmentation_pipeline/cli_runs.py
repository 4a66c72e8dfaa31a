"""Runs started by `segmentation run`: tagged with their process, cleaned up when that process
is gone, ended at once by SIGTERM, and never waiting silently for the warehouse pool.

A run executes inside the CLI's own process (`execute_in_process`). If that process is killed
(OOM killer, reboot, container stop) the run stays "started" in the Dagster instance and keeps
its `duckdb_warehouse` pool slot, so every later run would wait for it forever. Each CLI run
therefore carries its process's identity (host, PID and the PID's start time, since PIDs are
reused), and the next `segmentation run` marks runs whose process is gone as failed and frees
their slots before it starts.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Set
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
# How long a run told to stop (SIGTERM) may take to end by itself before its process exits.
SIGTERM_GRACE_SECONDS = 5.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


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


@contextmanager
def in_background(watch: Callable[[], None], name: str, stop: Callable[[], None]) -> Iterator[None]:
    """Run `watch` on a daemon thread during the block; then `stop` it and wait for it."""
    watcher = threading.Thread(target=watch, name=name, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop()
        watcher.join()


def cancel_own_runs(instance: dg.DagsterInstance, reason: str) -> list[str]:
    """Mark this process's in-progress runs canceled and free the pool slots of all its runs
    (Dagster's own interrupt can end a run without freeing its slot); the ids canceled."""
    canceled = []
    for run in instance.get_runs(dg.RunsFilter(tags=process_tags())):
        if run.status in IN_PROGRESS_RUN_STATUSES:
            instance.report_run_canceled(run, reason)
            canceled.append(run.run_id)
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    return canceled


@contextmanager
def stopped_by_signals(
    instance: dg.DagsterInstance, grace_seconds: float = SIGTERM_GRACE_SECONDS
) -> Iterator[None]:
    """Within the block, SIGTERM (or Ctrl-C, SIGINT) ends this process's runs within
    `grace_seconds`.

    Dagster maps SIGTERM to its interrupt handler, which raises only while a step's body runs
    and otherwise records the signal for later, where it can be lost: a `segmentation run`
    told to stop went on to the end. Here the signal also reaches a thread (through Python's
    wakeup fd, which every Python-level handler writes to): if the run has not ended by itself
    within `grace_seconds`, the thread marks this process's runs canceled, frees their pool
    slots, says so on stderr and exits with status 128 + the signal (143 for SIGTERM). The
    step's open DuckDB transaction dies with the process, uncommitted; staged temp files are
    removed by the next run, and so is a slot the run's next step claims in the instant before
    the exit (a finished run's slot). When the run does end by itself (Dagster raised its
    interrupt), its runs are marked canceled and their slots freed too.
    """
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    received, ended = threading.Event(), threading.Event()
    reason = "`segmentation run` was told to stop (SIGTERM or SIGINT)"

    def first_stop_signal() -> int | None:
        """Wait for a stop signal (its number), or for the block to end (None)."""
        while data := reader.recv(64):  # empty once the socket is closed
            for number in STOP_SIGNALS:
                if number in data:
                    return number
        return None

    def watch() -> None:
        number = first_stop_signal()
        if number is None:
            return
        received.set()
        if ended.wait(grace_seconds):
            return
        canceled = cancel_own_runs(instance, reason)
        sys.stderr.write(
            f"segmentation: terminated ({signal.Signals(number).name}): run(s) "
            f"{', '.join(canceled) or 'none'} canceled and their pool slots freed; "
            "`segmentation run` again finishes the work\n"
        )
        sys.stderr.flush()
        os._exit(128 + number)

    def stop_watching() -> None:
        ended.set()
        signal.set_wakeup_fd(previous)
        writer.close()

    try:
        with in_background(watch, "stop-signal-watcher", stop_watching):
            yield
    finally:
        reader.close()
        if received.is_set():
            cancel_own_runs(instance, reason)


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


def holders_message(instance: dg.DagsterInstance, exclude: Set[str] = frozenset()) -> str | None:
    """Who holds every slot of the warehouse pool (runs in `exclude` aside); None if one is
    free for us (or the pool has no limit)."""
    info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
    holders = [slot for slot in info.claimed_slots if slot.run_id not in exclude]
    if not info.limit or len(holders) < info.limit:
        return None
    held_by = "; ".join(describe_holder(instance, slot.run_id, slot.step_key) for slot in holders)
    return (
        f"Waiting for the {WAREHOUSE_POOL} pool ({info.limit} slot(s)), held by {held_by}. "
        "A run whose process is gone is cleaned up by the next `segmentation run`."
    )


class WaitReporter:
    """Says a waiting message when it changes, then again every minute with the time waited."""

    def __init__(self, say: Callable[[str], None] | None = None):
        self.say = say or (lambda message: print(message, flush=True))
        self.last_message: str | None = None
        self.last_said = self.started = time.monotonic()

    def update(self, message: str | None) -> None:
        now = time.monotonic()
        if message is None:
            self.last_message, self.started = None, now
        elif message != self.last_message or now - self.last_said >= SLOT_REMINDER_SECONDS:
            repeated = message == self.last_message
            self.say(message + (f" (waiting {now - self.started:.0f} s)" if repeated else ""))
            self.last_message, self.last_said = message, now


def wait_for_free_slot(instance: dg.DagsterInstance, reporter: WaitReporter) -> None:
    """Before a run starts: sleep (not spin) while the pool is full, saying who holds it, and
    clean up holders whose process dies meanwhile."""
    while (message := holders_message(instance)) is not None:
        reporter.update(message)
        time.sleep(SLOT_POLL_SECONDS)
        for cleaned in clean_up_dead_runs(instance):
            reporter.say(f"Cleaned up {cleaned}")
    reporter.update(None)


@contextmanager
def report_slot_waits(
    instance: dg.DagsterInstance, say: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Wait for a free slot first; then, while the block runs, say (and repeat every minute)
    when this process's run waits for the warehouse pool, naming the run that holds it."""
    tags = process_tags()
    stop = threading.Event()
    reporter = WaitReporter(say)
    wait_for_free_slot(instance, reporter)

    def our_waiting_run_ids() -> set[str]:
        runs = instance.get_runs(dg.RunsFilter(statuses=IN_PROGRESS_RUN_STATUSES, tags=tags))
        ours = {run.run_id for run in runs}
        info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
        waiting = {step.run_id for step in info.pending_steps if step.assigned_timestamp is None}
        return ours & waiting

    def watch() -> None:
        while not stop.wait(SLOT_POLL_SECONDS):
            waiting = our_waiting_run_ids()
            reporter.update(holders_message(instance, exclude=waiting) if waiting else None)

    with in_background(watch, "slot-wait-reporter", stop.set):
        yield
