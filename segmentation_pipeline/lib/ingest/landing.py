"""The landing layout: one `YYYY-MM-DD.csv` per data day in one folder, the calendar of daily
drops and an all-or-nothing multi-file writer.

Shared by the sample generator, `segmentation import`, the loader and the landing sensor (through
the `LandingZone` resource), so every side names and finds day files the same way.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import TextIO

import numpy as np

from segmentation_pipeline.settings import SOURCE_COLUMNS

# Day files only: a file being written is named aside (see `day_files`), so a scan never sees it.
DAY_FILE_GLOB = "????-??-??.csv"
DEFAULT_FIRST_DAY = date(2025, 11, 1)
DEFAULT_LAST_DAY = date(2025, 11, 28)  # Black Friday 2025
# The last BLACK_FRIDAY_DAYS days of the range (Black Friday week) get this many times the rows
# of an ordinary day.
BLACK_FRIDAY_DAYS = 5
BLACK_FRIDAY_WEIGHT = 3.0


def landing_file(folder: Path, day: date | str) -> Path:
    """The landing file of `day` (a date or YYYY-MM-DD) in `folder`."""
    return folder / f"{day}.csv"


def is_day_file(path: Path) -> bool:
    """Whether `path` is named as the landing file of a calendar day (`2025-11-08.csv`)."""
    if not path.match(DAY_FILE_GLOB):
        return False
    try:
        return date.fromisoformat(path.stem).isoformat() == path.stem
    except ValueError:  # e.g. 2025-13-45.csv
        return False


def landed_days(folder: Path) -> list[str]:
    """Days (YYYY-MM-DD) that have a landing file in `folder`, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(
        path.stem for path in folder.glob(DAY_FILE_GLOB) if is_day_file(path) and path.is_file()
    )


def stray_files(folder: Path) -> list[str]:
    """Files in `folder` that are not named as day files, so never loaded (e.g. `2025-11-8.csv`,
    `2025-13-45.csv`, `export.csv`); files being written (`*.partial`) and hidden files aside."""
    if not folder.is_dir():
        return []
    return sorted(
        path.name
        for path in folder.iterdir()
        if path.is_file()
        and not is_day_file(path)
        and path.suffix != ".partial"
        and not path.name.startswith(".")
    )


def stray_files_note(names: list[str]) -> str:
    """One sentence naming the stray files: what a user who landed them needs to read."""
    return (
        f"{len(names)} file(s) not named after a calendar day (YYYY-MM-DD.csv), so not loaded: "
        f"{', '.join(names[:10])}" + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    )


def landing_days(first_day: date, last_day: date) -> list[date]:
    if last_day < first_day:
        raise ValueError(f"last_day {last_day} is before first_day {first_day}")
    return [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)]


def day_weights(days: int) -> np.ndarray:
    """Each day's share of the rows: Black Friday week is heavier than ordinary days."""
    weights = np.ones(days)
    weights[-BLACK_FRIDAY_DAYS:] = BLACK_FRIDAY_WEIGHT
    return weights / weights.sum()


@contextmanager
def day_files(paths: list[Path]) -> Iterator[list[TextIO]]:
    """Open the day files, with header, under temporary names; rename them if all succeed.

    A landing sensor globbing ????-??-??.csv thus never sees a half-written day, and a failed run
    leaves the previous files of those days untouched.
    """
    partials = [path.with_name(path.name + ".partial") for path in paths]
    try:
        with ExitStack() as stack:
            outs = [
                stack.enter_context(partial.open("w", encoding="utf-8", newline="\n"))
                for partial in partials
            ]
            for out in outs:
                out.write(",".join(SOURCE_COLUMNS) + "\n")
            yield outs
        for partial, path in zip(partials, paths, strict=True):
            os.replace(partial, path)
    except BaseException:
        for partial in partials:
            partial.unlink(missing_ok=True)
        raise
