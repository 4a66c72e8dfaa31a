"""`segmentation`: make the sample, run the pipeline, print the segments, open the UI."""

import argparse
import os
import subprocess
import sys
import warnings
from datetime import date
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

QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def ensure_dagster_home() -> Path:
    """The project's instance folder (default `.dagster/`, telemetry off), never the home dir."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path(".dagster").resolve())))
    home.mkdir(parents=True, exist_ok=True)
    return home


def run_pipeline(
    settings: Settings, instance: dg.DagsterInstance
) -> list[dg.ExecuteInProcessResult]:
    """Load every landed day (one run per contiguous range) and rebuild everything downstream."""
    from segmentation_pipeline.automation import contiguous_ranges, range_tags
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
    ranges = contiguous_ranges(days)
    # Earlier gaps load on their own; the last range loads and rebuilds the marts in one run.
    for index, (first, last) in enumerate(ranges):
        last_range = index == len(ranges) - 1
        print(f"Loading {first}..{last}" + (" and rebuilding the marts" if last_range else ""))
        job = defs.resolve_job_def("refresh_job" if last_range else "ingest_job")
        results.append(
            job.execute_in_process(
                instance=instance, tags=range_tags(first, last), run_config=QUIET_RUN_CONFIG
            )
        )
    return results


SUMMARY_SQL = (
    "SELECT segment_id, segment_name, customers, round(100 * revenue_share, 1) AS "
    "revenue_share_pct, round(avg_spend) AS avg_spend, high_value "
    f"FROM {SEGMENT_PROFILES_TABLE} ORDER BY segment_id"
)


def print_summary(settings: Settings) -> None:
    """Row counts of the published tables, then the segments: name, customers, revenue, spend."""
    import duckdb

    missing = (
        f"Nothing published in {settings.warehouse_path} yet: run `segmentation sample` (or land "
        "files) and `segmentation run` first."
    )
    if not settings.warehouse_path.exists():
        raise SystemExit(missing)
    tables = (
        RAW_TRANSACTIONS_TABLE,
        CUSTOMER_FEATURES_TABLE,
        CUSTOMER_SEGMENTS_TABLE,
        SEGMENT_PROFILES_TABLE,
    )
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        try:
            counts = {
                table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in tables
            }
            segments = con.execute(SUMMARY_SQL).df()
        except duckdb.CatalogException as error:
            raise SystemExit(missing) from error
    for table, rows in counts.items():
        print(f"{table:<26} {rows:>9,} rows")
    print()
    print(segments.to_string(index=False))
    _print_separation(settings)


def _print_separation(settings: Settings) -> None:
    """The separation verdict of the current model, when it is weak."""
    from segmentation_pipeline.quality.separation import separation_sentence
    from segmentation_pipeline.resources import ModelStore

    store = ModelStore(root=str(settings.models_dir))
    version = store.current_version_or_none()
    separation = store.load_card(version).get("separation") if version else None
    if separation and separation["weak"]:
        print()
        print(f"Note: {separation_sentence(separation)}.")


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


def _model_list(args: argparse.Namespace, settings: Settings) -> None:
    from segmentation_pipeline.resources import ModelStore

    store = ModelStore(root=str(settings.models_dir))
    cards = store.list_cards()
    if not cards:
        raise SystemExit(f"No model versions in {settings.models_dir}: run `segmentation run`.")
    current = store.current_version_or_none()
    versions = pd.DataFrame(
        [
            {
                "current": "*" if card["version"] == current else "",
                "version": card["version"],
                "k": card["k"],
                "data_window": "{first_day}..{last_day}".format(**card["data_window"]),
                "customers": card["rows"],
                "fitted_at": card.get("fitted_at", "-"),
                "previous": (card.get("lineage") or {}).get("previous_version") or "-",
            }
            for card in cards
        ]
    )
    print(versions.to_string(index=False))


def _model_restore(args: argparse.Namespace, settings: Settings) -> None:
    from segmentation_pipeline.model.assets import REFIT_EVERY_DAYS
    from segmentation_pipeline.resources import ModelStore

    try:
        replaced = ModelStore(root=str(settings.models_dir)).restore(args.version)
    except ValueError as error:
        raise SystemExit(str(error)) from error
    print(
        f"Current model: {args.version} (was {replaced}). The next run scores customers with it; "
        f"with refit 'auto' it is refitted if its data ends {REFIT_EVERY_DAYS} or more days "
        "before today's."
    )


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
    model = commands.add_parser("model", help="list the kept model versions or restore one")
    model_commands = model.add_subparsers(dest="model_command", required=True)
    listing = model_commands.add_parser("list", help="every kept version, * marks the current one")
    listing.set_defaults(handler=_model_list)
    restore = model_commands.add_parser("restore", help="make an earlier version current again")
    restore.add_argument("version", help="a version from `segmentation model list`")
    restore.set_defaults(handler=_model_restore)
    ui = commands.add_parser("ui", help="start the Dagster UI (dagster dev) on this project")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(handler=_ui)
    return parser


def main(argv: list[str] | None = None) -> None:
    # Dagster flags the beta API we rely on (single-run backfill policy); CLI users need not see it.
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
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
