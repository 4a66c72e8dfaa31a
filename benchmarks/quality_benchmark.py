"""Segment quality on planted truth: each scenario through the real `segmentation run`.

For every scenario of `segmentation_pipeline/lib/sample/planted.py`, lands a seeded draw in a
temporary data dir, runs the CLI (`segmentation run`, SEGMENTATION_DATA_DIR and a temporary
DAGSTER_HOME), then compares `marts.customer_segments` with the truth file. Prints one table:
scenario, true K, chosen K, adjusted Rand index, separation verdict, seconds.

Targets: chosen K equal to the truth and ARI >= 0.9 on every well-separated scenario; ARI >= 0.8
with moderate overlap; the no-structure scenario flagged by `segment_separation`.

Usage: python benchmarks/quality_benchmark.py [--seed 1] [--scenario NAME ...]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from segmentation_pipeline.lib.sample.planted import SCENARIOS, WELL_SEPARATED, write_planted

BIN = Path(sys.executable).parent


def run_scenario(name: str, seed: int) -> dict:
    scenario = SCENARIOS[name]
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as folder:
        data_dir, home = Path(folder) / "data", Path(folder) / "dagster"
        home.mkdir()
        truth = pd.read_csv(write_planted(scenario, data_dir, seed))
        env = {**os.environ, "SEGMENTATION_DATA_DIR": str(data_dir), "DAGSTER_HOME": str(home)}
        started = time.perf_counter()
        subprocess.run(
            [BIN / "segmentation", "run"], env=env, check=True, capture_output=True, text=True
        )
        seconds = time.perf_counter() - started
        with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
            segments = con.execute("SELECT user_id, segment_id FROM marts.customer_segments").df()
        card = json.loads((data_dir / "models" / "current.json").read_text())
        card = json.loads((data_dir / "models" / card["version"] / "model_card.json").read_text())
    joined = truth.merge(segments, on="user_id")
    separation = card["separation"]
    return {
        "scenario": name,
        "customers": len(truth),
        "true_k": scenario.archetypes,
        "chosen_k": card["k"],
        "ari": round(adjusted_rand_score(joined["archetype"], joined["segment_id"]), 3),
        "separation": "weak" if separation["weak"] else "clear",
        "seconds": round(seconds, 1),
        "target": target_met(name, card["k"], joined, separation["weak"]),
    }


def target_met(name: str, k: int, joined: pd.DataFrame, weak: bool) -> str:
    scenario = SCENARIOS[name]
    ari = adjusted_rand_score(joined["archetype"], joined["segment_id"])
    if scenario.archetypes == 1:
        met = weak
    elif name in WELL_SEPARATED:
        met = k == scenario.archetypes and ari >= 0.9
    else:
        met = ari >= 0.8
    return "met" if met else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scenario", nargs="*", default=list(SCENARIOS))
    args = parser.parse_args()
    rows = []
    for name in args.scenario:
        rows.append(run_scenario(name, args.seed))
        print(pd.DataFrame(rows[-1:]).to_string(index=False, header=len(rows) == 1), flush=True)
    print()
    print(pd.DataFrame(rows).to_markdown(index=False))


if __name__ == "__main__":
    main()
