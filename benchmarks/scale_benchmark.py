"""Time and peak memory at 1x, 10x and 100x the sample: `segmentation run`, a nightly refresh
(one day reloaded, model kept; and with a refit), and the bare pandas script, in one table.

Each scale's data is generated in a temporary folder (removed afterwards). Peak RSS is that of
the whole process tree (the command and every child), sampled every 0.1 s from /proc.
Targets (issue #9): 100x run <= 3 GB and faster than pandas; 10x run <= 1.5 GB and at least 2x
faster than 82 s; nightly refresh at 100x <= 60 s.

Issue #10 adds `segmentation run` with SEGMENTATION_ENGINE=spark (local[2], the JVM counted in
the tree's RSS) on a fresh copy of the same landing files, at 10x by default (`--spark-at`).

Usage: python benchmarks/scale_benchmark.py [--no-100x] [--pandas-up-to SCALE]
    [--spark-at 10 ...] [--only 10] [--tmp DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
NIGHTLY = """
import sys
import warnings
import dagster as dg
warnings.filterwarnings("ignore", category=dg.BetaWarning)
from segmentation_pipeline.cli import QUIET_RUN_CONFIG
from segmentation_pipeline.definitions import defs
from segmentation_pipeline.lib.ingest.landing import landed_days
from segmentation_pipeline.settings import get_settings

