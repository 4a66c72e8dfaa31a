"""Speed and memory of a full `segmentation run` on the default sample, beside the bare script.

Prints per-step wall time (from the Dagster event log) and per-step peak RSS (sampled every
20 ms), the whole command's wall time and peak memory, and the bare pandas + scikit-learn figure.
Targets: the whole run under 30 s on a 2-core machine, and within 1.5x the bare script. Then the
cost of the segment stability check (at most doubling the run), and a second refresh of the last
day, as on a night when the model is kept and only scoring, checks and reports run.

Usage: python benchmarks/run_benchmarks.py [--scale 1.0]
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from segmentation_pipeline.lib.ingest.landing import landed_days

if TYPE_CHECKING:
    import dagster as dg

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
STABILITY_STEP = "segmentation_model_segment_stability"


def sample_landing(scale: float) -> Path:
    """The default sample at `scale`, generated once under benchmarks/results/."""
    landing = HERE / "results" / f"sample-x{scale:g}" / "landing" / "transactions"
    if not landing.is_dir():
        subprocess.run(
            [BIN / "segmentation", "sample", "--scale", str(scale)],
            env={**os.environ, "SEGMENTATION_DATA_DIR": str(landing.parent.parent)},
            check=True,
        )
    return landing


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def print_steps(
    instance: "dg.DagsterInstance",
    results: list["dg.ExecuteInProcessResult"],
    samples: list[tuple[float, float]],
) -> dict[str, float]:
    """Print each step's wall time and peak RSS from the event log; return the seconds."""
    seconds: dict[str, float] = {}
    print(f"  {'step':<46}{'seconds':>9}{'peak RSS MB':>13}")
    for result in results:
        starts: dict[str, float] = {}
        for record in instance.all_logs(result.run_id):
            event = record.dagster_event
            if event is None or event.step_key is None:
                continue
            if event.event_type_value == "STEP_START":
                starts[event.step_key] = record.timestamp
            elif event.event_type_value == "STEP_SUCCESS":
                begin, end = starts[event.step_key], record.timestamp
                peak = max((mb for at, mb in samples if begin <= at <= end), default=0.0)
                seconds[event.step_key] = end - begin
                print(f"  {event.step_key:<46}{end - begin:>9.2f}{peak:>13,.0f}")
    return seconds


def profile_steps(landing: Path) -> None:
    """Run the pipeline in this process and attribute time and peak RSS to each step; then
    refresh the last day again, as a night that keeps the model does."""
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "data"
        (data / "landing").mkdir(parents=True)
        os.symlink(landing, data / "landing" / "transactions")
        os.environ["SEGMENTATION_DATA_DIR"] = str(data)
        samples: list[tuple[float, float]] = []
        done = threading.Event()

        def sampler() -> None:
            while not done.is_set():
                samples.append((time.time(), rss_mb()))
                time.sleep(0.02)

        import dagster as dg

        from segmentation_pipeline.cli import QUIET_RUN_CONFIG, run_pipeline
        from segmentation_pipeline.definitions import defs
        from segmentation_pipeline.settings import get_settings

        thread = threading.Thread(target=sampler, daemon=True)
        thread.start()
        started = time.perf_counter()
        with dg.instance_for_test() as instance:
            results = run_pipeline(get_settings(), instance)
            elapsed = time.perf_counter() - started
            print(f"\nper step ({elapsed:.1f} s in process, imports excluded):")
            stability = print_steps(instance, results, samples).get(STABILITY_STEP, 0.0)
            # The check's cost against the run it is part of: with it / without it.
            print(
                f"\nstability check ({STABILITY_STEP}): {stability:.2f} s; the run without it "
                f"{elapsed - stability:.1f} s, with it {elapsed / (elapsed - stability):.2f}x "
                "(target <= 2x)"
            )
            last_day = landed_days(get_settings().landing_dir)[-1]
            started = time.perf_counter()
            rerun = defs.resolve_job_def("refresh_job").execute_in_process(
                instance=instance, partition_key=last_day, run_config=QUIET_RUN_CONFIG
            )
            elapsed = time.perf_counter() - started
            print(f"\nrefresh of {last_day} again, model kept ({elapsed:.1f} s in process):")
            print_steps(instance, [rerun], samples)
            done.set()


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of a child command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    landing = sample_landing(args.scale)
    rows = sum(1 for path in landing.glob("*.csv") for _ in path.open()) - len(
        list(landing.glob("*.csv"))
    )
    print(f"sample: {rows:,} rows in {landing}")

    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "data"
        (data / "landing").mkdir(parents=True)
        os.symlink(landing, data / "landing" / "transactions")
        env = {
            **os.environ,
            "SEGMENTATION_DATA_DIR": str(data),
            "DAGSTER_HOME": str(Path(scratch) / "dagster_home"),
        }
        Path(env["DAGSTER_HOME"]).mkdir()
        (Path(env["DAGSTER_HOME"]) / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        pipeline_seconds, pipeline_mb = timed([str(BIN / "segmentation"), "run"], env)
    bare = subprocess.run(
        [sys.executable, str(HERE / "bare_baseline.py"), str(landing)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    (total_line,) = [line for line in bare.splitlines() if line.split()[:1] == ["total"]]
    bare_seconds = float(total_line.split()[1])
    print(f"\n`segmentation run`: {pipeline_seconds:.1f} s wall, peak RSS {pipeline_mb:,.0f} MB")
    print(bare)
    verdict = "meets" if pipeline_seconds < 30 else "misses"
    print(
        f"pipeline / bare = {pipeline_seconds / bare_seconds:.2f}x (target <= 1.5x); "
        f"whole run {verdict} the 30 s target; load average {os.getloadavg()[0]:.1f}"
    )
    profile_steps(landing)


if __name__ == "__main__":
    main()
