"""Bad input at scale (issue #9): one landing file of ~2 GB whose last line is broken.

Generates the sample at `--scale` (default 100) in a temporary folder, joins its days into ONE
file for a single day (header once, ~2.2 GB at 100x), appends a record cut short (no Purchase,
no line break, as when an export stops mid-write) and runs `segmentation run` on it. Prints the
seconds and peak RSS of the whole process tree, and what the warehouse says: rows loaded and
rejected, the rejected line with its reasons, and the accounting check's verdict. Targets: the
broken line quarantined with its line number, every other line loaded, peak RSS <= 3 GB.

Usage: python benchmarks/big_file_benchmark.py [--scale 100] [--tmp DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import duckdb

# Run as a script: benchmarks/ is on sys.path, so the scale benchmark's measurement is shared.
from scale_benchmark import BIN, measured

DAY = "2025-11-01"
BROKEN_LAST_LINE = "1009999,P00000001,M,26-35"  # no Purchase, no line break


def join_days(landing: Path, target: Path) -> int:
    """Every day's data lines in one file (one header), then the broken line; its data lines."""
    days = sorted(landing.glob("*.csv"))
    lines = 0
    with target.open("wb") as out:
        for index, day in enumerate(days):
            with day.open("rb") as source:
                header = source.readline()
                if index == 0:
                    out.write(header)
                shutil.copyfileobj(source, out, length=16 * 1024 * 1024)
            lines += sum(1 for _ in day.open("rb")) - 1
        out.write(BROKEN_LAST_LINE.encode())
    return lines + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=100.0)
    parser.add_argument("--tmp", help="where the temporary data folder goes (default: system tmp)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-big-file-", dir=args.tmp) as scratch:
        generated, data = Path(scratch) / "generated", Path(scratch) / "data"
        home = Path(scratch) / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        env = {**os.environ, "DAGSTER_HOME": str(home)}
        segmentation = str(BIN / "segmentation")
        print(f"generating the sample at {args.scale:g}x", flush=True)
        measured(
            [segmentation, "sample", "--scale", str(args.scale), "--quiet"],
            {**env, "SEGMENTATION_DATA_DIR": str(generated)},
        )
        landing = data / "landing" / "transactions"
        landing.mkdir(parents=True)
        big_file = landing / f"{DAY}.csv"
        data_lines = join_days(generated / "landing" / "transactions", big_file)
        shutil.rmtree(generated)
        size_gb = big_file.stat().st_size / 1e9
        print(f"{big_file.name}: {size_gb:.2f} GB, {data_lines:,} data lines", flush=True)
        seconds, peak_mb = measured(
            [segmentation, "run", "--quiet"], {**env, "SEGMENTATION_DATA_DIR": str(data)}
        )
        with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
            loaded, rejected = con.execute(
                "SELECT rows_loaded, rows_rejected FROM raw.landing_loads"
            ).fetchone()
            quarantined = con.execute(
                "SELECT line_number, reasons FROM raw.rejected_transactions "
                "ORDER BY line_number DESC LIMIT 1"
            ).fetchone()
        last_line = data_lines + 1  # the header is line 1
        print(
            f"\n| file | data lines | rows loaded | rows rejected | last line quarantined "
            f"| `segmentation run` | peak RSS |\n|---|---|---|---|---|---|---|\n"
            f"| {size_gb:.2f} GB | {data_lines:,} | {loaded:,} | {rejected:,} "
            f"| line {quarantined[0]:,}: {', '.join(quarantined[1])} | {seconds:.1f} s "
            f"| {peak_mb:,.0f} MB |"
        )
        checks = [
            ("every line accounted for", loaded + rejected == data_lines),
            ("the broken last line is quarantined", quarantined[0] == last_line),
            ("peak RSS <= 3 GB", peak_mb <= 3072),
        ]
        for name, met in checks:
            print(f"- {name}: {'met' if met else 'MISSED'}")
        if not all(met for _, met in checks):
            sys.exit(1)


if __name__ == "__main__":
    main()