day = landed_days(get_settings().landing_dir)[-1]
config = {"ops": {"segmentation_model": {"config": {"refit": sys.argv[1]}}}}
result = defs.resolve_job_def("refresh_job").execute_in_process(
    instance=dg.DagsterInstance.get(), partition_key=day,
    run_config={**QUIET_RUN_CONFIG, **config},
)
assert result.success
"""


def _tree_rss_mb(root: int) -> float:
    """Resident memory of `root` and all its descendants, in MB."""
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as children:
                    pending += [int(child) for child in children.read().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / 1024


def measured(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak process-tree RSS (MB) of a command, which must succeed."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, _tree_rss_mb(process.pid))
        time.sleep(0.1)
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} failed with exit code {process.returncode}")
    return time.perf_counter() - started, peak


SPARK_ENV = {
    "SEGMENTATION_ENGINE": "spark",
    "SEGMENTATION_SPARK_MASTER": "local[2]",
    "SEGMENTATION_SPARK_CONF": "spark.ui.enabled=false",
    "SPARK_LOCAL_IP": "127.0.0.1",
}


def bench_spark_run(data: Path, env: dict[str, str], row: dict[str, float]) -> None:
    """`segmentation run` on Spark local[2] from a fresh data dir with the same landing files."""
    spark_data = data.parent / "data_spark"
    shutil.copytree(data / "landing", spark_data / "landing")
    spark_env = {**env, **SPARK_ENV, "SEGMENTATION_DATA_DIR": str(spark_data)}
    print(f"x{row['scale']:g}: segmentation run on Spark local[2]", flush=True)
    segmentation = str(BIN / "segmentation")
    row["spark_s"], row["spark_mb"] = measured([segmentation, "run", "--quiet"], spark_env)


def bench_scale(
    scale: float, pandas: bool, tmp: str | None, spark: bool = False
) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix=f"bench-x{scale:g}-", dir=tmp) as scratch:
        data = Path(scratch) / "data"
        home = Path(scratch) / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        env = {**os.environ, "SEGMENTATION_DATA_DIR": str(data), "DAGSTER_HOME": str(home)}
        segmentation = str(BIN / "segmentation")
        row: dict[str, float] = {"scale": scale}
        # Other work on the machine slows every figure (and multi-threaded fits most): say how busy.
        row["load"] = os.getloadavg()[0]
        print(f"x{scale:g}: generating the sample", flush=True)
        sample = [segmentation, "sample", "--scale", str(scale), "--quiet"]
        row["sample_s"], _ = measured(sample, env)
        print(f"x{scale:g}: segmentation run", flush=True)
        row["run_s"], row["run_mb"] = measured([segmentation, "run", "--quiet"], env)
        with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
            row["rows"], row["customers"] = con.execute(
                "SELECT (SELECT count(*) FROM raw.transactions), "
                "(SELECT count(*) FROM marts.customer_features)"
            ).fetchone()
        # The nightly refresh of the last day, as the schedule's run does it, in its own process.
        nightly = Path(scratch) / "nightly.py"
        nightly.write_text(NIGHTLY)
        for refit, key in (("auto", "nightly"), ("always", "nightly_refit")):
            print(f"x{scale:g}: nightly refresh of the last day, refit={refit}", flush=True)
            row[f"{key}_s"], row[f"{key}_mb"] = measured([sys.executable, str(nightly), refit], env)
        if spark:
            bench_spark_run(data, env, row)
        if pandas:
            print(f"x{scale:g}: the bare pandas script", flush=True)
            landing = str(data / "landing" / "transactions")
            row["pandas_s"], row["pandas_mb"] = measured(
                [sys.executable, str(HERE / "bare_baseline.py"), landing], env
            )
        return row


def _cell(row: dict[str, float], key: str, unit: str) -> str:
    if key not in row:
        return "-"
    return f"{row[key]:,.0f} MB" if unit == "mb" else f"{row[key]:,.1f} s"


def print_table(rows: list[dict[str, float]]) -> None:
    print(
        "\n| scale | rows | customers | `segmentation run` | peak RSS | nightly (model kept) "
        "| peak RSS | nightly with refit | peak RSS | pandas script | peak RSS "
        "| run on Spark local[2] | peak RSS | load avg |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        cells = [
            f"{row['scale']:g}x",
            f"{int(row['rows']):,}",
            f"{int(row['customers']):,}",
            *(
                _cell(row, f"{step}_{unit}", unit)
                for step in ("run", "nightly", "nightly_refit", "pandas", "spark")
                for unit in ("s", "mb")
            ),
            f"{row['load']:.1f}",
        ]
        print("| " + " | ".join(cells) + " |")


def print_targets(rows: list[dict[str, float]]) -> None:
    by_scale = {row["scale"]: row for row in rows}
    checks = []
    if 10 in by_scale:
        ten = by_scale[10]
        checks.append(("10x run <= 41 s (2x faster than 82 s)", ten["run_s"] <= 41))
        checks.append(("10x run peak RSS <= 1.5 GB", ten["run_mb"] <= 1536))
    if 100 in by_scale:
        hundred = by_scale[100]
        pandas_s = hundred.get("pandas_s", 252.0)
        faster = hundred["run_s"] < pandas_s
        checks.append((f"100x run faster than pandas ({pandas_s:.0f} s)", faster))
        checks.append(("100x run peak RSS <= 3 GB", hundred["run_mb"] <= 3072))
        checks.append(("100x nightly refresh <= 60 s", hundred["nightly_s"] <= 60))
    print()
    for label, met in checks:
        print(f"{'met   ' if met else 'MISSED'}  {label}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--no-100x", dest="hundred", action="store_false", help="stop after 1x and 10x"
    )
    parser.add_argument(
        "--pandas-up-to",
        type=float,
        default=100.0,
        help="run the bare pandas script up to this scale (it needs ~11 GB at 100x)",
    )
    parser.add_argument(
        "--spark-at", type=float, nargs="*", default=[10.0], help="scales with a Spark row"
    )
    parser.add_argument("--only", type=float, nargs="*", help="run these scales only")
    parser.add_argument("--tmp", help="where the temporary data folders go (default: system tmp)")
    args = parser.parse_args()
    rows = []
    scales = args.only or (1.0, 10.0, *((100.0,) if args.hundred else ()))
    for scale in scales:
        rows.append(
            bench_scale(scale, scale <= args.pandas_up_to, args.tmp, spark=scale in args.spark_at)
        )
        print_table(rows)
    print_targets(rows)


if __name__ == "__main__":
    main()
