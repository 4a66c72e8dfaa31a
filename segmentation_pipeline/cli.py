"""`segmentation`: make the sample, run the pipeline, print the segments, open the UI."""

import argparse
import os
import subprocess
import sys
import warnings
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd

from segmentation_pipeline.settings import (
    CUSTOMER_FEATURES_TABLE,
    CUSTOMER_SEGMENTS_TABLE,
    RAW_TRANSACTIONS_TABLE,
    SEGMENT_PROFILES_TABLE,
    Settings,
    get_settings,
)

PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"


def contiguous_ranges(days: list[str]) -> list[tuple[str, str]]:
    """Group sorted ISO days into runs of consecutive days: each becomes one backfill run."""
    ranges: list[tuple[str, str]] = []
    for day in days:
        if ranges and date.fromisoformat(day) - date.fromisoformat(ranges[-1][1]) == timedelta(1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def ensure_dagster_home() -> Path:
    """The project's instance folder (default `.dagster/`, telemetry off), never the home dir."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path(".dagster").resolve())))
    home.mkdir(parents=True, exist_ok=True)
    return home


def run_pipeline(
    settings: Settings, instance: dg.DagsterInstance
) -> list[dg.ExecuteInProcessResult]:
    """Load every landed day (one run per contiguous range), then rebuild everything downstream."""
    from segmentation_pipeline.definitions import defs

    days = settings.landed_days()
    if not days:
        raise SystemExit(
            f"No landing files in {settings.landing_dir}: run `segmentation sample` or land "
            "YYYY-MM-DD.csv files there."
        )
    early = [day for day in days if date.fromisoformat(day) < settings.partition_start]
    if early:
        raise SystemExit(
            f"Landing files before the first partition ({settings.partition_start}): "
            f"{', '.join(early)}. Set SEGMENTATION_PARTITION_START to the first day."
        )
    results = []
    for first, last in contiguous_ranges(days):
        print(f"Loading {first}..{last}", flush=True)
        results.append(
            defs.resolve_job_def("ingest_job").execute_in_process(
                instance=instance,
                tags={PARTITION_RANGE_START_TAG: first, PARTITION_RANGE_END_TAG: last},
                run_config=QUIET_RUN_CONFIG,
            )
        )
    print("Building features, model, segments and profiles", flush=True)
    results.append(
        defs.resolve_job_def("segmentation_job").execute_in_process(
            instance=instance, run_config=QUIET_RUN_CONFIG
        )
    )
    return results


def segment_summary(settings: Settings) -> pd.DataFrame:
    """The published segments: name, customers, share of revenue, average spend."""
    import duckdb

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(
            f"SELECT segment_id, segment_name, customers, "
            f"round(100 * revenue_share, 1) AS revenue_share_pct, round(avg_spend) AS avg_spend, "
            f"high_value FROM {SEGMENT_PROFILES_TABLE} ORDER BY segment_id"
        ).df()


def print_summary(settings: Settings) -> None:
    import duckdb

    if not settings.warehouse_path.exists():
        raise SystemExit(
            f"No warehouse at {settings.warehouse_path} yet: run `segmentation sample` (or land "
            "files) and `segmentation run` first."
        )
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        counts = {
            table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in (
                RAW_TRANSACTIONS_TABLE,
                CUSTOMER_FEATURES_TABLE,
                CUSTOMER_SEGMENTS_TABLE,
                SEGMENT_PROFILES_TABLE,
            )
        }
    for table, rows in counts.items():
        print(f"{table:<26} {rows:>9,} rows")
    print()
    print(segment_summary(settings).to_string(index=False))


def _sample(args: argparse.Namespace, settings: Settings) -> None:
    from segmentation_pipeline.sample import write_sample

    if args.if_empty and settings.landed_days():
        print(f"Landing files already present in {settings.landing_dir}; sample not written.")
        return
    summary = write_sample(settings.landing_dir, seed=args.seed, scale=args.scale)
    print(
        f"Wrote {summary.rows:,} rows for {summary.customers:,} customers and "
        f"{summary.products:,} products in {len(summary.files)} daily files "
        f"({summary.first_day}..{summary.last_day}) to {settings.landing_dir}"
    )


def _import(args: argparse.Namespace, settings: Settings) -> None:
    from segmentation_pipeline.ingest.real_file import import_real_file

    summary = import_real_file(Path(args.file), settings.landing_dir)
    known = (
        f"the published {summary.identified_as}"
        if summary.identified_as
        else "not one of the published copies (another file)"
    )
    print(f"{summary.source}: git blob {summary.blob_sha}, {known}")
    if summary.ignored_columns:
        print(f"Ignored columns: {', '.join(summary.ignored_columns)}")
    print(
        f"Landed {summary.rows:,} rows in {len(summary.files)} daily files "
        f"({summary.files[0].stem}..{summary.files[-1].stem}) in {settings.landing_dir}"
    )


def _run(args: argparse.Namespace, settings: Settings) -> None:
    ensure_dagster_home()
    run_pipeline(settings, dg.DagsterInstance.get())
    print()
    print_summary(settings)


def _summary(args: argparse.Namespace, settings: Settings) -> None:
    print_summary(settings)


def _ui(args: argparse.Namespace, settings: Settings) -> None:
    ensure_dagster_home()
    subprocess.run(["dagster", "dev", "--host", args.host, "--port", str(args.port)], check=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="segmentation", description="Nightly customer segmentation (Dagster code location)."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    sample = commands.add_parser("sample", help="write the synthetic Black Friday landing files")
    sample.add_argument("--seed", type=int, default=42)
    sample.add_argument("--scale", type=float, default=1.0, help="1 = 550,068 rows")
    sample.add_argument(
        "--if-empty", action="store_true", help="do nothing when landing files already exist"
    )
    sample.set_defaults(handler=_sample)
    imported = commands.add_parser(
        "import", help="land your copy of the real Black Friday file as daily files"
    )
    imported.add_argument("file", help="walmart_data.csv or the train.csv variant")
    imported.set_defaults(handler=_import)
    run = commands.add_parser("run", help="materialise every asset for all landed days")
    run.set_defaults(handler=_run)
    summary = commands.add_parser("summary", help="print the published segments")
    summary.set_defaults(handler=_summary)
    ui = commands.add_parser("ui", help="start the Dagster UI (dagster dev) on this project")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(handler=_ui)
    return parser


def main(argv: list[str] | None = None) -> None:
    # Dagster flags the beta/preview APIs we rely on; users of the CLI need not see that.
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    args = build_parser().parse_args(argv)
    try:
        args.handler(args, get_settings())
    except dg.DagsterExecutionStepExecutionError as error:
        # The step's own exception says what went wrong (e.g. which landing file and why).
        cause = error.user_exception or error
        raise SystemExit(f"Run failed in {error.step_key}: {cause}") from error
    except dg.Failure as error:
        raise SystemExit(f"Run failed: {error.description}") from error
    except dg.DagsterError as error:
        raise SystemExit(f"Run failed: {error}") from error


if __name__ == "__main__":
    sys.exit(main())
