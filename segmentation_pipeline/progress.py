"""Progress of long work on the console: a line per finished run step, a bar for the sample.

On a terminal the sample's progress redraws one line; elsewhere (CI logs, cron mail) it prints a
line every tenth, so logs stay readable. Step lines are printed as steps finish, read from the
run's event log by a background thread while the run executes in process.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    import dagster as dg

# Metadata keys that say how many rows (or customers) a step produced or checked, first found wins.
ROW_COUNT_KEYS = (
    "rows_loaded",
    "dagster/row_count",
    "customers",
    "rows_validated",
    "data_lines",
)
POLL_SECONDS = 0.5


def _rows(metadata: dict[str, Any]) -> str:
    for key in ROW_COUNT_KEYS:
        if key in metadata:
            value = getattr(metadata[key], "value", metadata[key])
            if isinstance(value, int | float):
                return f"{int(value):,} rows"
    return ""


class StepPrinter:
    """Turns a run's event records into one line per finished step."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.started = time.perf_counter()
        self.step_started: dict[str, float] = {}
        self.step_notes: dict[str, list[str]] = {}

    def handle(self, record: Any) -> None:
        event = record.event_log_entry.dagster_event
        if event is None or event.step_key is None:
            return
        step, kind = event.step_key, event.event_type_value
        if kind == "STEP_START":
            self.step_started[step] = record.event_log_entry.timestamp
        elif kind == "ASSET_MATERIALIZATION":
            metadata = event.event_specific_data.materialization.metadata
            self.step_notes.setdefault(step, []).append(_rows(metadata))
        elif kind == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            verdict = "passed" if evaluation.passed else f"FAILED ({evaluation.severity.value})"
            rows = _rows(evaluation.metadata)
            note = f"{evaluation.check_name} {verdict}" + (f", {rows}" if rows else "")
            self.step_notes.setdefault(step, []).append(note)
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            seconds = record.event_log_entry.timestamp - self.step_started.get(
                step, record.event_log_entry.timestamp
            )
            # A backfilled range materialises once per day: say each distinct note once.
            counted = Counter(note for note in self.step_notes.pop(step, []) if note)
            notes = "; ".join(
                note if times == 1 else f"{note} ({times} partitions)"
                for note, times in counted.items()
            )
            status = "done" if kind == "STEP_SUCCESS" else "FAILED"
            self.out.write(
                f"[{time.perf_counter() - self.started:7.1f} s] {step:<44} {status:<6} "
                f"{seconds:7.2f} s  {notes}\n"
            )
            self.out.flush()


@contextmanager
def print_steps(instance: dg.DagsterInstance, run_id: str, out: TextIO) -> Iterator[None]:
    """While the block runs the run `run_id`, print each of its steps as it finishes."""
    import dagster as dg

    kinds = {
        dg.DagsterEventType.STEP_START,
        dg.DagsterEventType.STEP_SUCCESS,
        dg.DagsterEventType.STEP_FAILURE,
        dg.DagsterEventType.ASSET_MATERIALIZATION,
        dg.DagsterEventType.ASSET_CHECK_EVALUATION,
    }
    printer = StepPrinter(out)
    finished = threading.Event()
    cursor: list[str | None] = [None]

    def drain() -> None:
        while True:
            page = instance.get_records_for_run(run_id, cursor=cursor[0], of_type=kinds)
            for record in page.records:
                printer.handle(record)
            cursor[0] = page.cursor
            if not page.has_more:
                return

    def watch() -> None:
        while not finished.wait(POLL_SECONDS):
            drain()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield
    finally:
        finished.set()
        thread.join()
        drain()


def counter(out: TextIO, label: str, total: int) -> Callable[[int], None]:
    """A callback taking the count done so far: a redrawn bar on a terminal, else tenths."""
    tty = out.isatty()
    shown = [-1]

    def update(done: int) -> None:
        fraction = min(done / total, 1.0) if total else 1.0
        if tty:
            filled = round(30 * fraction)
            out.write(f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {fraction:5.1%}")
            if fraction >= 1.0:
                out.write("\n")
        elif int(fraction * 10) > shown[0]:
            shown[0] = int(fraction * 10)
            out.write(f"{label}: {fraction:.0%} ({done:,} of {total:,})\n")
        out.flush()

    return update
