"""`segmentation import FILE`: land a copy of the real Black Friday file as daily files.

The published file has no dates. Rows are spread over the landing days by a deterministic rule
that needs no random state: data line i goes to the day whose slice of the cumulative day
weights (Black Friday week 3x an ordinary day, as in the sample) contains
blake2b(i) / 2**64. Each customer's purchases thus spread over the month, the same file always
lands the same way, and every row lands exactly once.
"""

from __future__ import annotations

import bisect
import csv
import hashlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from segmentation_pipeline.lib.ingest.facts import load_facts
from segmentation_pipeline.lib.ingest.landing import (
    DEFAULT_FIRST_DAY,
    DEFAULT_LAST_DAY,
    day_files,
    day_weights,
    landing_days,
    landing_file,
)
from segmentation_pipeline.lib.ingest.landing_file import (
    LandingFileError,
    ignored_columns,
    source_column_positions,
)
from segmentation_pipeline.settings import SOURCE_COLUMNS

CHUNK = 1 << 20


@dataclass
class ImportSummary:
    source: Path
    blob_sha: str
    identified_as: str | None
    rows: int
    files: list[Path]
    ignored_columns: list[str] = field(default_factory=list)


def git_blob_sha(path: Path) -> str:
    """The hash `git hash-object FILE` prints: SHA-1 of "blob <size>\\0" + content."""
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode(), usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def identify(blob_sha: str) -> str | None:
    """Which published copy of the dataset this is, by git blob hash; None for another file."""
    published = load_facts()["git_blob_sha"]
    return next((name for name, sha in published.items() if sha == blob_sha), None)


def day_of_line(line: int, cumulative: list[float]) -> int:
    """Index of the landing day for data line `line` (0-based)."""
    position = int.from_bytes(hashlib.blake2b(str(line).encode(), digest_size=8).digest())
    return min(bisect.bisect_right(cumulative, position / 2**64), len(cumulative) - 1)


def import_real_file(
    source: Path,
    landing_dir: Path,
    first_day: date = DEFAULT_FIRST_DAY,
    last_day: date = DEFAULT_LAST_DAY,
) -> ImportSummary:
    """Write `landing_dir/YYYY-MM-DD.csv` for each day from the rows of `source`."""
    if not source.is_file():
        raise LandingFileError(source, "the file does not exist", "Check the path.")
    days = landing_days(first_day, last_day)
    cumulative = np.cumsum(day_weights(len(days))).tolist()
    landing_dir.mkdir(parents=True, exist_ok=True)
    paths = [landing_file(landing_dir, day) for day in days]
    rows = 0
    with source.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = [name.strip() for name in next(reader, [])]
        found = source_column_positions(source, header)
        missing = [column for column in SOURCE_COLUMNS if column not in found]
        if missing:
            raise LandingFileError(
                source,
                f"required columns are missing: {', '.join(missing)}",
                "Import the Kaggle walmart_data.csv or the train.csv variant of the dataset.",
            )
        positions = [found[column] for column in SOURCE_COLUMNS]
        with day_files(paths) as outs:
            writers = [csv.writer(out, lineterminator="\n") for out in outs]
            for line, row in enumerate(reader):
                if not row:
                    continue
                writers[day_of_line(line, cumulative)].writerow(
                    [row[position] if position < len(row) else "" for position in positions]
                )
                rows += 1
            if not rows:  # raised inside: no day file is written
                raise LandingFileError(source, "the file has no data rows", "Import it whole.")
    blob_sha = git_blob_sha(source)
    return ImportSummary(
        source=source,
        blob_sha=blob_sha,
        identified_as=identify(blob_sha),
        rows=rows,
        files=paths,
        ignored_columns=ignored_columns(header, found),
    )
