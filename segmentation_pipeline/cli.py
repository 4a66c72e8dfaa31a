"""`segmentation`: make the sample, run the pipeline, print the segments, open the UI."""

import argparse
import math
import os
import subprocess
import sys
import uuid
import warnings
from contextlib import nullcontext
from datetime import date
from importlib import resources
from pathlib import Path
from typing import TextIO

import dagster as dg
import pandas as pd

from segmentation_pipeline.lib.ingest.landing import (
    landed_days,
    landing_file,
    stray_files,
    stray_files_note,
)
from segmentation_pipeline.settings import (
    CUSTOMER_FEATURES_TABLE,
    CUSTOMER_SEGMENTS_TABLE,
    RAW_TRANSACTIONS_TABLE,
    SEGMENT_PROFILES_TABLE,
    Settings,
    SettingsError,
    get_settings,
)

INSTANCE_YAML = "dagster_instance.yaml"


class CommandError(Exception):
    """An expected failure of a command (nothing landed, no model yet): one line for the user."""


# The CLI reports a failed run in one line of its own (see `main`); Dagster's console logger
# would print the step's stack trace first. The run's full log stays in the instance.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def ensure_dagster_home() -> Path:
    """The project's instance folder (default `.dagster/`), never the home dir; one without a
    `dagster.yaml` gets the project's (telemetry off, the one-slot warehouse pool, run
    monitoring) rather than Dagster's defaults."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path(".dagster").resolve())))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(resources.files(__package__).joinpath(INSTANCE_YAML).read_text())
    return home


def run_pipeline(
    settings: Settings, instance: dg.DagsterInstance, progress: TextIO | None = None
) -> list[dg.ExecuteInProcessResult]:
    """Load every landed day (one run per contiguous range) and rebuild everything downstream.

    Runs left behind by a killed `segmentation run` are cleaned up first, and a run that waits
    for the warehouse pool says which run holds it. With `progress`, each step is printed there
    as it finishes (seconds, rows, check verdicts).
    """
    from segmentation_pipeline.cli_runs import clean_up_dead_runs, process_tags, report_slot_waits
    from segmentation_pipeline.definitions import defs
    from segmentation_pipeline.defs.automation import drop_tags, range_tags
    from segmentation_pipeline.defs.partitions import daily_partitions, day_ranges
    from segmentation_pipeline.lib.ingest.landing_file import files_sha256
    from segmentation_pipeline.progress import print_steps

    days = landed_days(settings.landing_dir)
    stray = stray_files(settings.landing_dir)
    if not days:
        raise CommandError(
            f"No landing files in {settings.landing_dir}: run `segmentation sample` or land "
            "YYYY-MM-DD.csv files there." + (f" ({stray_files_note(stray)}.)" if stray else "")
        )
    if stray:
        print(f"segmentation: warning: {stray_files_note(stray)}.", file=sys.stderr)
    early = [day for day in days if date.fromisoformat(day) < settings.partition_start]
    if early:
        raise CommandError(
            f"Landing files before the first partition ({settings.partition_start}): "
            f"{', '.join(early)}. Set SEGMENTATION_PARTITION_START to the first day."
        )
    for cleaned in clean_up_dead_runs(instance):
        print(f"Cleaned up {cleaned}")
    results = []
    try:
        ranges = day_ranges(days)
    except ValueError as error:  # e.g. a file dated today: its partition does not exist yet
        raise CommandError(f"Landing files that are {error}.") from error
    # Earlier gaps load on their own; the last range loads and rebuilds the marts in one run.
    for index, key_range in enumerate(ranges):
        first, last = key_range.start, key_range.end
        last_range = index == len(ranges) - 1
        print(f"Loading {first}..{last}" + (" and rebuilding the marts" if last_range else ""))
        job = defs.resolve_job_def("refresh_job" if last_range else "ingest_job")
        # Tagged with its drops like the sensor's runs, so the sensor does not request them too.
        drops = files_sha256(
            {
                day: landing_file(settings.landing_dir, day)
                for day in daily_partitions.get_partition_keys_in_range(key_range)
            }
        )
        run_id = str(uuid.uuid4())  # known before the run starts, so its steps can be watched
        with (
            report_slot_waits(instance),
            print_steps(instance, run_id, progress) if progress else nullcontext(),
        ):
            results.append(
                job.execute_in_process(
                    instance=instance,
                    tags={**range_tags(first, last), **drop_tags(drops), **process_tags()},
                    run_config=QUIET_RUN_CONFIG,
                    run_id=run_id,
                )
            )
    _warn_of_days_without_file(settings, days)
    return results


def _warn_of_days_without_file(settings: Settings, days: list[str]) -> None:
    """Loaded days whose landing file was removed stay in the warehouse, so in the segments:
    said, with the way to drop them (a run loads only the days that have a file)."""
    from segmentation_pipeline.defs.automation import loaded_drops
    from segmentation_pipeline.defs.resources import Warehouse

    ledger = loaded_drops(Warehouse(database=str(settings.warehouse_path))) or {}
    orphaned = sorted(set(ledger) - set(days))
    if orphaned:
        print(
            f"segmentation: warning: {len(orphaned)} loaded day(s) no longer have a landing file "
            f"and stay in the segments: {', '.join(orphaned)}. To drop a day, land it as a file "
            "holding only the header row.",
            file=sys.stderr,
        )


SUMMARY_SQL = (
    "SELECT segment_id, segment_name, customers, round(100 * revenue_share, 1) AS "
    "revenue_share_pct, round(avg_spend) AS avg_spend, high_value "
    f"FROM {SEGMENT_PROFILES_TABLE} ORDER BY segment_id"
)


def print_summary(settings: Settings) -> None:
    """Row counts of the published tables, then the segments: name, customers, revenue, spend."""
    import duckdb

    from segmentation_pipeline.defs.resources import Warehouse

    missing = (
        f"Nothing published in {settings.warehouse_path} yet: run `segmentation sample` (or land "
        "files) and `segmentation run` first."
    )
    if not settings.warehouse_path.exists():
        raise CommandError(missing)
    tables = (
        RAW_TRANSACTIONS_TABLE,
        CUSTOMER_FEATURES_TABLE,
        CUSTOMER_SEGMENTS_TABLE,
        SEGMENT_PROFILES_TABLE,
    )
    # Another `segmentation run` may be writing by now: wait for it, as its steps would.
    try:
        with Warehouse(database=str(settings.warehouse_path)).reading() as con:
            counts = {
                table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in tables
            }
            segments = con.execute(SUMMARY_SQL).df()
    except duckdb.CatalogException as error:
        raise CommandError(missing) from error
    except dg.Failure as failure:  # held too long, or unreadable: not a failed run
        raise CommandError(failure.description) from failure
    for table, rows in counts.items():
        print(f"{table:<26} {rows:>9,} rows")
    print()
    print(segments.to_string(index=False))
    _print_separation(settings)


def _print_separation(settings: Settings) -> None:
    """The separation verdict of the current model, when it is weak."""
    from segmentation_pipeline.defs.resources import ModelStore
    from segmentation_pipeline.lib.model.separation import separation_sentence

    store = ModelStore(root=str(settings.models_dir))
    version = store.current_version_or_none()
    separation = store.load_card(version).get("separation") if version else None
    if separation and separation["weak"]:
        print()
        print(f"Note: {separation_sentence(separation)}.")


def _sample(args: argparse.Namespace, settings: Settings) -> None:
    from segmentation_pipeline.lib.sample import load_facts, write_sample

    # Misnamed files count as landed: the user's data, which `run` then names, not a sample.
    if args.if_empty and (landed_days(settings.landing_dir) or stray_files(settings.landing_dir)):
        print(f"Landing files already present in {settings.landing_dir}; sample not written.")
        return
    progress = None
    if not args.quiet:
        from segmentation_pipeline.progress import counter

        expected_rows = round(load_facts()["rows"] * args.scale)
        progress = counter(sys.stdout, "Writing the sample", expected_rows)
    summary = write_sample(
        settings.landing_dir, seed=args.seed, scale=args.scale, progress=progress
    )
    print(
        f"Wrote {summary.rows:,} rows for {summary.customers:,} customers and "
        f"{summary.products:,} products in {len(summary.files)} daily files "
        f"({summary.first_day}..{summary.last_day}) to {settings.landing_dir}"
    )


def _import(args: argparse.Namespace, settings: Settings) -> None:
    from segmentation_pipeline.lib.ingest.real_file import import_real_file

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
    from segmentation_pipeline.cli_runs import stopped_by_signals

    ensure_dagster_home()
    instance = dg.DagsterInstance.get()
    with stopped_by_signals(instance):
        run_pipeline(settings, instance, progress=None if args.quiet else sys.stdout)
    print()
    print_summary(settings)


def _summary(args: argparse.Namespace, settings: Settings) -> None:
    print_summary(settings)


def _model_list(args: argparse.Namespace, settings: Settings) -> None:
    from segmentation_pipeline.defs.resources import ModelStore

    store = ModelStore(root=str(settings.models_dir))
    cards = store.list_cards()
    if not cards:
        raise CommandError(f"No model versions in {settings.models_dir}: run `segmentation run`.")
    current = store.pointed_version()
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
    from segmentation_pipeline.defs.model.assets import REFIT_EVERY_DAYS
    from segmentation_pipeline.defs.resources import ModelStore

    try:
        replaced = ModelStore(root=str(settings.models_dir)).restore(args.version)
    except ValueError as error:
        raise CommandError(str(error)) from error
    print(
        f"Current model: {args.version} (was {replaced or 'none, or unreadable'}). The next run "
        "scores customers with it; with refit 'auto' it is refitted if its data ends "
        f"{REFIT_EVERY_DAYS} or more days before today's."
    )


def _ui(args: argparse.Namespace, settings: Settings) -> None:
    ensure_dagster_home()
    subprocess.run(["dagster", "dev", "--host", args.host, "--port", str(args.port)], check=True)


def positive_scale(text: str) -> float:
    """A scale argparse accepts: a finite number above 0 (refused in argparse's own words)."""
    try:
        scale = float(text)
    except ValueError:
        scale = math.nan
    if not math.isfinite(scale) or scale <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number (e.g. 0.1, 1 or 10)")
    return scale


def seed(text: str) -> int:
    """A seed argparse accepts: a whole number >= 0 (numpy's generators take no other)."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="segmentation", description="Nightly customer segmentation (Dagster code location)."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", help="show the traceback of an error, not one line"
    )
    sample = commands.add_parser(
        "sample", parents=[common], help="write the synthetic Black Friday landing files"
    )
    sample.add_argument("--seed", type=seed, default=42)
    sample.add_argument("--scale", type=positive_scale, default=1.0, help="1 = 550,068 rows")
    sample.add_argument(
        "--if-empty", action="store_true", help="do nothing when landing files already exist"
    )
    sample.add_argument("--quiet", action="store_true", help="no progress lines")
    sample.set_defaults(handler=_sample)
    imported = commands.add_parser(
        "import",
        parents=[common],
        help="land your copy of the real Black Friday file as daily files",
    )
    imported.add_argument("file", help="walmart_data.csv or the train.csv variant")
    imported.set_defaults(handler=_import)
    run = commands.add_parser(
        "run", parents=[common], help="materialise every asset for all landed days"
    )
    run.add_argument("--quiet", action="store_true", help="no line per finished step")
    run.set_defaults(handler=_run)
    summary = commands.add_parser("summary", parents=[common], help="print the published segments")
    summary.set_defaults(handler=_summary)
    model = commands.add_parser("model", help="list the kept model versions or restore one")
    model_commands = model.add_subparsers(dest="model_command", required=True)
    listing = model_commands.add_parser(
        "list", parents=[common], help="every kept version, * marks the current one"
    )
    listing.set_defaults(handler=_model_list)
    restore = model_commands.add_parser(
        "restore", parents=[common], help="make an earlier version current again"
    )
    restore.add_argument("version", help="a version from `segmentation model list`")
    restore.set_defaults(handler=_model_restore)
    ui = commands.add_parser(
        "ui", parents=[common], help="start the Dagster UI (dagster dev) on this project"
    )
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(handler=_ui)
    return parser


def expected_error_message(error: BaseException) -> str | None:
    """The one line a user needs for an error the product expects (bad input, a locked
    warehouse, a failed run), or None for a bug, which keeps its traceback."""
    from segmentation_pipeline.defs.resources import ModelStoreError
    from segmentation_pipeline.lib.ingest.landing_file import LandingFileError

    if isinstance(error, dg.DagsterExecutionStepExecutionError):
        # The step's own exception says what went wrong (e.g. which landing file and why).
        cause = error.user_exception or error
        reason = cause.description if isinstance(cause, dg.Failure) else cause
        return f"run failed in {error.step_key}: {reason}"
    if isinstance(error, dg.Failure):
        return f"run failed: {error.description}"
    # Retries exhausted (Dagster's error text holds every attempt's stack): the last cause.
    attempts = getattr(error, "user_code_process_error_infos", None)
    if attempts:
        cause = attempts[-1]
        while cause.cause:
            cause = cause.cause
        return f"run failed after its retries: {cause.message.strip().splitlines()[0]}"
    expected = (CommandError, LandingFileError, ModelStoreError, SettingsError, dg.DagsterError)
    if isinstance(error, expected):
        return str(error)
    return None


def main(argv: list[str] | None = None) -> None:
    # Dagster flags the beta API we rely on (single-run backfill policy); CLI users need not see it.
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    args = build_parser().parse_args(argv)
    try:
        args.handler(args, get_settings())
    except (KeyboardInterrupt, dg.DagsterExecutionInterruptedError):
        # SIGTERM or Ctrl-C that Dagster raised in a step: it marks the run failed, the step's
        # transaction rolls back, and `stopped_by_signals` frees the run's pool slots.
        if args.debug:
            raise
        raise SystemExit(
            "segmentation: interrupted: the run was stopped; `segmentation run` again finishes it"
        ) from None
    except Exception as error:
        message = expected_error_message(error)
        if message is None or args.debug:
            raise
        # One line on stderr and exit status 1: what cron jobs and CI steps can act on.
        raise SystemExit(f"segmentation: {message}") from None


if __name__ == "__main__":
    sys.exit(main())
